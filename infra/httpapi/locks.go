package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/projections"
)

// lockView is the Lock of the API.
type lockView struct {
	ID           uuid.UUID      `json:"id"`
	Serial       string         `json:"serial"`
	Name         string         `json:"name"`
	TimeZone     string         `json:"time_zone"`
	OwnerID      uuid.UUID      `json:"owner_id"`
	RegisteredAt time.Time      `json:"registered_at"`
	Frozen       bool           `json:"frozen"`
	KeyAllowance int            `json:"key_allowance"`
	ActiveKeys   int            `json:"active_keys"`
	Management   managementView `json:"management"`
	DeviceToken  string         `json:"device_token,omitempty"` // on registration and rotation only
}

type managementView struct {
	Level                  lock.Level `json:"level"`
	State                  string     `json:"state"` // trial, active, revoke_only
	TrialEndsAt            time.Time  `json:"trial_ends_at"`
	PaidEndsAt             *time.Time `json:"paid_ends_at"`
	SharedManagementEndsAt *time.Time `json:"shared_management_ends_at"`
	SharedManagementActive bool       `json:"shared_management_active"`
	DaysLeft               int        `json:"days_left"`
}

func viewLock(row *projections.LockRow, now time.Time) lockView {
	m := managementView{Level: row.Level(now), TrialEndsAt: row.TrialEndsAt, PaidEndsAt: row.PaidEndsAt,
		SharedManagementEndsAt: row.SharedManagementEndsAt, DaysLeft: row.DaysLeft(now)}
	switch {
	case m.Level == lock.LevelRevokeOnly:
		m.State = "revoke_only"
	case row.PaidEndsAt != nil && now.Before(*row.PaidEndsAt):
		m.State = "active"
	default:
		m.State = "trial"
	}
	m.SharedManagementActive = row.SharedManagementEndsAt != nil && now.Before(*row.SharedManagementEndsAt) && m.State == "active"
	return lockView{ID: row.ID, Serial: row.Serial, Name: row.Name, TimeZone: row.TimeZone, OwnerID: row.OwnerID,
		RegisteredAt: row.RegisteredAt, Frozen: row.Frozen, KeyAllowance: row.KeyAllowance, ActiveKeys: row.ActiveKeys, Management: m}
}

func (s *Server) lockRoutes() {
	s.handle(http.MethodPost, "/v1/locks", account, s.registerLock)
	s.handle(http.MethodGet, "/v1/locks", account, s.listLocks)
	s.handle(http.MethodGet, "/v1/locks/{lock}", account, s.getLock)
	s.handle(http.MethodPatch, "/v1/locks/{lock}", account, s.updateLock)
	s.handle(http.MethodDelete, "/v1/locks/{lock}", account, s.lockCommand(s.Locks.RemoveLock, http.StatusNoContent))
	s.handle(http.MethodPost, "/v1/locks/{lock}/freeze", account, s.lockCommand(s.Locks.Freeze, http.StatusOK))
	s.handle(http.MethodPost, "/v1/locks/{lock}/unfreeze", account, s.lockCommand(s.Locks.Unfreeze, http.StatusOK))
	s.handle(http.MethodPost, "/v1/locks/{lock}/replacement", account, s.replaceLock)
	s.handle(http.MethodPost, "/v1/locks/{lock}/device-token", account, s.rotateDeviceToken)
	s.handle(http.MethodPost, "/v1/locks/{lock}/redemptions", account, s.redeemOnLock)
	s.handle(http.MethodGet, "/v1/locks/{lock}/events", account, s.lockEvents)
}

// respondLock answers with the lock as the caller now sees it: its owner, or a
// manager of an organization holding a key to it (L12).
func (s *Server) respondLock(w http.ResponseWriter, r *http.Request, id uuid.UUID, status int, token string) error {
	row, err := s.Queries.Lock(r.Context(), principal(r).AccountID, id)
	if err == projections.ErrLockNotFound && s.Orgs != nil {
		var org uuid.UUID
		if org, err = s.readScope(r, id); err == nil {
			if org == uuid.Nil {
				return projections.ErrLockNotFound
			}
			row, err = s.Queries.LockForOrganization(r.Context(), org, id)
		}
	}
	if err != nil {
		return err
	}
	v := viewLock(row, s.Clock.Now())
	v.DeviceToken = token
	writeJSON(w, status, v)
	return nil
}

func (s *Server) registerLock(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Serial   string `json:"serial"`
		Name     string `json:"name"`
		TimeZone string `json:"time_zone"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Locks.RegisterLock(r.Context(), principal(r).AccountID, m, commands.RegisterLock{Serial: body.Serial, Name: body.Name, TimeZone: body.TimeZone})
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/locks/"+res.LockID.String())
	return s.respondLock(w, r, res.LockID, http.StatusCreated, res.DeviceToken)
}

// page reads the limit and cursor query parameters.
func page(r *http.Request) (limit int, cursor string, err error) {
	limit = 50
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 500 {
			return 0, "", domain.Errorf(domain.EInvalid, "limit must be 1 to 500")
		}
	}
	return limit, r.URL.Query().Get("cursor"), nil
}

func uuidCursor(cursor string) (uuid.UUID, error) {
	if cursor == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(cursor)
	if err != nil {
		return uuid.Nil, domain.Errorf(domain.EInvalid, "cursor is not one this API gave")
	}
	return id, nil
}

type listBody[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func cursorOf(id uuid.UUID) *string {
	if id == uuid.Nil {
		return nil
	}
	s := id.String()
	return &s
}

func (s *Server) listLocks(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	after, err := uuidCursor(cursor)
	if err != nil {
		return err
	}
	rows, next, err := s.Queries.Locks(r.Context(), principal(r).AccountID, after, limit)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	out := listBody[lockView]{Items: make([]lockView, 0, len(rows)), NextCursor: cursorOf(next)}
	for i := range rows {
		out.Items = append(out.Items, viewLock(&rows[i], now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getLock(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	return s.respondLock(w, r, id, http.StatusOK, "")
}

// runOn runs a command on the resource named by the path variable: it decodes body
// (nil: the request takes none), runs the command with the request's metadata and
// waits until the read models include it (read-your-writes). It returns the
// resource's id, for the answer.
func (s *Server) runOn(w http.ResponseWriter, r *http.Request, pathVar string, body any, run func(id uuid.UUID, m commands.Meta) (commands.Result, error)) (uuid.UUID, error) {
	id, err := pathID(r, pathVar)
	if err != nil {
		return uuid.Nil, err
	}
	if body == nil {
		err = noBody(r)
	} else {
		err = decode(w, r, body)
	}
	if err != nil {
		return uuid.Nil, err
	}
	m, err := meta(r)
	if err != nil {
		return uuid.Nil, err
	}
	res, err := run(id, m)
	if err != nil {
		return uuid.Nil, err
	}
	return id, s.settle(r, res)
}

// onLock runs a command on the lock in the path and answers with status and the
// lock as the caller now sees it (204: no body).
func (s *Server) onLock(w http.ResponseWriter, r *http.Request, body any, status int, run func(id uuid.UUID, m commands.Meta) (commands.Result, error)) error {
	id, err := s.runOn(w, r, "lock", body, run)
	if err != nil {
		return err
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	return s.respondLock(w, r, id, status, "")
}

func (s *Server) updateLock(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name     *string `json:"name"`
		TimeZone *string `json:"time_zone"`
	}
	return s.onLock(w, r, &body, http.StatusOK, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Locks.UpdateLock(r.Context(), principal(r).AccountID, m, commands.UpdateLock{LockID: id, Name: body.Name, TimeZone: body.TimeZone})
	})
}

// lockCommand serves a command on a lock that takes no body.
func (s *Server) lockCommand(cmd func(ctx context.Context, by, lockID uuid.UUID, m commands.Meta) (commands.Result, error), status int) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		return s.onLock(w, r, nil, status, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
			return cmd(r.Context(), principal(r).AccountID, id, m)
		})
	}
}

// noBody refuses a body on a command that takes none, so a misdirected request
// is not silently accepted.
func noBody(r *http.Request) error {
	if r.ContentLength > 0 {
		return domain.Errorf(domain.EInvalid, "this request takes no body")
	}
	return nil
}

func (s *Server) replaceLock(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		NewSerial string `json:"new_serial"`
	}
	return s.onLock(w, r, &body, http.StatusOK, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Locks.ReplaceLock(r.Context(), principal(r).AccountID, id, m, body.NewSerial)
	})
}

func (s *Server) rotateDeviceToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, token, err := s.Locks.RotateDeviceToken(r.Context(), principal(r).AccountID, id, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"device_token": token})
	return nil
}

func (s *Server) redeemOnLock(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Code string `json:"code"`
	}
	return s.onLock(w, r, &body, http.StatusOK, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Codes.RedeemOnLock(r.Context(), principal(r).AccountID, id, m, body.Code)
	})
}

func (s *Server) lockEvents(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f projections.LogFilter
	if t := q.Get("type"); t != "" {
		f.Types = strings.Split(t, ",")
	}
	if f.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(q.Get("until"), "until"); err != nil {
		return err
	}
	before := es.Start
	if cursor != "" {
		if before, err = es.ParsePosition(cursor); err != nil {
			return domain.Errorf(domain.EInvalid, "cursor is not one this API gave")
		}
	}
	entries, next, err := s.Log.Events(r.Context(), principal(r).AccountID, id, f, before, limit)
	if err != nil {
		return err
	}
	out := listBody[projections.LogEntry]{Items: entries}
	if out.Items == nil {
		out.Items = []projections.LogEntry{}
	}
	if !next.IsZero() {
		c := next.String()
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func timeParam(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, domain.Errorf(domain.EInvalid, "%s must be an RFC 3339 time such as 2026-01-31T09:00:00Z", name)
	}
	return t.UTC(), nil
}

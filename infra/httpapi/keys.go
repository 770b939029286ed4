package httpapi

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
	"sleutel/domain/report"
	"sleutel/projections"
)

// keyView is the Key of the API: never the credential or its digest.
type keyView struct {
	ID              uuid.UUID     `json:"id"`
	LockID          uuid.UUID     `json:"lock_id"`
	Type            lock.KeyType  `json:"type"`
	HolderName      string        `json:"holder_name"`
	AccountID       *uuid.UUID    `json:"account_id,omitempty"`
	CredentialHint  string        `json:"credential_hint,omitempty"`
	ValidFrom       *time.Time    `json:"valid_from,omitempty"`
	ValidUntil      *time.Time    `json:"valid_until,omitempty"`
	Schedule        lock.Schedule `json:"schedule,omitempty"`
	MaxUses         int           `json:"max_uses,omitempty"`
	Uses            int           `json:"uses"`
	Status          string        `json:"status"`
	IssuedBy        uuid.UUID     `json:"issued_by"`
	Organization    *uuid.UUID    `json:"organization_id,omitempty"` // the organization that issued it (L12)
	IssuedAt        time.Time     `json:"issued_at"`
	ChangedAt       *time.Time    `json:"changed_at,omitempty"`
	RevokedAt       *time.Time    `json:"revoked_at,omitempty"`
	RevokeReason    string        `json:"revoke_reason,omitempty"`
	PIN             string        `json:"pin,omitempty"`              // a generated PIN, on issue only
	PhoneCredential string        `json:"phone_credential,omitempty"` // for the holder's own app
}

func viewKey(k *projections.KeyRow) keyView {
	return keyView{ID: k.ID, LockID: k.LockID, Type: k.Type, HolderName: k.HolderName, AccountID: k.AccountID,
		CredentialHint: k.CredentialHint, ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil, Schedule: k.Schedule,
		MaxUses: k.MaxUses, Uses: k.Uses, Status: string(k.Status), IssuedBy: k.IssuedBy, Organization: k.Organization, IssuedAt: k.IssuedAt,
		ChangedAt: k.ChangedAt, RevokedAt: k.RevokedAt, RevokeReason: k.RevokeReason}
}

func (s *Server) keyRoutes() {
	s.handle(http.MethodPost, "/v1/locks/{lock}/keys", account, s.issueKey)
	s.handle(http.MethodGet, "/v1/locks/{lock}/keys", account, s.listKeys)
	s.handle(http.MethodGet, "/v1/locks/{lock}/keys/{key}", account, s.getKey)
	s.handle(http.MethodPatch, "/v1/locks/{lock}/keys/{key}", account, s.changeKey)
	s.handle(http.MethodDelete, "/v1/locks/{lock}/keys/{key}", account, s.revokeKey)
	s.handle(http.MethodGet, "/v1/me/keys", account, s.myKeys)
}

// optionalTime distinguishes an absent field from an explicit null in a PATCH.
type optionalTime struct {
	Set   bool
	Value *time.Time
}

func (o *optionalTime) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		return nil
	}
	var t time.Time
	if err := json.Unmarshal(b, &t); err != nil {
		return domain.Errorf(domain.EInvalid, "times are RFC 3339, such as 2026-01-31T09:00:00Z")
	}
	t = t.UTC()
	o.Value = &t
	return nil
}

func (s *Server) issueKey(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	var body struct {
		Type       string        `json:"type"`
		HolderName string        `json:"holder_name"`
		AccountID  *uuid.UUID    `json:"account_id"`
		Credential string        `json:"credential"`
		ValidFrom  optionalTime  `json:"valid_from"`
		ValidUntil optionalTime  `json:"valid_until"`
		Schedule   lock.Schedule `json:"schedule"`
		MaxUses    int           `json:"max_uses"`
		// OrganizationID is the organization a manager issues the key for (L12).
		OrganizationID *uuid.UUID `json:"organization_id"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	org, err := s.keyScope(r, lockID, body.OrganizationID)
	if err != nil {
		return err
	}
	cmd := commands.IssueKey{LockID: lockID, Organization: org, Type: body.Type, Credential: body.Credential,
		Terms: lock.KeyTerms{HolderName: body.HolderName, ValidFrom: body.ValidFrom.Value, ValidUntil: body.ValidUntil.Value, Schedule: body.Schedule, MaxUses: body.MaxUses}}
	if body.AccountID != nil {
		cmd.AccountID = *body.AccountID
	}
	res, err := s.Locks.IssueKey(r.Context(), principal(r).AccountID, m, cmd)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	// The command checked the caller's rights on the lock: read the key row only.
	k, err := s.Queries.AnyKey(r.Context(), lockID, res.KeyID)
	if err != nil {
		return err
	}
	v := viewKey(k)
	v.PIN = res.PIN
	w.Header().Set("Location", "/v1/locks/"+lockID.String()+"/keys/"+res.KeyID.String())
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	after, err := uuidCursor(cursor)
	if err != nil {
		return err
	}
	var f projections.KeyFilter
	switch st := r.URL.Query().Get("status"); st {
	case "", "active", "revoked":
		f.Status = projections.KeyStatus(st)
	default:
		return domain.Errorf(domain.EInvalid, "status must be active or revoked")
	}
	if t := r.URL.Query().Get("type"); t != "" {
		kt, err := lock.ParseKeyType(t)
		if err != nil {
			return err
		}
		f.Type = kt
	}
	if f.Organization, err = s.readScope(r, lockID); err != nil {
		return err
	}
	rows, next, err := s.Queries.Keys(r.Context(), principal(r).AccountID, lockID, f, after, limit)
	if err != nil {
		return err
	}
	out := listBody[keyView]{Items: make([]keyView, 0, len(rows)), NextCursor: cursorOf(next)}
	for i := range rows {
		out.Items = append(out.Items, viewKey(&rows[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	keyID, err := pathID(r, "key")
	if err != nil {
		return err
	}
	k, err := s.scopedKey(r, lockID, keyID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewKey(k))
	return nil
}

// scopedKey reads a key as the caller may see it: any key of their own lock, or a
// key their organization issued on a lock it holds a key to (L12).
func (s *Server) scopedKey(r *http.Request, lockID, keyID uuid.UUID) (*projections.KeyRow, error) {
	org, err := s.readScope(r, lockID)
	if err != nil {
		return nil, err
	}
	if org == uuid.Nil {
		return s.Queries.Key(r.Context(), principal(r).AccountID, lockID, keyID)
	}
	k, err := s.Queries.AnyKey(r.Context(), lockID, keyID)
	if err != nil {
		return nil, err
	}
	if k.Organization == nil || *k.Organization != org {
		return nil, projections.ErrKeyNotFound
	}
	return k, nil
}

// keyScope returns the organization a request manages keys for: the one named
// (organization_id in the body, or in the query), Nil for the lock's owner, or
// else the one organization the caller manages that holds a key to the lock.
func (s *Server) keyScope(r *http.Request, lockID uuid.UUID, named *uuid.UUID) (uuid.UUID, error) {
	if named != nil {
		return *named, nil
	}
	if q := r.URL.Query().Get("organization_id"); q != "" {
		id, err := uuid.Parse(q)
		if err != nil {
			return uuid.Nil, domain.Errorf(domain.EInvalid, "organization_id is not an id")
		}
		return id, nil
	}
	p := principal(r)
	if _, err := s.Queries.Lock(r.Context(), p.AccountID, lockID); err == nil || s.Orgs == nil {
		return uuid.Nil, nil // the owner, or no organizations to act for
	}
	roles, err := s.Orgs.MembershipsOf(r.Context(), p.AccountID)
	if err != nil {
		return uuid.Nil, err
	}
	var found []uuid.UUID
	for org, role := range roles {
		if !role.AtLeast(organization.RoleManager) {
			continue
		}
		if shared, err := s.Orgs.Shared(r.Context(), org, lockID); err != nil {
			return uuid.Nil, err
		} else if shared != nil {
			found = append(found, org)
		}
	}
	switch len(found) {
	case 0:
		return uuid.Nil, nil // the lock reads as not found for this caller
	case 1:
		return found[0], nil
	}
	return uuid.Nil, domain.Errorf(domain.EInvalid, "you manage keys for several organizations on this lock: name one with organization_id")
}

// readScope is keyScope for reads, which also checks the caller manages the
// organization it reads for (O4): a member acting as a manager sees nothing.
func (s *Server) readScope(r *http.Request, lockID uuid.UUID) (uuid.UUID, error) {
	org, err := s.keyScope(r, lockID, nil)
	if err != nil || org == uuid.Nil {
		return org, err
	}
	role, ok, err := s.Orgs.RoleOf(r.Context(), org, principal(r).AccountID)
	if err != nil {
		return uuid.Nil, err
	}
	if !ok || !role.AtLeast(organization.RoleManager) {
		return uuid.Nil, projections.ErrLockNotFound
	}
	if _, err := s.Queries.LockForOrganization(r.Context(), org, lockID); err != nil {
		return uuid.Nil, err
	}
	return org, nil
}

func (s *Server) changeKey(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	keyID, err := pathID(r, "key")
	if err != nil {
		return err
	}
	var body struct {
		HolderName *string        `json:"holder_name"`
		ValidFrom  optionalTime   `json:"valid_from"`
		ValidUntil optionalTime   `json:"valid_until"`
		Schedule   *lock.Schedule `json:"schedule"`
		MaxUses    *int           `json:"max_uses"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	k, err := s.scopedKey(r, lockID, keyID)
	if err != nil {
		return err
	}
	org := uuid.Nil
	if k.Organization != nil && principal(r).AccountID != uuid.Nil {
		if scope, _ := s.readScope(r, lockID); scope != uuid.Nil {
			org = scope
		}
	}
	// A PATCH changes what it names; the rest keeps the key's current terms.
	terms := lock.KeyTerms{HolderName: k.HolderName, ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil, Schedule: k.Schedule, MaxUses: k.MaxUses}
	if body.HolderName != nil {
		terms.HolderName = *body.HolderName
	}
	if body.ValidFrom.Set {
		terms.ValidFrom = body.ValidFrom.Value
	}
	if body.ValidUntil.Set {
		terms.ValidUntil = body.ValidUntil.Value
	}
	if body.Schedule != nil {
		terms.Schedule = *body.Schedule
	}
	if body.MaxUses != nil {
		terms.MaxUses = *body.MaxUses
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Locks.ChangeKeyFor(r.Context(), principal(r).AccountID, org, lockID, keyID, m, terms)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	if k, err = s.Queries.AnyKey(r.Context(), lockID, keyID); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewKey(k))
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	keyID, err := pathID(r, "key")
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
	org, err := s.keyScope(r, lockID, nil)
	if err != nil {
		return err
	}
	res, err := s.Locks.RevokeKeyFor(r.Context(), principal(r).AccountID, org, lockID, keyID, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) myKeys(w http.ResponseWriter, r *http.Request) error {
	rows, err := s.Queries.PhoneKeys(r.Context(), principal(r).AccountID)
	if err != nil {
		return err
	}
	out := listBody[keyView]{Items: make([]keyView, 0, len(rows))}
	for i := range rows {
		v := viewKey(&rows[i])
		v.PhoneCredential = rows[i].ID.String() + "." + s.Secrets.PhoneCredential(rows[i].ID)
		out.Items = append(out.Items, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) deviceRoutes() {
	s.handle(http.MethodPost, "/v1/device/access-checks", device, s.accessCheck)
	s.handle(http.MethodPost, "/v1/device/events", device, s.deviceEvents)
}

type accessAnswer struct {
	Allowed bool       `json:"allowed"`
	KeyID   *uuid.UUID `json:"key_id,omitempty"`
	Reason  string     `json:"reason"`
}

// accessCheck answers "may this credential open this lock now?" (D1) from the
// in-memory access index. A key with a use limit is recorded as used before the
// answer says yes, so a one-time code opens once.
func (s *Server) accessCheck(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		CredentialType string `json:"credential_type"`
		Credential     string `json:"credential"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	lockID := deviceLock(r)
	cred, err := s.credential(r.Context(), lockID, body.CredentialType, body.Credential)
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	d, err := s.Access.Check(r.Context(), lockID, cred, now)
	if err != nil {
		return err
	}
	if d.Allowed {
		limited, err := s.Access.UseLimited(r.Context(), lockID, d.KeyID)
		if err != nil {
			return err
		}
		if limited {
			res, err := s.Locks.UseKey(r.Context(), lockID, d.KeyID, now)
			if err != nil {
				if de, ok := err.(*domain.Error); ok && de.Code == domain.EForbidden {
					d.Allowed, d.Reason = false, de.Message
				} else {
					return err
				}
			} else if err := s.settle(r, res); err != nil {
				return err
			}
		}
	}
	out := accessAnswer{Allowed: d.Allowed, Reason: d.Reason}
	if d.KeyID != uuid.Nil {
		out.KeyID = &d.KeyID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// credential turns what the device read into what the index looks up: the keyed
// digest of a PIN, remote serial or tag UID, or the account of a phone credential.
func (s *Server) credential(ctx context.Context, lockID uuid.UUID, typ, raw string) (lock.Credential, error) {
	t, err := lock.ParseKeyType(typ)
	if err != nil {
		return lock.Credential{}, domain.Errorf(domain.EInvalid, "credential_type must be phone, remote, code or tag")
	}
	if t == lock.KeyPhone {
		acc, ok, err := s.phoneAccount(ctx, lockID, raw)
		if err != nil || !ok {
			return lock.Credential{Type: t}, err // no account: the index answers unknown
		}
		return lock.Credential{Type: t, AccountID: acc}, nil
	}
	norm, err := lock.NormalizeCredential(t, raw)
	if err != nil {
		// What the door read cannot be any key's credential (a 2-digit PIN, say):
		// the device gets a plain "no", as for any unknown credential.
		return lock.Credential{Type: t}, nil
	}
	return lock.Credential{Type: t, Digest: s.Secrets.CredentialDigest(lockID, string(t), norm)}, nil
}

// phoneAccount resolves a phone credential "<key id>.<proof>", as /v1/me/keys gives
// it to the holder's app, to the key's holder.
func (s *Server) phoneAccount(ctx context.Context, lockID uuid.UUID, raw string) (uuid.UUID, bool, error) {
	keyID, proof, ok := strings.Cut(raw, ".")
	if !ok {
		return uuid.Nil, false, nil
	}
	id, err := uuid.Parse(keyID)
	if err != nil || !hmac.Equal([]byte(s.Secrets.PhoneCredential(id)), []byte(proof)) {
		return uuid.Nil, false, nil
	}
	return s.Access.PhoneHolder(ctx, lockID, id)
}

func (s *Server) deviceEvents(w http.ResponseWriter, r *http.Request) error {
	var body []struct {
		ID             string     `json:"id"`
		Type           string     `json:"type"`
		OccurredAt     time.Time  `json:"occurred_at"`
		KeyID          *uuid.UUID `json:"key_id"`
		BatteryPercent *int       `json:"battery_percent"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	reports := make([]report.Report, len(body))
	for i, b := range body {
		reports[i] = report.Report{ID: b.ID, Type: b.Type, OccurredAt: b.OccurredAt, BatteryPercent: b.BatteryPercent}
		if b.KeyID != nil {
			reports[i].KeyID = *b.KeyID
		}
	}
	res, err := s.Locks.ReportDeviceEvents(r.Context(), deviceLock(r), reports)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(reports)})
	return nil
}

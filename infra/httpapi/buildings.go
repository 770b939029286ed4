package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/lock"
	"sleutel/infra/logging"
	"sleutel/projections"
)

// buildingManagementView is the BuildingManagement of the API (L13).
type buildingManagementView struct {
	Enabled   bool       `json:"enabled"`
	EnabledAt *time.Time `json:"enabled_at"`
}

// buildingView is the Building of the API (L13). Locks, the caller's locks in the
// building as lock views, is there when one building is read.
type buildingView struct {
	ID        uuid.UUID   `json:"id"`
	Name      string      `json:"name"`
	OwnerID   uuid.UUID   `json:"owner_id"`
	CreatedAt time.Time   `json:"created_at"`
	LockIDs   []uuid.UUID `json:"lock_ids"`
	Locks     []lockView  `json:"locks,omitempty"`
}

func viewBuilding(row *projections.BuildingRow) buildingView {
	ids := row.LockIDs
	if ids == nil {
		ids = []uuid.UUID{}
	}
	return buildingView{ID: row.ID, Name: row.Name, OwnerID: row.OwnerID, CreatedAt: row.CreatedAt, LockIDs: ids}
}

// bulkView is a BulkIssue of the API: one key issued on several locks (L13).
type bulkView struct {
	ID         uuid.UUID   `json:"id"`
	BuildingID uuid.UUID   `json:"building_id"`
	KeyType    string      `json:"key_type"`
	HolderName string      `json:"holder_name"`
	LockIDs    []uuid.UUID `json:"lock_ids"`
	IssuedAt   time.Time   `json:"issued_at"`
	RevokedAt  *time.Time  `json:"revoked_at,omitempty"`
}

// bulkResultView is the BulkResult of the API: what each lock of a bulk issue or
// revocation did, in the bulk's order of locks.
type bulkResultView struct {
	BulkID     uuid.UUID        `json:"bulk_id"`
	BuildingID uuid.UUID        `json:"building_id"`
	PIN        string           `json:"pin,omitempty"` // a generated PIN, on issue only
	Succeeded  int              `json:"succeeded"`
	Failed     int              `json:"failed"`
	Results    []lockResultView `json:"results"`
}

// lockResultView is what one lock did.
type lockResultView struct {
	LockID uuid.UUID    `json:"lock_id"`
	Status string       `json:"status"`
	Key    *keyView     `json:"key,omitempty"`
	Error  *errorDetail `json:"error,omitempty"`
}

// Per-lock statuses of a bulk result.
const (
	bulkIssued  = "issued"  // the lock holds the bulk's key
	bulkRevoked = "revoked" // the lock revoked the bulk's key
	bulkNone    = "none"    // the lock holds no active key of the bulk: nothing to revoke
	bulkFailed  = "failed"  // the lock refused: see error
)

func (s *Server) buildingRoutes() {
	s.handle(http.MethodPost, "/v1/me/building-management", account, s.enableBuildingManagement)
	s.handle(http.MethodGet, "/v1/me/building-management", account, s.getBuildingManagement)
	s.handle(http.MethodPost, "/v1/buildings", account, s.createBuilding)
	s.handle(http.MethodGet, "/v1/buildings", account, s.listBuildings)
	s.handle(http.MethodGet, "/v1/buildings/{id}", account, s.getBuilding)
	s.handle(http.MethodPut, "/v1/buildings/{id}/locks/{lock_id}", account, s.addBuildingLock)
	s.handle(http.MethodDelete, "/v1/buildings/{id}/locks/{lock_id}", account, s.removeBuildingLock)
	s.handle(http.MethodPost, "/v1/buildings/{id}/keys", account, s.issueBuildingKeys)
	s.handle(http.MethodGet, "/v1/buildings/{id}/keys", account, s.listBuildingKeys)
	s.handle(http.MethodDelete, "/v1/buildings/{id}/keys/{bulk_id}", account, s.revokeBuildingKeys)
}

func (s *Server) enableBuildingManagement(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Buildings.EnableBuildingManagement(r.Context(), principal(r).AccountID, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	at := res.EnabledAt.UTC()
	writeJSON(w, http.StatusOK, buildingManagementView{Enabled: true, EnabledAt: &at})
	return nil
}

func (s *Server) getBuildingManagement(w http.ResponseWriter, r *http.Request) error {
	since, err := s.Buildings.BuildingManagementOf(r.Context(), principal(r).AccountID)
	if err != nil {
		return err
	}
	v := buildingManagementView{Enabled: !since.IsZero()}
	if v.Enabled {
		at := since.UTC()
		v.EnabledAt = &at
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) createBuilding(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Buildings.CreateBuilding(r.Context(), principal(r).AccountID, m, body.Name)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/buildings/"+res.BuildingID.String())
	return s.respondBuilding(w, r, res.BuildingID, http.StatusCreated)
}

// respondBuilding answers with one building as its owner sees it, with its locks.
func (s *Server) respondBuilding(w http.ResponseWriter, r *http.Request, id uuid.UUID, status int) error {
	by := principal(r).AccountID
	row, err := s.BuildingQueries.Building(r.Context(), by, id)
	if err != nil {
		return err
	}
	v := viewBuilding(row)
	now := s.Clock.Now()
	for _, lockID := range row.LockIDs {
		l, err := s.Queries.Lock(r.Context(), by, lockID)
		if domain.ErrorCode(err) == domain.ENotFound {
			continue // removed from the platform a moment ago: it is leaving the building (E2)
		}
		if err != nil {
			return err
		}
		v.Locks = append(v.Locks, viewLock(l, now))
	}
	writeJSON(w, status, v)
	return nil
}

func (s *Server) listBuildings(w http.ResponseWriter, r *http.Request) error {
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	after, err := uuidCursor(cursor)
	if err != nil {
		return err
	}
	rows, next, err := s.BuildingQueries.Buildings(r.Context(), principal(r).AccountID, after, limit)
	if err != nil {
		return err
	}
	out := listBody[buildingView]{Items: make([]buildingView, 0, len(rows)), NextCursor: cursorOf(next)}
	for i := range rows {
		out.Items = append(out.Items, viewBuilding(&rows[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getBuilding(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return errBuildingNotFound
	}
	return s.respondBuilding(w, r, id, http.StatusOK)
}

var errBuildingNotFound = &domain.Error{Code: domain.ENotFound, Message: "building not found"}

// buildingAndLock reads the building and lock ids of the path.
func buildingAndLock(r *http.Request) (uuid.UUID, uuid.UUID, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return uuid.Nil, uuid.Nil, errBuildingNotFound
	}
	lockID, err := pathID(r, "lock_id")
	if err != nil {
		return uuid.Nil, uuid.Nil, lock.ErrNotRegistered
	}
	return id, lockID, nil
}

func (s *Server) addBuildingLock(w http.ResponseWriter, r *http.Request) error {
	id, lockID, err := buildingAndLock(r)
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
	res, err := s.Buildings.AddLock(r.Context(), principal(r).AccountID, id, lockID, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	return s.respondBuilding(w, r, id, http.StatusOK)
}

func (s *Server) removeBuildingLock(w http.ResponseWriter, r *http.Request) error {
	id, lockID, err := buildingAndLock(r)
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
	res, err := s.Buildings.RemoveLock(r.Context(), principal(r).AccountID, id, lockID, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// issueBuildingKeys issues one key on several locks of a building (L13). The body
// is the key body of POST /v1/locks/{id}/keys, plus lock_ids to narrow the locks.
// It answers 200 whenever the command ran, whatever each lock decided: results
// say, per lock, whether it issued the key or refused and why.
func (s *Server) issueBuildingKeys(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return errBuildingNotFound
	}
	var body struct {
		LockIDs    []uuid.UUID   `json:"lock_ids"`
		Type       string        `json:"type"`
		HolderName string        `json:"holder_name"`
		AccountID  *uuid.UUID    `json:"account_id"`
		Credential string        `json:"credential"`
		ValidFrom  optionalTime  `json:"valid_from"`
		ValidUntil optionalTime  `json:"valid_until"`
		Schedule   lock.Schedule `json:"schedule"`
		MaxUses    int           `json:"max_uses"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	cmd := commands.IssueBuildingKeys{BuildingID: id, LockIDs: body.LockIDs, Type: body.Type, Credential: body.Credential,
		Terms: lock.KeyTerms{HolderName: body.HolderName, ValidFrom: body.ValidFrom.Value, ValidUntil: body.ValidUntil.Value, Schedule: body.Schedule, MaxUses: body.MaxUses}}
	if body.AccountID != nil {
		cmd.AccountID = *body.AccountID
	}
	out, err := s.Buildings.IssueKeys(r.Context(), principal(r).AccountID, m, cmd)
	if err != nil {
		return err
	}
	return s.respondBulk(w, r, out, bulkIssued)
}

func (s *Server) revokeBuildingKeys(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return errBuildingNotFound
	}
	bulkID, err := pathID(r, "bulk_id")
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
	out, err := s.Buildings.RevokeKeys(r.Context(), principal(r).AccountID, id, bulkID, m)
	if err != nil {
		return err
	}
	return s.respondBulk(w, r, out, bulkRevoked)
}

// respondBulk waits for the read models of the building and of the locks written,
// then answers with each lock's outcome and key.
func (s *Server) respondBulk(w http.ResponseWriter, r *http.Request, out commands.BulkOutcome, done string) error {
	if err := s.settle(r, out.Result); err != nil {
		return err
	}
	if err := s.settle(r, out.LocksResult()); err != nil {
		return err
	}
	v := bulkResultView{BulkID: out.BulkID, BuildingID: out.BuildingID, PIN: out.PIN, Results: make([]lockResultView, 0, len(out.Locks))}
	for _, o := range out.Locks {
		res := lockResultView{LockID: o.LockID}
		switch {
		case o.Err != nil:
			code := domain.ErrorCode(o.Err)
			if code == domain.EInternal {
				s.log.Error("internal error", zap.String("path", r.URL.Path), logging.LockID(o.LockID), zap.Error(o.Err))
			}
			res.Status, res.Error = bulkFailed, &errorDetail{Code: code, Message: domain.ErrorMessage(o.Err)}
			v.Failed++
		case o.KeyID == uuid.Nil:
			res.Status = bulkNone
			v.Succeeded++
		default:
			// The command checked the caller's rights on the lock: read the key row only.
			k, err := s.Queries.AnyKey(r.Context(), o.LockID, o.KeyID)
			if err != nil {
				return err
			}
			kv := viewKey(k)
			res.Status, res.Key = done, &kv
			v.Succeeded++
		}
		v.Results = append(v.Results, res)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) listBuildingKeys(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return errBuildingNotFound
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	after, err := uuidCursor(cursor)
	if err != nil {
		return err
	}
	rows, next, err := s.BuildingQueries.Bulks(r.Context(), principal(r).AccountID, id, after, limit)
	if err != nil {
		return err
	}
	out := listBody[bulkView]{Items: make([]bulkView, 0, len(rows)), NextCursor: cursorOf(next)}
	for _, b := range rows {
		out.Items = append(out.Items, bulkView{ID: b.ID, BuildingID: b.BuildingID, KeyType: b.KeyType, HolderName: b.HolderName,
			LockIDs: b.LockIDs, IssuedAt: b.IssuedAt, RevokedAt: b.RevokedAt})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

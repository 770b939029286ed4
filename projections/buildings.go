package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/building"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// BuildingRow is the read model of one building (L13).
type BuildingRow struct {
	ID        uuid.UUID   `json:"id"`
	OwnerID   uuid.UUID   `json:"owner_id"`
	Name      string      `json:"name"`
	CreatedAt time.Time   `json:"created_at"`
	LockIDs   []uuid.UUID `json:"lock_ids"` // in the order they were added
}

// BulkRow is the read model of one bulk issue of a building (L13): what was asked
// of which locks. What each lock did is on the lock's keys (KeyRow).
type BulkRow struct {
	ID         uuid.UUID   `json:"id"`
	BuildingID uuid.UUID   `json:"building_id"`
	KeyType    string      `json:"key_type"`
	HolderName string      `json:"holder_name"`
	LockIDs    []uuid.UUID `json:"lock_ids"`
	IssuedAt   time.Time   `json:"issued_at"`
	RevokedAt  *time.Time  `json:"revoked_at,omitempty"`
}

// BuildingViews keeps the buildings read model: each owner's buildings, their
// locks and their bulk issues.
type BuildingViews struct{ kv KV }

// NewBuildingViews returns the projection.
func NewBuildingViews(kv KV) *BuildingViews { return &BuildingViews{kv: kv} }

const buildingViews = "buildings_v1"

// Name implements Projection.
func (*BuildingViews) Name() string { return buildingViews }

// Filter implements Filtered: the owners' building streams only.
func (*BuildingViews) Filter() es.Filter { return es.Filter{Categories: []string{building.Category}} }

// Reset implements Resetter.
func (p *BuildingViews) Reset(ctx context.Context) error {
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(buildingViews)) })
}

func buildingKey(id uuid.UUID) []byte { return key(buildingViews, "building", id.String()) }
func buildingOwnerKey(owner, id uuid.UUID) []byte {
	return key(buildingViews, "owner", owner.String(), id.String())
}
func bulkKey(buildingID, bulkID uuid.UUID) []byte {
	return key(buildingViews, "bulk", buildingID.String(), bulkID.String())
}

// Handle implements Projection.
func (p *BuildingViews) Handle(ctx context.Context, env es.Envelope) error {
	err := p.kv.Write(ctx, func(b Batch) error {
		if fresh, err := guard(buildingViews).fresh(b, env); err != nil || !fresh {
			return err
		}
		return p.apply(b, env)
	})
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", buildingViews, env.Stream, env.Revision, err)
	}
	return nil
}

func (p *BuildingViews) apply(b Batch, env es.Envelope) error {
	switch e := env.Event.(type) {
	case building.Created:
		row := BuildingRow{ID: e.BuildingID, OwnerID: e.OwnerID, Name: e.Name, CreatedAt: e.CreatedAt, LockIDs: []uuid.UUID{}}
		if err := b.Set(buildingOwnerKey(e.OwnerID, e.BuildingID), nil); err != nil {
			return err
		}
		return setJSON(b, buildingKey(e.BuildingID), &row)
	case building.LockAdded:
		return updateBuilding(b, e.BuildingID, func(r *BuildingRow) { r.LockIDs = append(r.LockIDs, e.LockID) })
	case building.LockRemoved:
		return updateBuilding(b, e.BuildingID, func(r *BuildingRow) {
			r.LockIDs = slices.DeleteFunc(r.LockIDs, func(id uuid.UUID) bool { return id == e.LockID })
		})
	case building.KeysIssued:
		row := BulkRow{ID: e.BulkID, BuildingID: e.BuildingID, KeyType: e.KeyType, HolderName: e.HolderName, LockIDs: e.LockIDs, IssuedAt: e.IssuedAt}
		return setJSON(b, bulkKey(e.BuildingID, e.BulkID), &row)
	case building.KeysRevoked:
		var row BulkRow
		found, err := getJSON(b, bulkKey(e.BuildingID, e.BulkID), &row)
		if err != nil || !found {
			return err
		}
		at := e.RevokedAt
		row.RevokedAt = &at
		return setJSON(b, bulkKey(e.BuildingID, e.BulkID), &row)
	}
	return nil
}

func updateBuilding(b Batch, id uuid.UUID, fn func(*BuildingRow)) error {
	var row BuildingRow
	found, err := getJSON(b, buildingKey(id), &row)
	if err != nil || !found {
		return err
	}
	fn(&row)
	return setJSON(b, buildingKey(id), &row)
}

// BuildingQueries answers questions about buildings from the read model. Every
// method checks the caller owns what it asks for (E2): another's building reads as
// not found.
type BuildingQueries struct{ kv KV }

// NewBuildingQueries returns the queries over kv.
func NewBuildingQueries(kv KV) *BuildingQueries { return &BuildingQueries{kv: kv} }

// Building returns one of the caller's buildings; building.ErrNotFound (ENotFound)
// for one that does not exist or is another's.
func (q *BuildingQueries) Building(ctx context.Context, account, id uuid.UUID) (*BuildingRow, error) {
	var row BuildingRow
	found, err := readJSON(ctx, q.kv, buildingKey(id), &row)
	if err != nil {
		return nil, err
	}
	if !found || row.OwnerID != account {
		return nil, building.ErrNotFound
	}
	return &row, nil
}

// Buildings lists the caller's buildings in creation order, after the building id
// after (uuid.Nil for the first page); next is the cursor of the following page,
// or Nil.
func (q *BuildingQueries) Buildings(ctx context.Context, account, after uuid.UUID, limit int) (rows []BuildingRow, next uuid.UUID, err error) {
	prefix := key(buildingViews, "owner", account.String(), "")
	var start []byte
	if after != uuid.Nil {
		start = append(buildingOwnerKey(account, after), 0)
	}
	pairs, err := q.kv.Scan(ctx, prefix, start, limit+1, false)
	if err != nil {
		return nil, uuid.Nil, err
	}
	for i, p := range pairs {
		if i == limit {
			next = rows[len(rows)-1].ID
			break
		}
		id, err := uuid.Parse(string(p.Key[len(prefix):]))
		if err != nil {
			return nil, uuid.Nil, fmt.Errorf("building owner index: %w", err)
		}
		row, err := q.Building(ctx, account, id)
		if err != nil {
			return nil, uuid.Nil, err
		}
		rows = append(rows, *row)
	}
	return rows, next, nil
}

// Bulks lists the bulk issues of one of the caller's buildings, oldest first,
// after the bulk id after; building.ErrNotFound for another's building.
func (q *BuildingQueries) Bulks(ctx context.Context, account, buildingID, after uuid.UUID, limit int) (rows []BulkRow, next uuid.UUID, err error) {
	if _, err := q.Building(ctx, account, buildingID); err != nil {
		return nil, uuid.Nil, err
	}
	prefix := key(buildingViews, "bulk", buildingID.String(), "")
	var start []byte
	if after != uuid.Nil {
		start = append(bulkKey(buildingID, after), 0)
	}
	pairs, err := q.kv.Scan(ctx, prefix, start, limit+1, false)
	if err != nil {
		return nil, uuid.Nil, err
	}
	for i, p := range pairs {
		if i == limit {
			next = rows[len(rows)-1].ID
			break
		}
		var row BulkRow
		if err := json.Unmarshal(p.Value, &row); err != nil {
			return nil, uuid.Nil, err
		}
		rows = append(rows, row)
	}
	return rows, next, nil
}

// RemovedLockForgetter takes a lock its owner removed from the platform out of the
// owner's buildings, if the owner does not own it again by now.
type RemovedLockForgetter interface {
	ForgetRemovedLock(ctx context.Context, owner, lockID uuid.UUID) error
}

// BuildingLocks is the process manager that keeps buildings to locks their owner
// owns (L13, L7): when a lock is removed from the platform, it leaves its owner's
// buildings. The command it runs looks at the lock's current state and is
// idempotent, so a repeated or late event does no harm.
type BuildingLocks struct{ forget RemovedLockForgetter }

// NewBuildingLocks returns the process manager.
func NewBuildingLocks(f RemovedLockForgetter) *BuildingLocks { return &BuildingLocks{forget: f} }

// Name implements Projection.
func (*BuildingLocks) Name() string { return "building_locks_v1" }

// Filter implements Filtered.
func (*BuildingLocks) Filter() es.Filter { return es.Filter{EventTypes: []string{lock.RemovedType}} }

// Handle implements Projection.
func (p *BuildingLocks) Handle(ctx context.Context, env es.Envelope) error {
	e, ok := env.Event.(lock.Removed)
	if !ok {
		return nil
	}
	lockID, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	return p.forget.ForgetRemovedLock(ctx, e.OwnerID, lockID)
}

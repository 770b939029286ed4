package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/building"
	"sleutel/domain/lock"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// TestBuildingViews_L13 feeds an owner's buildings twice (at-least-once delivery)
// and reads them back as the owner and as a stranger.
func TestBuildingViews_L13(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	building.RegisterEvents(h.reg)
	owner, stranger := uuid.New(), uuid.New()
	home, office := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	lockA, lockB, bulk := uuid.New(), uuid.New(), uuid.Must(uuid.NewV7())
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	s := building.Stream(owner)
	h.add(s, building.Created{BuildingID: home, OwnerID: owner, Name: "Kerkstraat 12", CreatedAt: t0})
	h.add(s, building.Created{BuildingID: office, OwnerID: owner, Name: "Office", CreatedAt: t0})
	h.add(s, building.LockAdded{BuildingID: home, LockID: lockA, AddedAt: t0})
	h.add(s, building.LockAdded{BuildingID: home, LockID: lockB, AddedAt: t0})
	h.add(s, building.KeysIssued{BuildingID: home, BulkID: bulk, LockIDs: []uuid.UUID{lockA, lockB}, KeyType: "tag", HolderName: "Anna", IssuedAt: t0})
	h.add(s, building.LockRemoved{BuildingID: home, LockID: lockA, Reason: building.ReasonRemoved, RemovedAt: t0})
	h.add(s, building.KeysRevoked{BuildingID: home, BulkID: bulk, RevokedAt: t0.Add(time.Hour)})

	feed := func(times int) *readstore.Store {
		kv := openKV(t)
		p := projections.NewBuildingViews(kv)
		for range times {
			for _, env := range h.envs {
				require.True(t, projections.FilterOf(p).Match(env.Stream, env.Type))
				require.NoError(t, p.Handle(context.WithoutCancel(t.Context()), env))
			}
		}
		return kv
	}
	once, twice := feed(1), feed(2)
	require.Equal(t, dump(t, once), dump(t, twice), "a redelivered history changes nothing")
	for _, kv := range []*readstore.Store{once, twice} {
		q := projections.NewBuildingQueries(kv)
		row, err := q.Building(t.Context(), owner, home)
		require.NoError(t, err)
		require.Equal(t, projections.BuildingRow{ID: home, OwnerID: owner, Name: "Kerkstraat 12", CreatedAt: t0, LockIDs: []uuid.UUID{lockB}}, *row,
			"L13 redelivery adds no lock twice")
		_, err = q.Building(t.Context(), stranger, home)
		require.ErrorIs(t, err, building.ErrNotFound, "E2 another's building is not found")

		page, next, err := q.Buildings(t.Context(), owner, uuid.Nil, 1)
		require.NoError(t, err)
		require.Len(t, page, 1)
		require.Equal(t, home, page[0].ID, "creation order")
		rest, last, err := q.Buildings(t.Context(), owner, next, 10)
		require.NoError(t, err)
		require.Equal(t, office, rest[0].ID)
		require.Equal(t, []uuid.UUID{}, rest[0].LockIDs)
		require.Equal(t, uuid.Nil, last)
		none, _, err := q.Buildings(t.Context(), stranger, uuid.Nil, 10)
		require.NoError(t, err)
		require.Empty(t, none)

		bulks, _, err := q.Bulks(t.Context(), owner, home, uuid.Nil, 10)
		require.NoError(t, err)
		require.Len(t, bulks, 1)
		require.Equal(t, []uuid.UUID{lockA, lockB}, bulks[0].LockIDs)
		require.Equal(t, t0.Add(time.Hour), *bulks[0].RevokedAt)
		_, _, err = q.Bulks(t.Context(), stranger, home, uuid.Nil, 10)
		require.ErrorIs(t, err, building.ErrNotFound)
	}
}

type forgetter struct{ calls [][2]uuid.UUID }

func (f *forgetter) ForgetRemovedLock(_ context.Context, owner, lockID uuid.UUID) error {
	f.calls = append(f.calls, [2]uuid.UUID{owner, lockID})
	return nil
}

func TestBuildingLocks_L13(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	owner, lockID := uuid.New(), uuid.New()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	f := &forgetter{}
	pm := projections.NewBuildingLocks(f)
	removed := h.add(lock.Stream(lockID), lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: t0})
	frozen := h.add(lock.Stream(lockID), lock.Frozen{FrozenBy: owner, FrozenAt: t0})
	require.True(t, projections.FilterOf(pm).Match(removed.Stream, removed.Type))
	require.False(t, projections.FilterOf(pm).Match(frozen.Stream, frozen.Type))
	require.NoError(t, pm.Handle(t.Context(), removed))
	require.NoError(t, pm.Handle(t.Context(), frozen))
	require.Equal(t, [][2]uuid.UUID{{owner, lockID}}, f.calls, "L13 a lock removed from the platform leaves its owner's buildings")
}

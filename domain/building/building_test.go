package building_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/building"
	"sleutel/domain/es"
)

var (
	t0     = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	owner  = uuid.MustParse("01936b2a-0000-7000-8000-0000000000a1")
	home   = uuid.MustParse("01936b2a-0000-7000-8000-0000000b0001")
	office = uuid.MustParse("01936b2a-0000-7000-8000-0000000b0002")
	lockA  = uuid.MustParse("01936b2a-0000-7000-8000-000000000001")
	lockB  = uuid.MustParse("01936b2a-0000-7000-8000-000000000002")
	lockC  = uuid.MustParse("01936b2a-0000-7000-8000-000000000003")
	bulk1  = uuid.MustParse("01936b2a-0000-7000-8000-00000000f001")
)

func created(id uuid.UUID, name string) building.Created {
	return building.Created{BuildingID: id, OwnerID: owner, Name: name, CreatedAt: t0}
}

func added(b, l uuid.UUID) building.LockAdded {
	return building.LockAdded{BuildingID: b, LockID: l, AddedAt: t0}
}

type step func(*building.Portfolio) error

func create(id uuid.UUID, name string, on bool) step {
	return func(p *building.Portfolio) error { return p.Create(id, name, on, t0) }
}

func add(b, l uuid.UUID) step {
	return func(p *building.Portfolio) error { return p.AddLock(b, l, t0) }
}

func remove(b, l uuid.UUID) step {
	return func(p *building.Portfolio) error { return p.RemoveLock(b, l, t0) }
}

func issue(b uuid.UUID, locks []uuid.UUID) step {
	return func(p *building.Portfolio) error {
		_, err := p.IssueKeys(b, building.BulkIssue{BulkID: bulk1, LockIDs: locks, KeyType: "code", HolderName: " Cleaner "}, t0)
		return err
	}
}

func TestPortfolio_L13(t *testing.T) {
	t.Parallel()
	two := []es.Event{created(home, "Kerkstraat 12"), created(office, "Office")}
	withA := append(append([]es.Event{}, two...), added(home, lockA))
	withAB := append(append([]es.Event{}, withA...), added(home, lockB))
	full := []es.Event{created(home, "Kerkstraat 12")}
	for range building.MaxLocks {
		full = append(full, added(home, uuid.New()))
	}
	issued := building.KeysIssued{BuildingID: home, BulkID: bulk1, LockIDs: []uuid.UUID{lockA, lockB}, KeyType: "code", HolderName: "Cleaner", IssuedAt: t0}
	tests := []struct {
		name     string
		given    []es.Event
		when     step
		then     []es.Event
		wantCode string
	}{
		{"L13 the owner creates a building, name trimmed", nil, create(home, "  Kerkstraat 12 ", true),
			[]es.Event{created(home, "Kerkstraat 12")}, ""},
		{"L13 no building while building management is off", nil, create(home, "Kerkstraat 12", false), nil, domain.EForbidden},
		{"L13 a building needs a name", nil, create(home, " ", true), nil, domain.EInvalid},
		{"L13 a name too long is refused", nil, create(home, strings.Repeat("x", building.MaxName+1), true), nil, domain.EInvalid},
		{"L13 names are unique among the owner's buildings, without case", two, create(uuid.New(), "OFFICE", true), nil, domain.EConflict},
		{"L13 the owner puts a lock in a building", two, add(home, lockA), []es.Event{added(home, lockA)}, ""},
		{"L13 adding a lock twice records nothing", withA, add(home, lockA), nil, ""},
		{"L13 a lock is in at most one building of its owner", withA, add(office, lockA), nil, domain.EConflict},
		{"L13 a building holds at most 100 locks", full, add(home, lockC), nil, domain.EConflict},
		{"L13 a building that does not exist is not found", two, add(uuid.New(), lockA), nil, domain.ENotFound},
		{"L13 the owner takes a lock out", withA, remove(home, lockA),
			[]es.Event{building.LockRemoved{BuildingID: home, LockID: lockA, Reason: building.ReasonRemoved, RemovedAt: t0}}, ""},
		{"L13 a lock not in the building cannot be taken out", withA, remove(office, lockA), nil, domain.ENotFound},
		{"L13 a lock taken out can go to another building", append(append([]es.Event{}, withA...),
			building.LockRemoved{BuildingID: home, LockID: lockA, Reason: building.ReasonRemoved, RemovedAt: t0}),
			add(office, lockA), []es.Event{added(office, lockA)}, ""},
		{"L13 a bulk issue reaches every lock of the building by default", withAB, issue(home, nil), []es.Event{issued}, ""},
		{"L13 a bulk issue may name some of the building's locks", withAB, issue(home, []uuid.UUID{lockB}),
			[]es.Event{building.KeysIssued{BuildingID: home, BulkID: bulk1, LockIDs: []uuid.UUID{lockB}, KeyType: "code", HolderName: "Cleaner", IssuedAt: t0}}, ""},
		{"L13 an empty building has no locks to issue on", two, issue(home, nil), nil, domain.EInvalid},
		{"L13 an empty lock list is refused", withAB, issue(home, []uuid.UUID{}), nil, domain.EInvalid},
		{"L13 an oversized lock list is refused", withAB, issue(home, make([]uuid.UUID, building.MaxLocks+1)), nil, domain.EInvalid},
		{"L13 a lock named twice is refused", withAB, issue(home, []uuid.UUID{lockA, lockA}), nil, domain.EInvalid},
		{"L13 a lock outside the building is refused", withAB, issue(home, []uuid.UUID{lockA, lockC}), nil, domain.EInvalid},
		{"L13 a bulk id is used once", append(append([]es.Event{}, withAB...), issued), issue(home, nil), nil, domain.EConflict},
		{"L13 the owner revokes a bulk issue", append(append([]es.Event{}, withAB...), issued),
			func(p *building.Portfolio) error { _, err := p.RevokeKeys(home, bulk1, t0); return err },
			[]es.Event{building.KeysRevoked{BuildingID: home, BulkID: bulk1, RevokedAt: t0}}, ""},
		{"L13 revoking again records nothing", append(append([]es.Event{}, withAB...), issued, building.KeysRevoked{BuildingID: home, BulkID: bulk1, RevokedAt: t0}),
			func(p *building.Portfolio) error { _, err := p.RevokeKeys(home, bulk1, t0); return err }, nil, ""},
		{"L13 a bulk issue of another building is not found", append(append([]es.Event{}, withAB...), issued),
			func(p *building.Portfolio) error { _, err := p.RevokeKeys(office, bulk1, t0); return err }, nil, domain.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := building.Rehydrate(owner, tt.given)                              // given
			err := tt.when(p)                                                     // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err), "error %v", err) // then
			require.Equal(t, tt.then, p.Changes())
		})
	}
}

func TestPortfolio_Queries_L13(t *testing.T) {
	t.Parallel()
	p := building.Rehydrate(owner, []es.Event{created(home, "Kerkstraat 12"), added(home, lockA), added(home, lockB),
		building.KeysIssued{BuildingID: home, BulkID: bulk1, LockIDs: []uuid.UUID{lockA, lockB}, KeyType: "tag", HolderName: "Anna", IssuedAt: t0}})
	require.Equal(t, owner, p.Owner())
	require.Equal(t, uint64(4), p.Version())
	b, ok := p.Building(home)
	require.True(t, ok)
	require.Equal(t, building.Building{ID: home, Name: "Kerkstraat 12", CreatedAt: t0, Locks: []uuid.UUID{lockA, lockB}}, b)
	b.Locks[0] = lockC
	again, _ := p.Building(home)
	require.Equal(t, lockA, again.Locks[0], "a copy: changing it changes nothing")
	_, ok = p.Building(office)
	require.False(t, ok)
	in, ok := p.BuildingOf(lockB)
	require.True(t, ok)
	require.Equal(t, home, in)
	_, ok = p.BuildingOf(lockC)
	require.False(t, ok)
	bulk, ok := p.Bulk(home, bulk1)
	require.True(t, ok)
	require.Equal(t, []uuid.UUID{lockA, lockB}, bulk.LockIDs)
	require.True(t, bulk.RevokedAt.IsZero())
	_, ok = p.Bulk(office, bulk1)
	require.False(t, ok, "a bulk issue belongs to its building")

	locks, err := p.RevokeKeys(home, bulk1, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{lockA, lockB}, locks, "L13 the revocation reaches the locks the bulk asked")
	bulk, _ = p.Bulk(home, bulk1)
	require.Equal(t, t0.Add(time.Hour), bulk.RevokedAt)
}

// TestForgetLock_L13 covers a lock its owner removed from the platform (L7): it
// leaves the building, so only locks the owner owns stay grouped.
func TestForgetLock_L13(t *testing.T) {
	t.Parallel()
	p := building.Rehydrate(owner, []es.Event{created(home, "Kerkstraat 12"), added(home, lockA)})
	p.ForgetLock(lockB, t0)
	require.Empty(t, p.Changes(), "a lock in no building: nothing to forget")
	p.ForgetLock(lockA, t0)
	require.Equal(t, []es.Event{building.LockRemoved{BuildingID: home, LockID: lockA, Reason: building.ReasonNotOwned, RemovedAt: t0}}, p.Changes())
	_, ok := p.BuildingOf(lockA)
	require.False(t, ok)
}

// TestEvents_DecodeSamples decodes every stored sample payload and writes it back
// unchanged (STYLE §2). Every registered type needs a sample.
func TestEvents_DecodeSamples(t *testing.T) {
	t.Parallel()
	r := es.NewRegistry()
	building.RegisterEvents(r)
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var sample struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(raw, &sample), f)
		e, err := r.Decode(sample.Type, sample.Data)
		require.NoError(t, err, f)
		again, err := json.Marshal(e)
		require.NoError(t, err, f)
		require.JSONEq(t, string(sample.Data), string(again), f)
		seen[sample.Type] = true
	}
	require.Len(t, seen, r.Types(), "every registered event type has a sample in testdata/events")
}

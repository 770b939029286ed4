package audit_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/audit"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// TestTimeline_AccessAsOf covers SPEC H3: who could open the lock, as its stream
// stood at each moment, across a freeze, a schedule boundary, a use limit, a
// change of terms, a revocation, a removal and a re-registration (L7, L9, L15).
func TestTimeline_AccessAsOf(t *testing.T) {
	t.Parallel()
	at := func(hh, mm int) time.Time { return time.Date(2026, 1, 5, hh, mm, 0, 0, time.UTC) } // a Monday
	lockID, anna, bert := uuid.New(), uuid.New(), uuid.New()
	k1, k2, k3 := uuid.New(), uuid.New(), uuid.New()
	// 08:00-11:00 in Amsterdam (UTC+1 in January) is 07:00-10:00 UTC.
	office := lock.Schedule{{Days: []time.Weekday{time.Monday, time.Tuesday}, From: 8 * 60, Until: 11 * 60}}
	history := []es.Event{
		lock.Registered{LockID: lockID, Serial: "AS-1", OwnerID: anna, Name: "Door", TimeZone: "Europe/Amsterdam", RegisteredAt: at(6, 0), FirstRegistration: true},
		lock.KeyIssued{KeyID: k1, Type: lock.KeyTag, HolderName: "Tag", Schedule: office, IssuedBy: anna, IssuedAt: at(6, 30)},
		lock.KeyIssued{KeyID: k2, Type: lock.KeyCode, HolderName: "Cleaner", MaxUses: 1, IssuedBy: anna, IssuedAt: at(6, 30)},
		lock.Frozen{FrozenBy: anna, FrozenAt: at(7, 10)},
		lock.Unfrozen{UnfrozenBy: anna, UnfrozenAt: at(7, 20)},
		lock.KeyUsed{KeyID: k2, Uses: 1, UsedAt: at(7, 30)},
		lock.KeyChanged{KeyID: k2, HolderName: "Cleaner", MaxUses: 2, ChangedBy: anna, ChangedAt: at(8, 0)},
		lock.KeyRevoked{KeyID: k1, Reason: lock.ReasonRevoked, RevokedBy: anna, RevokedAt: at(10, 30)},
		lock.KeyRevoked{KeyID: k2, Reason: lock.ReasonLockRemoved, RevokedBy: anna, RevokedAt: at(11, 0)},
		lock.Removed{OwnerID: anna, RemovedBy: anna, RemovedAt: at(11, 0)},
		lock.Registered{LockID: lockID, Serial: "AS-1", OwnerID: bert, Name: "Bert's door", TimeZone: "Europe/Amsterdam", RegisteredAt: at(12, 0)},
		lock.KeyIssued{KeyID: k3, Type: lock.KeyPhone, AccountID: bert, HolderName: "Bert", IssuedBy: bert, IssuedAt: at(12, 30)},
		// Decided on a clock a moment behind the one before: it takes effect with it.
		lock.Updated{Name: "Bert's front door", TimeZone: "Europe/Amsterdam", UpdatedBy: bert, UpdatedAt: at(12, 29)},
	}
	tl := audit.NewTimeline(lockID)
	for i, e := range history {
		require.NoError(t, tl.Add(es.Envelope{Record: es.Record{Stream: lock.Stream(lockID), Revision: uint64(i), Position: es.Pos(uint64(10 + i)),
			RecordedAt: time.Date(2030, 1, 1, 0, 0, i, 0, time.UTC)}, Event: e}))
	}
	require.Error(t, tl.Add(es.Envelope{Record: es.Record{Revision: 99}, Event: lock.Frozen{}}), "only the next revision")

	type want map[uuid.UUID]string // key → reason
	check := func(moment time.Time, minTenure int, registered, frozen bool, expect want) audit.Access {
		t.Helper()
		a, keys, more := tl.At(moment, time.LoadLocation, audit.KeyQuery{MinTenure: minTenure})
		require.False(t, more)
		require.Equal(t, registered, a.Registered, "registered at %s", moment)
		require.Equal(t, frozen, a.Frozen, "frozen at %s", moment)
		got := want{}
		for _, k := range keys {
			got[k.ID] = k.Reason
			require.Equal(t, k.Reason == lock.AccessAllowed, k.CouldOpen)
		}
		require.Equal(t, expect, got, "keys at %s", moment)
		return a
	}
	before := check(at(5, 59), 0, false, false, want{})
	require.Zero(t, before.Events, "nothing had happened yet")
	require.Nil(t, before.Revision)

	check(at(6, 45), 0, true, false, want{k1: lock.AccessOutside, k2: lock.AccessAllowed}) // 07:45 local: before office hours
	check(at(7, 0), 0, true, false, want{k1: lock.AccessAllowed, k2: lock.AccessAllowed})
	frozen := check(at(7, 10), 0, true, true, want{k1: lock.AccessFrozen, k2: lock.AccessFrozen}) // L15, from the freeze's own moment
	require.EqualValues(t, 3, *frozen.Revision)
	require.Equal(t, es.Pos(13), *frozen.Position)
	check(at(7, 20), 0, true, false, want{k1: lock.AccessAllowed, k2: lock.AccessAllowed})
	check(at(7, 45), 0, true, false, want{k1: lock.AccessAllowed, k2: lock.AccessUsedUp}) // a one-time code, used
	check(at(8, 0), 0, true, false, want{k1: lock.AccessAllowed, k2: lock.AccessAllowed}) // its limit raised

	// The schedule's end: 11:00 in Amsterdam.
	check(at(9, 59).Add(59*time.Second), 0, true, false, want{k1: lock.AccessAllowed, k2: lock.AccessAllowed})
	check(at(10, 0), 0, true, false, want{k1: lock.AccessOutside, k2: lock.AccessAllowed})

	check(at(10, 30), 0, true, false, want{k1: lock.AccessRevoked, k2: lock.AccessAllowed})
	removed := check(at(11, 30), 0, false, false, want{k1: lock.AccessNotRegistered, k2: lock.AccessNotRegistered})
	require.Nil(t, removed.OwnerID)
	require.Equal(t, 1, removed.Tenure)

	// Re-registered by another owner (L7): a second tenure.
	check(at(12, 10), 0, true, false, want{k1: lock.AccessRevoked, k2: lock.AccessRevoked})
	a := check(at(12, 30), 2, true, false, want{k3: lock.AccessAllowed})
	require.Equal(t, bert, *a.OwnerID)
	require.Equal(t, 2, a.Tenure)
	require.Equal(t, "Bert's front door", a.Name, "an event decided a moment behind the one before it counts with it")

	a, keys, more := tl.At(at(13, 0), time.LoadLocation, audit.KeyQuery{Limit: 2})
	require.True(t, more)
	require.Len(t, keys, 2)
	_, rest, more := tl.At(at(13, 0), time.LoadLocation, audit.KeyQuery{After: keys[1].ID, Limit: 2})
	require.False(t, more)
	require.Len(t, rest, 1)
	require.Equal(t, k3, rest[0].ID)
	require.EqualValues(t, len(history), a.Events)
	require.Equal(t, bert, *rest[0].AccountID)
}

// TestTimeline_KeyUsedOften covers SPEC H3 for a key with many versions, one per
// use: at each moment the key shows the uses counted by then, and its limit (L9)
// is reached at the use that reaches it, for a key asked beside one with a few
// versions.
func TestTimeline_KeyUsedOften(t *testing.T) {
	t.Parallel()
	at := func(min int) time.Time { return time.Date(2026, 3, 2, 9, min, 0, 0, time.UTC) }
	lockID, owner, often, rare := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	history := []es.Event{
		lock.Registered{LockID: lockID, Serial: "AS-2", OwnerID: owner, Name: "Gate", TimeZone: "UTC", RegisteredAt: at(0), FirstRegistration: true},
		lock.KeyIssued{KeyID: often, Type: lock.KeyCode, HolderName: "Courier", MaxUses: 20, IssuedBy: owner, IssuedAt: at(0)},
		lock.KeyIssued{KeyID: rare, Type: lock.KeyTag, HolderName: "Owner", IssuedBy: owner, IssuedAt: at(0)},
	}
	for i := 1; i <= 30; i++ {
		history = append(history, lock.KeyUsed{KeyID: often, Uses: i, UsedAt: at(i)})
		if i == 15 {
			history = append(history, lock.KeyUsed{KeyID: rare, Uses: 1, UsedAt: at(i)})
		}
	}
	tl := audit.NewTimeline(lockID)
	for i, e := range history {
		require.NoError(t, tl.Add(es.Envelope{Record: es.Record{Stream: lock.Stream(lockID), Revision: uint64(i), Position: es.Pos(uint64(i + 1))}, Event: e}))
	}
	for m := 0; m <= 31; m++ {
		_, keys, _ := tl.At(at(m).Add(30*time.Second), time.LoadLocation, audit.KeyQuery{})
		require.Len(t, keys, 2)
		uses := min(m, 30)
		require.Equal(t, often, keys[0].ID)
		require.Equal(t, uses, keys[0].Uses, "uses at minute %d", m)
		reason := lock.AccessAllowed
		if uses >= 20 {
			reason = lock.AccessUsedUp
		}
		require.Equal(t, reason, keys[0].Reason, "minute %d", m)
		require.Equal(t, map[bool]int{false: 0, true: 1}[m >= 15], keys[1].Uses, "the rarely used key at minute %d", m)
	}
}

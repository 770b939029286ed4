package projections_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/account"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
	"sleutel/domain/report"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// history builds envelopes as a store would: positions in order, revisions per stream.
type history struct {
	t    *testing.T
	reg  *es.Registry
	pos  uint64
	revs map[string]uint64
	envs []es.Envelope
}

func newHistory(t *testing.T) *history {
	r := es.NewRegistry()
	lock.RegisterEvents(r)
	report.RegisterEvents(r)
	account.RegisterEvents(r)
	organization.RegisterEvents(r)
	return &history{t: t, reg: r, revs: map[string]uint64{}}
}

func (h *history) add(stream string, e es.Event) es.Envelope {
	h.t.Helper()
	data, err := json.Marshal(e)
	require.NoError(h.t, err)
	h.pos++
	rev, seen := h.revs[stream]
	if seen {
		rev++
	}
	h.revs[stream] = rev
	env := es.Envelope{Record: es.Record{ID: uuid.New(), Stream: stream, Type: e.EventType(), Revision: rev, Position: es.Pos(h.pos),
		RecordedAt: time.Date(2026, 3, 1, 0, 0, int(h.pos), 0, time.UTC), Data: data, Metadata: es.Metadata{Actor: "account:x"}}, Event: e}
	h.envs = append(h.envs, env)
	return env
}

func dump(t *testing.T, kv *readstore.Store) map[string]string {
	t.Helper()
	pairs, err := kv.Scan(t.Context(), nil, nil, 1_000_000, false)
	require.NoError(t, err)
	out := map[string]string{}
	for _, p := range pairs {
		out[string(p.Key)] = string(p.Value)
	}
	return out
}

func openKV(t *testing.T) *readstore.Store {
	t.Helper()
	kv, err := readstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { kv.Close() })
	return kv
}

// TestProjectionsAreIdempotent feeds a history, then feeds it again (at-least-once
// delivery): the read models do not change. A fresh store fed once holds the same.
func TestProjectionsAreIdempotent(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	lockID, owner, holder := uuid.New(), uuid.New(), uuid.New()
	ls := lock.Stream(lockID)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	k1, k2 := uuid.New(), uuid.New()
	h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev"})
	h.add(ls, lock.KeyIssued{KeyID: k1, Type: lock.KeyTag, HolderName: "A", CredentialDigest: "d1", IssuedBy: owner, IssuedAt: t0})
	h.add(ls, lock.KeyIssued{KeyID: k2, Type: lock.KeyPhone, HolderName: "B", AccountID: holder, IssuedBy: owner, IssuedAt: t0})
	h.add(report.Stream(lockID), report.Recorded{ReportID: "r1", LockID: lockID, Type: report.Tamper, OccurredAt: t0, RecordedAt: t0})
	h.add(ls, lock.KeyRevoked{KeyID: k1, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0})
	h.add(ls, lock.Frozen{FrozenBy: owner, FrozenAt: t0})
	acc := "account-" + owner.String()
	h.add(acc, account.Registered{AccountID: owner, Username: "anna", Email: "a@example.org", PasswordHash: "h", RegisteredAt: t0})
	h.add(account.UsernameStream("anna"), account.UsernameReserved{AccountID: owner, UsernameKey: "anna"})
	h.add(acc, account.SessionStarted{SessionID: uuid.New(), TokenDigest: "tok", ExpiresAt: t0.Add(time.Hour), StartedAt: t0})

	feed := func(kv *readstore.Store, times int) {
		projs := []projections.Projection{projections.NewLockViews(kv, nil), projections.NewLockLog(kv), projections.NewAccountViews(kv, nil)}
		for range times {
			for _, env := range h.envs {
				for _, p := range projs {
					if projections.FilterOf(p).Match(env.Stream, env.Type) {
						require.NoError(t, p.Handle(context.WithoutCancel(t.Context()), env), "%s %s", p.Name(), env.Type)
					}
				}
			}
		}
	}
	once, twice := openKV(t), openKV(t)
	feed(once, 1)
	feed(twice, 2)
	require.Equal(t, dump(t, once), dump(t, twice), "a redelivered history changes nothing")

	q := projections.NewLockQueries(once)
	row, err := q.Lock(t.Context(), owner, lockID)
	require.NoError(t, err)
	require.Equal(t, 1, row.ActiveKeys, "counts are not doubled by redelivery")
	require.True(t, row.Frozen)
	_, err = q.Lock(t.Context(), holder, lockID)
	require.ErrorIs(t, err, projections.ErrLockNotFound, "E2 another account does not see the lock")
	keys, _, err := q.Keys(t.Context(), owner, lockID, projections.KeyFilter{Status: projections.KeyActive}, uuid.Nil, 50)
	require.NoError(t, err)
	require.Len(t, keys, 1)
	phones, err := q.PhoneKeys(t.Context(), holder)
	require.NoError(t, err)
	require.Len(t, phones, 1)
	log, _, err := projections.NewLockLogQueries(once, q).Events(t.Context(), owner, lockID, projections.LogFilter{}, es.Start, 50)
	require.NoError(t, err)
	require.Len(t, log, 6, "L14 five lock events and one device report")
	require.Equal(t, lock.FrozenType, log[0].Type, "newest first")
	for _, e := range log {
		require.NotContains(t, string(e.Details), "credential_digest", "digests never reach the log")
		require.NotContains(t, string(e.Details), "device_token_digest")
	}
	s, a, err := projections.NewAccountQueries(once, fixed{t0}).Session(t.Context(), "tok")
	require.NoError(t, err)
	require.Equal(t, owner, s.AccountID)
	require.Equal(t, "anna", a.Username)
	_, _, err = projections.NewAccountQueries(once, fixed{t0.Add(2 * time.Hour)}).Session(t.Context(), "tok")
	require.ErrorIs(t, err, projections.ErrSessionInvalid, "an expired session does not authenticate")
}

type fixed struct{ t time.Time }

func (f fixed) Now() time.Time { return f.t }

// TestLockLogPaging pages a long log with filters and a cursor.
func TestLockLogPaging(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	lockID, owner := uuid.New(), uuid.New()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	h.add(lock.Stream(lockID), lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev"})
	for i := range 1200 {
		h.add(report.Stream(lockID), report.Recorded{ReportID: uuid.NewString(), LockID: lockID, Type: report.AccessDenied, OccurredAt: t0.Add(time.Duration(i) * time.Minute), RecordedAt: t0})
	}
	kv := openKV(t)
	views, logp := projections.NewLockViews(kv, nil), projections.NewLockLog(kv)
	for _, env := range h.envs {
		require.NoError(t, logp.Handle(t.Context(), env))
		if env.Stream == lock.Stream(lockID) {
			require.NoError(t, views.Handle(t.Context(), env))
		}
	}
	q := projections.NewLockLogQueries(kv, projections.NewLockQueries(kv))
	var seen int
	cursor := es.Start
	var last es.Position
	for {
		page, next, err := q.Events(t.Context(), owner, lockID, projections.LogFilter{Types: []string{report.RecordedType}}, cursor, 100)
		require.NoError(t, err)
		for _, e := range page {
			if !last.IsZero() {
				require.True(t, e.Position.Less(last), "newest first, no repeats")
			}
			last = e.Position
			seen++
		}
		if next.IsZero() {
			break
		}
		cursor = next
	}
	require.Equal(t, 1200, seen, "paging neither skips nor repeats")
	window, _, err := q.Events(t.Context(), owner, lockID, projections.LogFilter{Since: t0.Add(10 * time.Minute), Until: t0.Add(20 * time.Minute)}, es.Start, 100)
	require.NoError(t, err)
	require.Len(t, window, 10, "L14 filtered by time")
}

// TestSessionCache checks that a cached session stops authenticating the moment
// the projection applies its end.
func TestSessionCache(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	owner, sid := uuid.New(), uuid.New()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	acc := "account-" + owner.String()
	kv := openKV(t)
	q := projections.NewAccountQueries(kv, fixed{t0})
	p := projections.NewAccountViews(kv, q)
	for _, env := range []es.Envelope{
		h.add(acc, account.Registered{AccountID: owner, Username: "anna", Email: "a@example.org", PasswordHash: "h", RegisteredAt: t0}),
		h.add(acc, account.SessionStarted{SessionID: sid, TokenDigest: "tok", ExpiresAt: t0.Add(time.Hour), StartedAt: t0}),
	} {
		require.NoError(t, p.Handle(t.Context(), env))
	}
	_, a, err := q.Session(t.Context(), "tok")
	require.NoError(t, err)
	require.Empty(t, a.Roles)
	require.NoError(t, p.Handle(t.Context(), h.add(acc, account.SessionEnded{SessionID: sid, EndedAt: t0})))
	_, _, err = q.Session(t.Context(), "tok")
	require.ErrorIs(t, err, projections.ErrSessionInvalid, "an ended session no longer authenticates, cached or not")
}

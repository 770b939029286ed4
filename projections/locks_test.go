package projections_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
	"sleutel/domain/report"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// TestLockViewsRemembersKeys: the key rows LockViews remembers between events
// give the rows a projection reading every key from the store gives (one started
// afresh for each event, as after a restart), byte for byte.
func TestLockViewsRemembersKeys(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	lockID, owner, holder := uuid.New(), uuid.New(), uuid.New()
	ls := lock.Stream(lockID)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	from, until := t0.Add(time.Hour), t0.AddDate(0, 1, 0)
	sched := lock.Schedule{{Days: []time.Weekday{time.Monday, time.Friday}, From: 8 * 60, Until: 17 * 60}}
	h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev"})
	keys := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	h.add(ls, lock.KeyIssued{KeyID: keys[0], Type: lock.KeyCode, HolderName: "A", CredentialDigest: "d1", MaxUses: 3, IssuedBy: owner, IssuedAt: t0})
	h.add(ls, lock.KeyIssued{KeyID: keys[1], Type: lock.KeyPhone, HolderName: "B", AccountID: holder, ValidFrom: &from, Schedule: sched, IssuedBy: owner, IssuedAt: t0})
	h.add(ls, lock.KeyUsed{KeyID: keys[0], Uses: 1, UsedAt: t0})
	h.add(ls, lock.KeyChanged{KeyID: keys[1], HolderName: "B2", ValidUntil: &until, Schedule: sched, MaxUses: 9, ChangedBy: owner, ChangedAt: t0.Add(time.Minute)})
	h.add(ls, lock.KeyUsed{KeyID: keys[0], Uses: 2, UsedAt: t0})
	h.add(ls, lock.KeyIssued{KeyID: keys[2], Type: lock.KeyTag, HolderName: "C", CredentialDigest: "d3", IssuedBy: owner, IssuedAt: t0})
	h.add(ls, lock.KeyChanged{KeyID: keys[1], HolderName: "B3", ChangedBy: owner, ChangedAt: t0.Add(2 * time.Minute)})
	h.add(ls, lock.KeyRevoked{KeyID: keys[1], Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0.Add(3 * time.Minute)})
	h.add(ls, lock.KeyUsed{KeyID: keys[0], Uses: 3, UsedAt: t0})
	h.add(ls, lock.KeyChanged{KeyID: keys[2], HolderName: "C2", ValidFrom: &from, ChangedBy: owner, ChangedAt: t0.Add(4 * time.Minute)})
	h.add(ls, lock.KeyRevoked{KeyID: keys[2], Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0.Add(5 * time.Minute)})

	remembering := requireRemembersAsAfresh(t, h.envs, func(kv projections.KV) projections.Projection { return projections.NewLockViews(kv, nil) })
	q := projections.NewLockQueries(remembering)
	k, err := q.AnyKey(t.Context(), lockID, keys[1])
	require.NoError(t, err)
	require.Equal(t, "B3", k.HolderName)
	require.Equal(t, projections.KeyRevoked, k.Status)
	phones, err := q.PhoneKeys(t.Context(), holder)
	require.NoError(t, err)
	require.Empty(t, phones, "a revoked phone key leaves its holder's index")
}

// TestLockLogRemembers: what LockLog remembers of each lock (its streams'
// revisions, its tenure) gives the rows a projection reading them from the store
// gives (one started afresh for each event), redelivered events included.
func TestLockLogRemembers(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	lockID, owner, other := uuid.New(), uuid.New(), uuid.New()
	ls, rs := lock.Stream(lockID), report.Stream(lockID)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	k := uuid.New()
	h.add(rs, report.Recorded{ReportID: "early", LockID: lockID, Type: report.Tamper, OccurredAt: t0, RecordedAt: t0})
	h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev"})
	h.add(ls, lock.KeyIssued{KeyID: k, Type: lock.KeyTag, HolderName: "A", CredentialDigest: "d1", IssuedBy: owner, IssuedAt: t0})
	h.add(rs, report.Recorded{ReportID: "r1", LockID: lockID, Type: report.AccessGranted, KeyID: k, OccurredAt: t0, RecordedAt: t0})
	h.add(ls, lock.Removed{OwnerID: owner, RemovedAt: t0})
	h.add(rs, report.Recorded{ReportID: "r2", LockID: lockID, Type: report.Tamper, OccurredAt: t0, RecordedAt: t0})
	h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: other, Name: "Gate", TimeZone: "UTC", RegisteredAt: t0, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev2"})
	h.add(rs, report.Recorded{ReportID: "r3", LockID: lockID, Type: report.Battery, OccurredAt: t0, RecordedAt: t0})
	envs := append(slices.Clone(h.envs), h.envs[3], h.envs[6], h.envs[1]) // redelivered

	remembering := requireRemembersAsAfresh(t, envs, func(kv projections.KV) projections.Projection { return projections.NewLockLog(kv) })
	require.Len(t, dump(t, remembering), 2+1+8, "two revision markers, the tenure, an entry an event")
}

// TestOrganizationViewsRemembers: the revisions OrganizationViews remembers of each
// stream give the rows a projection reading the markers from the store gives (one
// started afresh for each event), redelivered events included.
func TestOrganizationViewsRemembers(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	lockID, orgID, owner := uuid.New(), uuid.New(), uuid.New()
	ls, os := lock.Stream(lockID), organization.Stream(orgID)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	h.add(os, organization.Created{OrganizationID: orgID, Name: "Woonstad", CreatedBy: owner, Management: true, CreatedAt: t0})
	h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev"})
	h.add(ls, lock.OrganizationKeyIssued{OrganizationID: orgID, Quota: 5, IssuedBy: owner, IssuedAt: t0})
	h.add(ls, lock.Frozen{FrozenBy: owner, FrozenAt: t0})
	h.add(ls, lock.OrganizationKeyRevoked{OrganizationID: orgID, RevokedBy: owner, RevokedAt: t0})
	envs := append(slices.Clone(h.envs), h.envs[2], h.envs[0], h.envs[4]) // redelivered

	remembering := requireRemembersAsAfresh(t, envs, func(kv projections.KV) projections.Projection { return projections.NewOrganizationViews(kv) })
	rows := dump(t, remembering)
	require.Contains(t, rows, "organization_views_v2/rev/"+ls, "the lock's marker")
	require.Contains(t, rows, "organization_views_v2/rev/"+os, "the organization's")
	require.Contains(t, rows, "organization_views_v2/org/"+orgID.String())
}

// requireRemembersAsAfresh applies envs with one projection made by newP, which
// remembers what it wrote between events, and with a new one for each event, as
// after a restart: after every event both stores hold the same rows, byte for
// byte. It returns the first store.
func requireRemembersAsAfresh(t *testing.T, envs []es.Envelope, newP func(projections.KV) projections.Projection) *readstore.Store {
	t.Helper()
	remembering, afresh := openKV(t), openKV(t)
	p := newP(remembering)
	for _, env := range envs {
		require.NoError(t, p.Handle(t.Context(), env))
		require.NoError(t, newP(afresh).Handle(t.Context(), env))
		require.Equal(t, dump(t, afresh), dump(t, remembering), "after %s/%d %s", env.Stream, env.Revision, env.Type)
	}
	return remembering
}

// deferringKV is a store that takes revision markers at the end of a buffer, as
// a replay's write-back buffer does (projections.MarkerDeferrer): end writes them.
type deferringKV struct {
	*readstore.Store
	flushes []func(projections.Batch) error
}

func (k *deferringKV) DeferMarkers(flush func(projections.Batch) error) {
	k.flushes = append(k.flushes, flush)
}

func (k *deferringKV) end(t *testing.T) {
	t.Helper()
	for _, f := range k.flushes {
		require.NoError(t, k.Write(t.Context(), f))
	}
}

// TestDeferredMarkers: a projection that leaves its revision markers to its KV's
// end (H2, as a replay runs the lock log, lock views and organization views)
// holds, each time the KV ends, the rows of one writing each marker with its
// event: at every event, now and then, or once, and for a projection that forgets
// the streams it saw (then noting a stream twice) too.
func TestDeferredMarkers(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	orgID, owner := uuid.New(), uuid.New()
	h.add(organization.Stream(orgID), organization.Created{OrganizationID: orgID, Name: "Woonstad", CreatedBy: owner, Management: true, CreatedAt: t0})
	var locks []uuid.UUID
	for i := range 3 {
		id := uuid.New()
		locks = append(locks, id)
		h.add(lock.Stream(id), lock.Registered{LockID: id, Serial: "FX-" + string(rune('1'+i)), OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0,
			FirstRegistration: true, TrialEndsAt: t0.AddDate(0, 3, 0), KeyAllowance: 25, DeviceTokenDigest: "dev"})
	}
	h.add(lock.Stream(locks[1]), lock.OrganizationKeyIssued{OrganizationID: orgID, Quota: 5, IssuedBy: owner, IssuedAt: t0})
	for i := range 30 {
		id := locks[i*7%3]
		switch i % 4 {
		case 0:
			h.add(lock.Stream(id), lock.Frozen{FrozenBy: owner, FrozenAt: t0})
		case 1:
			h.add(lock.Stream(id), lock.KeyIssued{KeyID: uuid.New(), Type: lock.KeyTag, HolderName: "A", CredentialDigest: "d", IssuedBy: owner, IssuedAt: t0})
		default:
			h.add(report.Stream(id), report.Recorded{ReportID: "r" + string(rune('a'+i)), LockID: id, Type: report.Tamper, OccurredAt: t0, RecordedAt: t0})
		}
	}
	for name, newP := range map[string]func(projections.KV) projections.Projection{
		"lock log":           func(kv projections.KV) projections.Projection { return projections.NewLockLog(kv) },
		"lock views":         func(kv projections.KV) projections.Projection { return projections.NewLockViews(kv, nil) },
		"organization views": func(kv projections.KV) projections.Projection { return projections.NewOrganizationViews(kv) },
	} {
		for _, c := range []struct{ every, remember int }{{1, 100}, {4, 100}, {7, 1}, {len(h.envs), 2}} {
			plain, deferring := openKV(t), &deferringKV{Store: openKV(t)}
			p, d := newP(plain), newP(deferring)
			projections.ForgetPast(d, c.remember)
			require.Len(t, deferring.flushes, 1, name)
			filter := projections.FilterOf(p) // as the platform feeds it
			for i, env := range h.envs {
				if filter.Match(env.Stream, env.Type) {
					require.NoError(t, p.Handle(t.Context(), env))
					require.NoError(t, d.Handle(t.Context(), env))
				}
				if (i+1)%c.every == 0 || i == len(h.envs)-1 {
					deferring.end(t)
					require.Equal(t, dump(t, plain), dump(t, deferring.Store), "%s, ended every %d events, %d streams remembered, after %s/%d", name, c.every, c.remember, env.Stream, env.Revision)
				}
			}
		}
	}
}

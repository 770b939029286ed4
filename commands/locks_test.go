package commands_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/infra/pebblestore"
)

// hmacSecrets is a keyring for tests: the same construction as infra/secret with
// a fixed key.
type hmacSecrets struct{ key []byte }

func (s hmacSecrets) mac(parts ...string) []byte {
	m := hmac.New(sha256.New, s.key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}
func (s hmacSecrets) CredentialDigest(lockID uuid.UUID, t, n string) string {
	return hex.EncodeToString(s.mac("cred", lockID.String(), t, n))
}
func (s hmacSecrets) Derive(purpose string, parts ...string) []byte {
	return s.mac(append([]string{"derive", purpose}, parts...)...)
}
func (s hmacSecrets) PhoneCredential(keyID uuid.UUID) string {
	return hex.EncodeToString(s.mac("phone", keyID.String()))
}

func digest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type fixedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fixedClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type accountsStub map[uuid.UUID]bool

func (a accountsStub) AccountExists(_ context.Context, id uuid.UUID) (bool, error) { return a[id], nil }

type harness struct {
	store    *pebblestore.Store
	registry *es.Registry
	clock    *fixedClock
	locks    *commands.Locks
	secrets  hmacSecrets
}

func newHarness(t testing.TB, accounts ...uuid.UUID) *harness {
	t.Helper()
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	r := es.NewRegistry()
	lock.RegisterEvents(r)
	report.RegisterEvents(r)
	known := accountsStub{}
	for _, a := range accounts {
		known[a] = true
	}
	h := &harness{store: s, registry: r, clock: &fixedClock{now: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)}, secrets: hmacSecrets{key: []byte("test key")}}
	h.locks = commands.NewLocks(commands.LocksConfig{Store: s, Registry: r, Accounts: known, Secrets: h.secrets, Digest: digest,
		Locations: time.LoadLocation, Clock: h.clock, Rand: rand.Reader})
	return h
}

// stored returns the types of the events stored in stream.
func (h *harness) stored(t *testing.T, stream string) []string {
	t.Helper()
	recs, err := h.store.ReadStream(t.Context(), stream, 0, 100_000)
	require.NoError(t, err)
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Type
	}
	return out
}

func meta(account uuid.UUID, key string) commands.Meta {
	return commands.AccountMeta(account, uuid.NewString(), key)
}

func TestRegisterLock(t *testing.T) {
	t.Parallel()
	owner, other := uuid.New(), uuid.New()
	h := newHarness(t)
	ctx := t.Context()
	reg, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: " fx-100 ", Name: "Front", TimeZone: "Europe/Amsterdam"})
	require.NoError(t, err)
	require.NotEmpty(t, reg.DeviceToken)
	require.Equal(t, []string{lock.RegisteredType}, h.stored(t, lock.Stream(reg.LockID)))
	require.Equal(t, []string{lock.SerialAssignedType}, h.stored(t, lock.SerialStream("FX-100")), "L1 the serial is reserved")

	_, err = h.locks.RegisterLock(ctx, other, meta(other, ""), commands.RegisterLock{Serial: "FX-100", Name: "Mine", TimeZone: "UTC"})
	require.Equal(t, domain.EConflict, domain.ErrorCode(err), "L1 a registered lock cannot be registered by anyone else")

	_, err = h.locks.RemoveLock(ctx, owner, reg.LockID, meta(owner, ""))
	require.NoError(t, err)
	h.clock.advance(200 * 24 * time.Hour)
	again, err := h.locks.RegisterLock(ctx, other, meta(other, ""), commands.RegisterLock{Serial: "FX-100", Name: "Mine", TimeZone: "UTC"})
	require.NoError(t, err)
	require.Equal(t, reg.LockID, again.LockID, "L7 the same lock comes back")
	_, err = h.locks.IssueKey(ctx, other, meta(other, ""), commands.IssueKey{LockID: reg.LockID, Type: "code", Terms: lock.KeyTerms{HolderName: "x"}})
	require.Equal(t, domain.EManagementInactive, domain.ErrorCode(err), "L7 no new trial: the first trial ended long ago")

	for _, bad := range []commands.RegisterLock{{Serial: "x", Name: "n", TimeZone: "UTC"}, {Serial: "FX-9", Name: "n", TimeZone: "Mars/Olympus"}, {Serial: "FX-9", Name: "", TimeZone: "UTC"}} {
		_, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), bad)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "%+v", bad)
	}
}

func TestRegisterLockConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := uuid.New()
			_, err := h.locks.RegisterLock(t.Context(), a, meta(a, ""), commands.RegisterLock{Serial: "FX-RACE", Name: "n", TimeZone: "UTC"})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				require.Equal(t, domain.EConflict, domain.ErrorCode(err), "%v", err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, wins, "L1 exactly one account registers a new serial")
}

func TestIdempotentRegistrationAndIssue(t *testing.T) {
	t.Parallel()
	owner := uuid.New()
	h := newHarness(t)
	ctx := t.Context()
	m := meta(owner, "reg-1")
	first, err := h.locks.RegisterLock(ctx, owner, m, commands.RegisterLock{Serial: "FX-200", Name: "Front", TimeZone: "UTC"})
	require.NoError(t, err)
	again, err := h.locks.RegisterLock(ctx, owner, m, commands.RegisterLock{Serial: "FX-200", Name: "Front", TimeZone: "UTC"})
	require.NoError(t, err, "a retried registration succeeds")
	require.True(t, again.Replayed)
	require.Equal(t, first.LockID, again.LockID)
	require.Equal(t, first.DeviceToken, again.DeviceToken, "the same device token comes back")
	require.Len(t, h.stored(t, lock.Stream(first.LockID)), 1, "nothing new is appended")

	im := meta(owner, "key-1")
	k1, err := h.locks.IssueKey(ctx, owner, im, commands.IssueKey{LockID: first.LockID, Type: "code", Terms: lock.KeyTerms{HolderName: "Cleaner"}})
	require.NoError(t, err)
	require.Len(t, k1.PIN, commands.PINDigits, "L9 a PIN is generated when none is given")
	k2, err := h.locks.IssueKey(ctx, owner, im, commands.IssueKey{LockID: first.LockID, Type: "code", Terms: lock.KeyTerms{HolderName: "Cleaner"}})
	require.NoError(t, err)
	require.Equal(t, k1.KeyID, k2.KeyID)
	require.Equal(t, k1.PIN, k2.PIN, "a retried issue returns the same PIN")
	require.Len(t, h.stored(t, lock.Stream(first.LockID)), 2)
}

func TestIssueKeys(t *testing.T) {
	t.Parallel()
	owner, holder := uuid.New(), uuid.New()
	h := newHarness(t, holder)
	ctx := t.Context()
	reg, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-300", Name: "Front", TimeZone: "UTC"})
	require.NoError(t, err)
	issue := func(by uuid.UUID, c commands.IssueKey) error {
		c.LockID = reg.LockID
		if c.Terms.HolderName == "" {
			c.Terms.HolderName = "Holder"
		}
		_, err := h.locks.IssueKey(ctx, by, meta(by, ""), c)
		return err
	}
	require.NoError(t, issue(owner, commands.IssueKey{Type: "tag", Credential: "04:A2:1B:FF"}))
	require.Equal(t, domain.EConflict, domain.ErrorCode(issue(owner, commands.IssueKey{Type: "tag", Credential: "04a21bff"})), "L9 tag UIDs are unique, normalized")
	require.NoError(t, issue(owner, commands.IssueKey{Type: "code", Credential: "1234"}))
	require.Equal(t, domain.EConflict, domain.ErrorCode(issue(owner, commands.IssueKey{Type: "code", Credential: "1234"})), "L9 PINs are unique among active codes")
	require.Equal(t, domain.EInvalid, domain.ErrorCode(issue(owner, commands.IssueKey{Type: "code", Credential: "12"})), "L9 a PIN has 4 to 10 digits")
	require.NoError(t, issue(owner, commands.IssueKey{Type: "phone", AccountID: holder}))
	require.Equal(t, domain.EInvalid, domain.ErrorCode(issue(owner, commands.IssueKey{Type: "phone", AccountID: uuid.New()})), "a phone key for no account")
	require.Equal(t, domain.EInvalid, domain.ErrorCode(issue(owner, commands.IssueKey{Type: "laser"})))
	require.Equal(t, domain.ENotFound, domain.ErrorCode(issue(uuid.New(), commands.IssueKey{Type: "tag", Credential: "ABCD1234"})), "E2 a stranger sees no lock")

	for i := 3; i < lock.InitialKeyAllowance; i++ {
		require.NoError(t, issue(owner, commands.IssueKey{Type: "code"}))
	}
	require.Equal(t, domain.EKeyLimitReached, domain.ErrorCode(issue(owner, commands.IssueKey{Type: "code"})), "L8 the allowance is 25")
}

func TestReplaceLock(t *testing.T) {
	t.Parallel()
	owner, other := uuid.New(), uuid.New()
	h := newHarness(t)
	ctx := t.Context()
	a, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-400", Name: "A", TimeZone: "UTC"})
	require.NoError(t, err)
	_, err = h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-401", Name: "B", TimeZone: "UTC"})
	require.NoError(t, err)
	_, err = h.locks.ReplaceLock(ctx, owner, a.LockID, meta(owner, ""), "FX-401")
	require.Equal(t, domain.EConflict, domain.ErrorCode(err), "L17 the new serial must never have been registered")
	_, err = h.locks.ReplaceLock(ctx, other, a.LockID, meta(other, ""), "FX-402")
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err), "E2 a stranger cannot replace")
	_, err = h.locks.ReplaceLock(ctx, owner, a.LockID, meta(owner, ""), "FX-402")
	require.NoError(t, err)
	require.Equal(t, []string{lock.SerialAssignedType, lock.SerialRetiredType}, h.stored(t, lock.SerialStream("FX-400")))
	_, err = h.locks.RemoveLock(ctx, owner, a.LockID, meta(owner, ""))
	require.NoError(t, err)
	_, err = h.locks.RegisterLock(ctx, other, meta(other, ""), commands.RegisterLock{Serial: "FX-400", Name: "Old", TimeZone: "UTC"})
	require.Equal(t, domain.EConflict, domain.ErrorCode(err), "L17 the old serial can never be registered again")
	again, err := h.locks.RegisterLock(ctx, other, meta(other, ""), commands.RegisterLock{Serial: "FX-402", Name: "New", TimeZone: "UTC"})
	require.NoError(t, err, "the new serial registers the same lock")
	require.Equal(t, a.LockID, again.LockID)
}

// TestRepositoryRetriesOnConflict injects a concurrent append behind the cache's
// back: the repository catches up and decides again.
func TestRepositoryRetriesOnConflict(t *testing.T) {
	t.Parallel()
	owner := uuid.New()
	h := newHarness(t)
	ctx := t.Context()
	reg, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-500", Name: "A", TimeZone: "UTC"})
	require.NoError(t, err)
	// Another node freezes the lock: the cached aggregate does not know.
	data, err := h.registry.Encode(uuid.New(), lock.Frozen{FrozenBy: owner, FrozenAt: h.clock.Now()}, es.Metadata{Actor: "system:test"})
	require.NoError(t, err)
	frozen, err := h.store.Append(ctx, lock.Stream(reg.LockID), es.Exact(0), data)
	require.NoError(t, err)
	res, err := h.locks.Freeze(ctx, owner, reg.LockID, meta(owner, ""))
	require.NoError(t, err, "the conflict is retried on fresh state")
	require.Equal(t, frozen.Position, res.Position, "the retry saw the lock frozen already, appended nothing, and answers with the stream's last position")
	require.Equal(t, []string{lock.RegisteredType, lock.FrozenType}, h.stored(t, lock.Stream(reg.LockID)))
}

func TestDeviceReports(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	lockID := uuid.New()
	at := h.clock.Now().Add(-time.Hour)
	batch := []report.Report{{ID: "a", Type: report.Tamper, OccurredAt: at}, {ID: "b", Type: report.AccessDenied, OccurredAt: at}}
	_, err := h.locks.ReportDeviceEvents(t.Context(), lockID, batch)
	require.NoError(t, err)
	_, err = h.locks.ReportDeviceEvents(t.Context(), lockID, batch)
	require.NoError(t, err)
	require.Len(t, h.stored(t, report.Stream(lockID)), 2, "D2 repeated reports are recorded once")
}

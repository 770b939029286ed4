package commands_test

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/projections"
)

// plainPasswords hashes with a fast keyed hash: the tests are about the command
// logic, and infra/secret's argon2id has tests of its own.
type plainPasswords struct{ s hmacSecrets }

func (p plainPasswords) Hash(_ context.Context, pw string) (string, error) {
	return hex.EncodeToString(p.s.Derive("pw", pw)), nil // text: it goes through JSON
}
func (p plainPasswords) Verify(_ context.Context, pw, hash string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(p.s.Derive("pw", pw))), []byte(hash)) == 1, nil
}
func (p plainPasswords) Dummy(context.Context, string) error { return nil }

func newAccounts(h *harness) *commands.Accounts {
	account.RegisterEvents(h.registry)
	return commands.NewAccounts(commands.AccountsConfig{Store: h.store, Registry: h.registry, Passwords: plainPasswords{h.secrets},
		UsernameKey: commands.DefaultUsernameKey, Digest: digest, Secrets: h.secrets, Clock: h.clock, Rand: rand.Reader})
}

func TestSignUpAndLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := newAccounts(h)
	ctx := t.Context()
	up, err := a.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: " Anna ", Email: "anna@Example.org", Password: "correct horse battery"})
	require.NoError(t, err)
	require.Equal(t, "Anna", up.Username, "A1 trimmed")
	_, err = a.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: "ANNA", Email: "x@example.org", Password: "correct horse battery"})
	require.Equal(t, domain.EConflict, domain.ErrorCode(err), "A1 matched case-insensitively")

	in, err := a.Login(ctx, commands.Meta{}, "anna", "correct horse battery")
	require.NoError(t, err)
	require.NotEmpty(t, in.Token)
	require.Equal(t, up.AccountID, in.AccountID)
	_, err = a.Login(ctx, commands.Meta{}, "anna", "Correct horse battery")
	require.Equal(t, domain.EUnauthorized, domain.ErrorCode(err), "A2 passwords are case-sensitive")
	_, err = a.Login(ctx, commands.Meta{}, "nobody", "correct horse battery")
	require.Equal(t, domain.EUnauthorized, domain.ErrorCode(err), "an unknown user gets the same answer")
	require.Equal(t, domain.ErrorMessage(account.ErrWrongCredentials), domain.ErrorMessage(err))
}

// TestLockoutUnderConcurrency covers A3 as the accounts issue asks: 50 simultaneous
// wrong guesses lock the account, a right guess racing them never resets a lock
// already set, and a later right guess is refused while the lock lasts.
func TestLockoutUnderConcurrency(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := newAccounts(h)
	ctx := t.Context()
	_, err := a.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: "bert", Email: "bert@example.org", Password: "correct horse battery"})
	require.NoError(t, err)

	errs := loginConcurrently(ctx, a, "bert", 51, 25)
	for i, err := range errs {
		if i == 25 && err == nil {
			continue // the right guess came before the fourth failure: allowed
		}
		require.Error(t, err, "guess %d", i)
	}

	_, err = a.Login(ctx, commands.Meta{}, "bert", "correct horse battery")
	var lo *account.LockedOutError
	require.ErrorAs(t, err, &lo, "A3 the right password is refused during the lock")
	require.WithinDuration(t, h.clock.Now().Add(30*time.Minute), lo.LockedUntil, time.Minute, "A3 locked for 30 minutes")
	recs, err := h.store.ReadStream(ctx, "account-"+mustAccountID(t, a, "bert").String(), 0, 1000)
	require.NoError(t, err)
	locks := 0
	for _, r := range recs {
		if r.Type == account.LockedOutType {
			locks++
		}
	}
	require.Equal(t, 1, locks, "A3 the lock is set once, and never reset by a racing right guess")

	h.clock.advance(31 * time.Minute)
	_, err = a.Login(ctx, commands.Meta{}, "bert", "correct horse battery")
	require.NoError(t, err, "A3 after 30 minutes the right password works")
}

// TestLockoutHoldsAgainstRacingRightGuesses: once the lock is set (A3), 50
// simultaneous guesses, ten of them right, are all refused with the lock's end,
// and none of them resets or moves the lock.
func TestLockoutHoldsAgainstRacingRightGuesses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := newAccounts(h)
	ctx := t.Context()
	_, err := a.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: "bea", Email: "bea@example.org", Password: "correct horse battery"})
	require.NoError(t, err)
	for range 4 {
		_, err := a.Login(ctx, commands.Meta{}, "bea", "wrong password!")
		require.Error(t, err)
	}
	var lo *account.LockedOutError
	_, err = a.Login(ctx, commands.Meta{}, "bea", "correct horse battery")
	require.ErrorAs(t, err, &lo, "A3 the fourth failure locked the account")
	until := lo.LockedUntil
	h.clock.advance(time.Minute)
	errs := loginConcurrently(ctx, a, "bea", 50, 0, 5, 10, 15, 20, 25, 30, 35, 40, 45)
	for i, err := range errs {
		var got *account.LockedOutError
		require.ErrorAs(t, err, &got, "A3 guess %d during the lock is refused as locked out", i)
		require.Equal(t, until, got.LockedUntil, "A3 guess %d does not move the lock", i)
	}
	recs, err := h.store.ReadStream(ctx, "account-"+mustAccountID(t, a, "bea").String(), 0, 1000)
	require.NoError(t, err)
	for _, r := range recs {
		require.NotEqual(t, account.SessionStartedType, r.Type, "A3 no session starts during the lock")
	}
	h.clock.advance(29 * time.Minute)
	_, err = a.Login(ctx, commands.Meta{}, "bea", "correct horse battery")
	require.NoError(t, err, "A3 at the lock's end the right password works")
}

// loginConcurrently starts n logins at once, the ones at index right with the right
// password ("correct horse battery"), and returns each one's error by index.
func loginConcurrently(ctx context.Context, a *commands.Accounts, username string, n int, right ...int) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			pw := "wrong password!"
			if slices.Contains(right, i) {
				pw = "correct horse battery"
			}
			_, errs[i] = a.Login(ctx, commands.Meta{}, username, pw)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func mustAccountID(t *testing.T, a *commands.Accounts, username string) uuid.UUID {
	t.Helper()
	id, ok, err := a.Holder(t.Context(), username)
	require.NoError(t, err)
	require.True(t, ok, "%s has an account", username)
	return id
}

// TestRedemption covers P2 (one winner of two concurrent redemptions) and P3 (a
// crash between consuming the code and granting its benefit is completed by the
// process manager).
func TestRedemption(t *testing.T) {
	t.Parallel()
	owner := uuid.New()
	h := newHarness(t)
	code.RegisterEvents(h.registry)
	ctx := t.Context()
	codes := commands.NewCodes(h.store, h.registry, h.locks.LockRepository(), h.secrets, h.clock, rand.Reader)
	issued, err := codes.IssueCodes(ctx, uuid.New(), true, commands.Meta{}, "management-5y", 3)
	require.NoError(t, err)
	require.Len(t, issued.Codes, 3)
	_, err = codes.IssueCodes(ctx, uuid.New(), false, commands.Meta{}, "management-5y", 1)
	require.Equal(t, domain.EForbidden, domain.ErrorCode(err), "only the operator issues codes")

	lockA, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-P2", Name: "A", TimeZone: "UTC"})
	require.NoError(t, err)
	lockB, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-P2B", Name: "B", TimeZone: "UTC"})
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, l := range []uuid.UUID{lockA.LockID, lockB.LockID} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = codes.RedeemOnLock(ctx, owner, l, meta(owner, ""), issued.Codes[0])
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			require.Equal(t, domain.ECodeInvalid, domain.ErrorCode(err), "P2 the loser is told the code is used")
		}
	}
	require.Equal(t, 1, wins, "P2 exactly one of two concurrent redemptions wins")

	// P3: consume a code, then "crash" before the lock gets its benefit.
	lockC, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "FX-P3", Name: "C", TimeZone: "UTC"})
	require.NoError(t, err)
	lockB = lockC
	codes.FailAfterConsume(errors.New("injected crash"))
	_, err = codes.RedeemOnLock(ctx, owner, lockB.LockID, meta(owner, ""), issued.Codes[1])
	require.Error(t, err)
	_, paidBefore := periods(t, h, lockB.LockID)
	require.True(t, paidBefore.IsZero(), "the benefit was not granted before the crash")

	// On restart the process manager reads the log and completes the redemption.
	restarted := commands.NewCodes(h.store, h.registry, commands.NewLocks(commands.LocksConfig{Store: h.store, Registry: h.registry,
		Accounts: accountsStub{}, Secrets: h.secrets, Digest: digest, Locations: time.LoadLocation, Clock: h.clock, Rand: rand.Reader}).LockRepository(),
		h.secrets, h.clock, rand.Reader)
	pm := projections.NewRedemptions(restarted)
	all, err := h.store.ReadAll(ctx, es.Start, 100_000)
	require.NoError(t, err)
	for _, rec := range all {
		env, err := h.registry.Envelope(rec)
		require.NoError(t, err)
		require.NoError(t, pm.Handle(ctx, env))
		require.NoError(t, pm.Handle(ctx, env), "the process manager is idempotent")
	}
	h.locks.LockRepository().Forget(lock.Stream(lockB.LockID))
	_, paidAfter := periods(t, h, lockB.LockID)
	require.False(t, paidAfter.IsZero(), "P3 a consumed code always yields its benefit")
	var granted int
	recs, err := h.store.ReadStream(ctx, lock.Stream(lockB.LockID), 0, 100)
	require.NoError(t, err)
	for _, r := range recs {
		if r.Type == lock.ManagementExtendedType {
			granted++
		}
	}
	require.Equal(t, 1, granted, "granted once, however often the process manager sees the event")
}

func periods(t *testing.T, h *harness, id uuid.UUID) (trial, paid time.Time) {
	t.Helper()
	require.NoError(t, h.locks.LockRepository().Read(t.Context(), lock.Stream(id), func(l *lock.Lock) error {
		trial, paid, _ = l.Periods()
		return nil
	}))
	return trial, paid
}

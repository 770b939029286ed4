package code_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/code"
	"sleutel/domain/es"
)

func mustProduct(t *testing.T, s string) code.Product {
	t.Helper()
	p, err := code.ParseProduct(s)
	require.NoError(t, err)
	return p
}

func TestIssue_P1(t *testing.T) {
	t.Parallel()
	id, batch, operator := code.StreamID(example), uuid.New(), uuid.New()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	keys := mustProduct(t, "keys-50")
	tests := []struct {
		name     string
		id       uuid.UUID
		product  code.Product
		batch    uuid.UUID
		issuedBy uuid.UUID
		then     []es.Event
		wantCode string
	}{
		{"P1 operator issues a code in a batch, time in UTC", id, keys, batch, operator,
			[]es.Event{code.Issued{CodeID: id, Product: keys, BatchID: batch, IssuedBy: operator, IssuedAt: t0.UTC()}}, ""},
		{"P1 a code needs an id", uuid.Nil, keys, batch, operator, nil, domain.EInvalid},
		{"P1 a code needs a product", id, code.Product{}, batch, operator, nil, domain.EInvalid},
		{"P1 a code needs a batch", id, keys, uuid.Nil, operator, nil, domain.EInvalid},
		{"P1 a code needs its issuer", id, keys, batch, uuid.Nil, nil, domain.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := code.Issue(tt.id, tt.product, tt.batch, tt.issuedBy, t0) // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err))               // then
			if err != nil {
				require.Nil(t, c)
				return
			}
			require.Equal(t, tt.then, c.Changes())
			require.Equal(t, uint64(0), c.Version(), "a new code has no stored events")
			require.Equal(t, tt.id, c.ID())
			require.Equal(t, tt.product, c.Product())
			require.Equal(t, tt.batch, c.BatchID())
			require.Equal(t, tt.issuedBy, c.IssuedBy())
			require.Equal(t, t0.UTC(), c.IssuedAt())
			require.True(t, c.Issued())
			require.False(t, c.Redeemed())
		})
	}
}

func TestCode_Redeem(t *testing.T) {
	t.Parallel()
	id, batch, operator := code.StreamID(example), uuid.New(), uuid.New()
	owner, stranger, lock, account := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	redemption, other := uuid.New(), uuid.New()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t1 := t0.Add(48 * time.Hour)
	management, orgMgmt, keys := mustProduct(t, "management-5y"), mustProduct(t, "organization-management"), mustProduct(t, "keys-250")
	issued := func(p code.Product) code.Issued {
		return code.Issued{CodeID: id, Product: p, BatchID: batch, IssuedBy: operator, IssuedAt: t0}
	}
	redeemedOnLock := func(p code.Product) code.Redeemed {
		return code.Redeemed{CodeID: id, Product: p, RedemptionID: redemption, LockID: lock, RedeemedBy: owner, RedeemedAt: t1}
	}
	redeemedOnAccount := code.Redeemed{CodeID: id, Product: orgMgmt, RedemptionID: redemption, AccountID: account, RedeemedBy: owner, RedeemedAt: t1}
	redeem := func(target code.Target, rid, by uuid.UUID) func(*code.Code) error {
		return func(c *code.Code) error { return c.Redeem(target, rid, by, t1.In(time.FixedZone("CEST", 7200))) }
	}
	tests := []struct {
		name    string
		given   []es.Event
		when    func(*code.Code) error
		then    []es.Event
		wantErr error
	}{
		{"P2 management code is redeemed on a lock", []es.Event{issued(management)},
			redeem(code.LockTarget(lock), redemption, owner), []es.Event{redeemedOnLock(management)}, nil},
		{"P2 keys code is redeemed on a lock", []es.Event{issued(keys)},
			redeem(code.LockTarget(lock), redemption, owner), []es.Event{redeemedOnLock(keys)}, nil},
		{"P2 organization-management code is redeemed on an account (O6)", []es.Event{issued(orgMgmt)},
			redeem(code.AccountTarget(account), redemption, owner), []es.Event{redeemedOnAccount}, nil},
		{"P2 unknown code is refused", nil,
			redeem(code.LockTarget(lock), redemption, owner), nil, code.ErrUnknown},
		{"P2 used code is refused like an unknown one", []es.Event{issued(management), redeemedOnLock(management)},
			redeem(code.LockTarget(lock), other, stranger), nil, code.ErrUsed},
		{"P2 used code is refused for its redeemer too, on another redemption", []es.Event{issued(management), redeemedOnLock(management)},
			redeem(code.LockTarget(lock), other, owner), nil, code.ErrUsed},
		{"P2 used code is refused on another lock with the same redemption id", []es.Event{issued(management), redeemedOnLock(management)},
			redeem(code.LockTarget(uuid.New()), redemption, owner), nil, code.ErrUsed},
		{"P2 used code is refused to another account with the same redemption id", []es.Event{issued(management), redeemedOnLock(management)},
			redeem(code.LockTarget(lock), redemption, stranger), nil, code.ErrUsed},
		{"P3 retrying the recorded redemption records nothing and succeeds", []es.Event{issued(management), redeemedOnLock(management)},
			redeem(code.LockTarget(lock), redemption, owner), nil, nil},
		{"P2 organization-management code is refused on a lock", []es.Event{issued(orgMgmt)},
			redeem(code.LockTarget(lock), redemption, owner), nil, code.ErrProductForAccount},
		{"P2 management code is refused on an account", []es.Event{issued(management)},
			redeem(code.AccountTarget(account), redemption, owner), nil, code.ErrProductForLock},
		{"P2 keys code is refused on an account", []es.Event{issued(keys)},
			redeem(code.AccountTarget(account), redemption, owner), nil, code.ErrProductForLock},
		{"P2 used wrong-product code is refused as used", []es.Event{issued(management), redeemedOnLock(management)},
			redeem(code.AccountTarget(account), other, stranger), nil, code.ErrUsed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := code.Rehydrate(tt.given)       // given
			err := tt.when(c)                   // when
			require.ErrorIs(t, err, tt.wantErr) // then
			require.Equal(t, tt.then, c.Changes())
			require.Equal(t, uint64(len(tt.given)), c.Version())
			if tt.wantErr != nil {
				require.Equal(t, domain.ECodeInvalid, domain.ErrorCode(err))
			}
		})
	}
}

func TestCode_Redeem_invalidInput(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	c, err := code.Issue(code.StreamID(example), code.ManagementProduct(), uuid.New(), uuid.New(), t0)
	require.NoError(t, err)
	c.Committed()
	lock, by, rid := uuid.New(), uuid.New(), uuid.New()
	for name, call := range map[string]func() error{
		"target without kind":  func() error { return c.Redeem(code.Target{ID: lock}, rid, by, t0) },
		"target without id":    func() error { return c.Redeem(code.LockTarget(uuid.Nil), rid, by, t0) },
		"unknown target kind":  func() error { return c.Redeem(code.Target{Kind: "building", ID: lock}, rid, by, t0) },
		"no redemption id":     func() error { return c.Redeem(code.LockTarget(lock), uuid.Nil, by, t0) },
		"no redeeming account": func() error { return c.Redeem(code.LockTarget(lock), rid, uuid.Nil, t0) },
	} {
		require.Equal(t, domain.EInvalid, domain.ErrorCode(call()), name)
	}
	require.Empty(t, c.Changes())
}

// TestCode_P2_unknownAndUsedLookAlike pins that a caller cannot tell a used code
// from one that never existed: same code, same message, nothing about the redeemer.
func TestCode_P2_unknownAndUsedLookAlike(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	owner, lock := uuid.New(), uuid.New()
	c, err := code.Issue(code.StreamID(example), code.ManagementProduct(), uuid.New(), uuid.New(), t0)
	require.NoError(t, err)
	require.NoError(t, c.Redeem(code.LockTarget(lock), uuid.New(), owner, t0))
	used := c.Redeem(code.LockTarget(uuid.New()), uuid.New(), uuid.New(), t0)
	unknown := code.Rehydrate(nil).Redeem(code.LockTarget(uuid.New()), uuid.New(), uuid.New(), t0)

	require.Equal(t, domain.ErrorCode(unknown), domain.ErrorCode(used))
	require.Equal(t, domain.ErrorMessage(unknown), domain.ErrorMessage(used))
	require.Equal(t, unknown.Error(), used.Error())
	for _, secret := range []string{owner.String(), lock.String(), t0.Format(time.RFC3339), "2026"} {
		require.NotContains(t, used.Error(), secret)
	}
	require.Len(t, c.Changes(), 2, "the refused second redemption recorded nothing")
}

func TestCode_concurrentRedemptionsDecideOnTheSameVersion(t *testing.T) {
	t.Parallel()
	// P2 exactly one of two concurrent redemptions wins: both decide on the same
	// stored version, so the store accepts only the first append; the loser retries
	// on fresh state and is refused as used.
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	history := []es.Event{code.Issued{CodeID: code.StreamID(example), Product: code.ManagementProduct(), BatchID: uuid.New(), IssuedBy: uuid.New(), IssuedAt: t0}}
	a, b := code.Rehydrate(history), code.Rehydrate(history)
	require.NoError(t, a.Redeem(code.LockTarget(uuid.New()), uuid.New(), uuid.New(), t0))
	require.NoError(t, b.Redeem(code.LockTarget(uuid.New()), uuid.New(), uuid.New(), t0))
	require.Equal(t, a.Version(), b.Version(), "both expect the same version; the store lets one through")

	retry := code.Rehydrate(append(history, a.Changes()...))
	require.ErrorIs(t, retry.Redeem(code.LockTarget(uuid.New()), uuid.New(), uuid.New(), t0), code.ErrUsed)
}

func TestCode_ReplayCountsVersionAndState(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	id, lock, owner, rid := code.StreamID(example), uuid.New(), uuid.New(), uuid.New()
	c := code.Rehydrate([]es.Event{code.Issued{CodeID: id, Product: code.SharedManagementProduct(), BatchID: uuid.New(), IssuedBy: uuid.New(), IssuedAt: t0}})
	require.Equal(t, uint64(1), c.Version())
	_, ok := c.Redemption()
	require.False(t, ok)
	c.Replay(code.Redeemed{CodeID: id, Product: code.SharedManagementProduct(), RedemptionID: rid, LockID: lock, RedeemedBy: owner, RedeemedAt: t0})
	require.Equal(t, uint64(2), c.Version())
	r, ok := c.Redemption()
	require.True(t, ok)
	require.Equal(t, code.Redemption{ID: rid, Target: code.LockTarget(lock), By: owner, At: t0}, r)
	require.Empty(t, c.Changes())
}

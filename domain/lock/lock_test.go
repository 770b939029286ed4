package lock_test

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
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

var (
	t0       = time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	lockID   = uuid.MustParse("01936b2a-0000-7000-8000-000000000001")
	owner    = uuid.MustParse("01936b2a-0000-7000-8000-0000000000a1")
	stranger = uuid.MustParse("01936b2a-0000-7000-8000-0000000000b2")
	keyA     = uuid.MustParse("01936b2a-0000-7000-8000-00000000c001")
	keyB     = uuid.MustParse("01936b2a-0000-7000-8000-00000000c002")
	code1    = uuid.MustParse("01936b2a-0000-7000-8000-00000000d001")
	red1     = uuid.MustParse("01936b2a-0000-7000-8000-00000000e001")
	red2     = uuid.MustParse("01936b2a-0000-7000-8000-00000000e002")
	trialEnd = time.Date(2026, 4, 30, 9, 0, 0, 0, time.UTC) // 31 Jan + 3 calendar months (L2)
)

func registered() lock.Registered {
	return lock.Registered{LockID: lockID, Serial: "FX-1001", OwnerID: owner, Name: "Front door", TimeZone: "Europe/Amsterdam",
		RegisteredAt: t0, FirstRegistration: true, TrialEndsAt: trialEnd, KeyAllowance: 25, DeviceTokenDigest: "dev1"}
}

func tagIssued(id uuid.UUID, digest string, at time.Time) lock.KeyIssued {
	return lock.KeyIssued{KeyID: id, Type: lock.KeyTag, HolderName: "Anna", CredentialDigest: digest, CredentialHint: "…AB12", IssuedBy: owner, IssuedAt: at}
}

func paid(until time.Time) lock.ManagementExtended {
	return lock.ManagementExtended{CodeID: code1, RedemptionID: red1, PaidEndsAt: until, ExtendedAt: t0}
}

func tagReq(id uuid.UUID, digest string) lock.KeyRequest {
	return lock.KeyRequest{KeyID: id, Type: lock.KeyTag, CredentialDigest: digest, CredentialHint: "…AB12", Terms: lock.KeyTerms{HolderName: "Anna"}}
}

type step func(*lock.Lock) error

func issue(by uuid.UUID, req lock.KeyRequest, at time.Time) step {
	return func(l *lock.Lock) error { return l.IssueKey(lock.Owner(by), req, at) }
}

func revoke(by, id uuid.UUID, at time.Time) step {
	return func(l *lock.Lock) error { return l.RevokeKey(lock.Owner(by), id, at) }
}

type gwt struct {
	name    string
	given   []es.Event
	when    step
	then    []es.Event
	wantErr string // domain error code; "" for none
}

func run(t *testing.T, cases []gwt) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := lock.Rehydrate(c.given)
			err := c.when(l)
			if c.wantErr == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				require.Equal(t, c.wantErr, domain.ErrorCode(err), "error %v", err)
				require.Empty(t, l.Changes(), "a refused command records nothing")
				return
			}
			require.Equal(t, c.then, l.Changes())
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	l := lock.New()
	require.NoError(t, l.Register(lockID, "FX-1001", owner, " Front door ", "Europe/Amsterdam", "dev1", t0))
	require.Equal(t, []es.Event{registered()}, l.Changes(), "L1 owner; L2 trial to registration + 3 calendar months; L8 allowance 25")
	require.Equal(t, lock.LevelFull, l.Level(t0))
	require.Equal(t, lock.LevelFull, l.Level(trialEnd.Add(-time.Nanosecond)), "L4 full until the trial ends")
	require.Equal(t, lock.LevelRevokeOnly, l.Level(trialEnd), "L4 revoke-only from the trial's end")
	require.Equal(t, 89, l.DaysLeft(t0))

	err := lock.New().Register(lockID, "no", owner, "x", "UTC", "d", t0)
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "a too-short serial")
	err = lock.New().Register(lockID, "FX-1", owner, "  ", "UTC", "d", t0)
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "an empty name")
}

func TestNormalizeSerial(t *testing.T) {
	t.Parallel()
	s, err := lock.NormalizeSerial("  fx-1001 ")
	require.NoError(t, err)
	require.Equal(t, "FX-1001", s, "L1 serials are matched trimmed and case-insensitively")
	for _, bad := range []string{"", "ab", "FX 1001", strings.Repeat("A", 65), "FX/1"} {
		_, err := lock.NormalizeSerial(bad)
		require.Error(t, err, "NormalizeSerial(%q)", bad)
	}
	require.Equal(t, lock.SerialStream("FX-1001"), lock.SerialStream("FX-1001"))
	require.NotEqual(t, lock.SerialStream("FX-1001"), lock.SerialStream("FX-1002"))
}

func TestReregister(t *testing.T) {
	t.Parallel()
	later := t0.AddDate(1, 0, 0)
	newOwner := stranger
	removed := lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: t0.Add(time.Hour)}
	run(t, []gwt{
		{"L1 a registered lock cannot be registered by anyone else", []es.Event{registered()},
			func(l *lock.Lock) error { return l.Register(lockID, "FX-1001", newOwner, "Mine", "UTC", "dev2", later) }, nil, domain.EConflict},
		{"L17 a serial replaced away can never be registered again",
			[]es.Event{registered(), lock.Replaced{OldSerial: "FX-1001", NewSerial: "FX-2002", ReplacedBy: owner, ReplacedAt: t0}, lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: t0}},
			func(l *lock.Lock) error { return l.Register(lockID, "FX-1001", newOwner, "Mine", "UTC", "dev2", later) }, nil, domain.EConflict},
		{"L7 re-registration keeps the original trial end and allowance: no new trial", []es.Event{registered(), removed},
			func(l *lock.Lock) error { return l.Register(lockID, "FX-1001", newOwner, "Mine", "UTC", "dev2", later) },
			[]es.Event{lock.Registered{LockID: lockID, Serial: "FX-1001", OwnerID: newOwner, Name: "Mine", TimeZone: "UTC",
				RegisteredAt: later, TrialEndsAt: trialEnd, KeyAllowance: 25, DeviceTokenDigest: "dev2"}}, ""},
	})
	l := lock.Rehydrate([]es.Event{registered(), paid(t0.AddDate(5, 0, 0)), removed,
		lock.Registered{LockID: lockID, Serial: "FX-1001", OwnerID: newOwner, Name: "Mine", TimeZone: "UTC", RegisteredAt: later, TrialEndsAt: trialEnd, KeyAllowance: 25, DeviceTokenDigest: "dev2"}})
	require.Equal(t, lock.LevelFull, l.Level(later), "L7 whatever remains of the paid period applies again")
	_, paidEnds, _ := l.Periods()
	require.Equal(t, t0.AddDate(5, 0, 0), paidEnds)
	require.Equal(t, uint64(3), l.TenureStart(), "the new owner's view starts at their registration")
	require.True(t, l.CanSee(newOwner))
	require.False(t, l.CanSee(owner), "E2 the former owner no longer sees the lock")
}

func TestRemove(t *testing.T) {
	t.Parallel()
	at := t0.Add(2 * time.Hour)
	run(t, []gwt{
		{"L7 removing revokes every key (lock removed) and ends ownership",
			[]es.Event{registered(), tagIssued(keyA, "d1", t0), tagIssued(keyB, "d2", t0.Add(time.Minute))},
			func(l *lock.Lock) error { return l.Remove(owner, at) },
			[]es.Event{
				lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonLockRemoved, RevokedBy: owner, RevokedAt: at},
				lock.KeyRevoked{KeyID: keyB, Reason: lock.ReasonLockRemoved, RevokedBy: owner, RevokedAt: at},
				lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: at},
			}, ""},
		{"L5 removal is allowed in revoke-only", []es.Event{registered()},
			func(l *lock.Lock) error { return l.Remove(owner, trialEnd.AddDate(1, 0, 0)) },
			[]es.Event{lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: trialEnd.AddDate(1, 0, 0)}}, ""},
		{"E2 a stranger cannot remove the lock", []es.Event{registered()},
			func(l *lock.Lock) error { return l.Remove(stranger, at) }, nil, domain.EForbidden},
		{"a removed lock cannot be removed again", []es.Event{registered(), lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: at}},
			func(l *lock.Lock) error { return l.Remove(owner, at) }, nil, domain.ENotFound},
	})
}

func TestIssueKey(t *testing.T) {
	t.Parallel()
	at := t0.Add(time.Hour)
	full := []es.Event{registered()}
	many := []es.Event{registered()}
	for i := range 25 {
		many = append(many, tagIssued(uuid.New(), "digest"+string(rune('a'+i)), t0))
	}
	from, until := at, at.Add(24*time.Hour)
	phone := lock.KeyRequest{KeyID: keyB, Type: lock.KeyPhone, AccountID: stranger, Terms: lock.KeyTerms{HolderName: "Bert", ValidFrom: &from, ValidUntil: &until}}
	run(t, []gwt{
		{"L9 the owner issues a tag key", full, issue(owner, tagReq(keyA, "d1"), at),
			[]es.Event{tagIssued(keyA, "d1", at)}, ""},
		{"L9 a phone key is bound to an account, with a validity window", full, issue(owner, phone, at),
			[]es.Event{lock.KeyIssued{KeyID: keyB, Type: lock.KeyPhone, HolderName: "Bert", AccountID: stranger, ValidFrom: &from, ValidUntil: &until, IssuedBy: owner, IssuedAt: at}}, ""},
		{"E2 a stranger cannot issue keys", full, issue(stranger, tagReq(keyA, "d1"), at), nil, domain.EForbidden},
		{"L5 issuing is refused in revoke-only, saying what to do", full, issue(owner, tagReq(keyA, "d1"), trialEnd), nil, domain.EManagementInactive},
		{"L8 issuing past the allowance is refused", many, issue(owner, tagReq(keyA, "new"), at), nil, domain.EKeyLimitReached},
		{"L9 a tag UID is unique among the lock's active tags", append(full, tagIssued(keyA, "d1", t0)), issue(owner, tagReq(keyB, "d1"), at), nil, domain.EConflict},
		{"L9 a revoked key's credential can be issued again",
			append(full, tagIssued(keyA, "d1", t0), lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0}),
			issue(owner, tagReq(keyB, "d1"), at), []es.Event{tagIssued(keyB, "d1", at)}, ""},
		{"one active phone key per account", append(full, lock.KeyIssued{KeyID: keyA, Type: lock.KeyPhone, HolderName: "B", AccountID: stranger, IssuedBy: owner, IssuedAt: t0}),
			issue(owner, phone, at), nil, domain.EConflict},
		{"a phone key without an account is invalid", full, issue(owner, lock.KeyRequest{KeyID: keyA, Type: lock.KeyPhone, Terms: lock.KeyTerms{HolderName: "x"}}, at), nil, domain.EInvalid},
		{"max_uses applies to code keys only", full, issue(owner, lock.KeyRequest{KeyID: keyA, Type: lock.KeyTag, CredentialDigest: "d", Terms: lock.KeyTerms{HolderName: "x", MaxUses: 1}}, at), nil, domain.EInvalid},
		{"validity must end after it starts", full, issue(owner, lock.KeyRequest{KeyID: keyA, Type: lock.KeyTag, CredentialDigest: "d", Terms: lock.KeyTerms{HolderName: "x", ValidFrom: &until, ValidUntil: &from}}, at), nil, domain.EInvalid},
		{"an empty holder name is invalid", full, issue(owner, lock.KeyRequest{KeyID: keyA, Type: lock.KeyTag, CredentialDigest: "d", Terms: lock.KeyTerms{HolderName: " "}}, at), nil, domain.EInvalid},
		{"a key id cannot be reused", append(full, tagIssued(keyA, "d1", t0)), issue(owner, tagReq(keyA, "d2"), at), nil, domain.EConflict},
	})
}

func TestKeyCap(t *testing.T) {
	t.Parallel()
	given := []es.Event{registered(), lock.KeyAllowanceIncreased{CodeID: code1, RedemptionID: red1, Added: 2475, KeyAllowance: 2500, IncreasedAt: t0}}
	for range 2500 {
		given = append(given, tagIssued(uuid.New(), uuid.NewString(), t0))
	}
	run(t, []gwt{
		{"L8 a lock holds at most 2,500 active keys", given, issue(owner, tagReq(keyA, "new"), t0), nil, domain.EKeyLimitReached},
	})
}

func TestChangeKey(t *testing.T) {
	t.Parallel()
	at := t0.Add(time.Hour)
	given := []es.Event{registered(), tagIssued(keyA, "d1", t0)}
	sched := lock.Schedule{{Days: []time.Weekday{time.Monday}, From: 8 * 60, Until: 17 * 60}}
	change := func(by uuid.UUID, terms lock.KeyTerms, at time.Time) step {
		return func(l *lock.Lock) error { return l.ChangeKey(lock.Owner(by), keyA, terms, at) }
	}
	run(t, []gwt{
		{"L9 editing keeps the same key and credential", given, change(owner, lock.KeyTerms{HolderName: "Anna B", Schedule: sched}, at),
			[]es.Event{lock.KeyChanged{KeyID: keyA, HolderName: "Anna B", Schedule: sched, ChangedBy: owner, ChangedAt: at}}, ""},
		{"a change to nothing records nothing", given, change(owner, lock.KeyTerms{HolderName: "Anna"}, at), nil, ""},
		{"L10 changing needs full management", given, change(owner, lock.KeyTerms{HolderName: "B"}, trialEnd), nil, domain.EManagementInactive},
		{"E2 a stranger cannot change keys", given, change(stranger, lock.KeyTerms{HolderName: "B"}, at), nil, domain.EForbidden},
		{"an unknown key is not found", []es.Event{registered()}, change(owner, lock.KeyTerms{HolderName: "B"}, at), nil, domain.ENotFound},
	})
}

func TestRevokeKey(t *testing.T) {
	t.Parallel()
	given := []es.Event{registered(), tagIssued(keyA, "d1", t0)}
	late := trialEnd.AddDate(2, 0, 0)
	run(t, []gwt{
		{"L10 the owner revokes", given, revoke(owner, keyA, t0),
			[]es.Event{lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0}}, ""},
		{"L5 revoking is allowed in revoke-only", given, revoke(owner, keyA, late),
			[]es.Event{lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: late}}, ""},
		{"revoking twice is a conflict", append(given, lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0}),
			revoke(owner, keyA, t0), nil, domain.EConflict},
		{"E2 a stranger cannot revoke", given, revoke(stranger, keyA, t0), nil, domain.EForbidden},
		{"an unknown key is not found", given, revoke(owner, keyB, t0), nil, domain.ENotFound},
	})
}

func TestReactivation(t *testing.T) {
	t.Parallel()
	// L6: keys issued in the trial are manageable again after a management code,
	// and allowance freed by revocations in revoke-only can be issued.
	lapsed := trialEnd.AddDate(0, 1, 0)
	given := []es.Event{registered(), tagIssued(keyA, "d1", t0), tagIssued(keyB, "d2", t0),
		lock.KeyRevoked{KeyID: keyB, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: lapsed}}
	l := lock.Rehydrate(given)
	require.Equal(t, domain.EManagementInactive, domain.ErrorCode(l.ChangeKey(lock.Owner(owner), keyA, lock.KeyTerms{HolderName: "X"}, lapsed)))
	l.ApplyCode(code1, red1, lock.Benefit{Kind: lock.BenefitManagement}, lapsed)
	require.Equal(t, lock.LevelFull, l.Level(lapsed))
	require.NoError(t, l.ChangeKey(lock.Owner(owner), keyA, lock.KeyTerms{HolderName: "X"}, lapsed), "L6 the old key is manageable again")
	require.NoError(t, l.IssueKey(lock.Owner(owner), tagReq(uuid.New(), "d2"), lapsed), "L6 a returned key can be issued")
}

func TestCodes(t *testing.T) {
	t.Parallel()
	at := t0.AddDate(0, 1, 0)
	mgmt := lock.Benefit{Kind: lock.BenefitManagement}
	shared := lock.Benefit{Kind: lock.BenefitSharedManagement}
	apply := func(red uuid.UUID, b lock.Benefit, at time.Time) step {
		return func(l *lock.Lock) error { l.ApplyCode(code1, red, b, at); return nil }
	}
	check := func(by uuid.UUID, b lock.Benefit, at time.Time) step {
		return func(l *lock.Lock) error { return l.CheckRedemption(by, b, at) }
	}
	paidEnd := domain.AddYears(at, 5)
	run(t, []gwt{
		{"L3 a management code adds five calendar years from now", []es.Event{registered()}, apply(red1, mgmt, at),
			[]es.Event{lock.ManagementExtended{CodeID: code1, RedemptionID: red1, PaidEndsAt: paidEnd, ExtendedAt: at}}, ""},
		{"L3 codes stack from the end of the current paid period", []es.Event{registered(), paid(paidEnd)}, apply(red2, mgmt, at),
			[]es.Event{lock.ManagementExtended{CodeID: code1, RedemptionID: red2, PaidEndsAt: domain.AddYears(paidEnd, 5), ExtendedAt: at}}, ""},
		{"P3 applying a redemption twice records nothing", []es.Event{registered(), paid(paidEnd)}, apply(red1, mgmt, at), nil, ""},
		{"L8 a keys code grows the allowance", []es.Event{registered()}, apply(red1, lock.Benefit{Kind: lock.BenefitKeys, Keys: 50}, at),
			[]es.Event{lock.KeyAllowanceIncreased{CodeID: code1, RedemptionID: red1, Added: 50, KeyAllowance: 75, IncreasedAt: at}}, ""},
		{"L8 a keys code that would pass 2,500 is refused before it is consumed",
			[]es.Event{registered(), lock.KeyAllowanceIncreased{CodeID: code1, RedemptionID: red1, Added: 2450, KeyAllowance: 2475, IncreasedAt: t0}},
			check(owner, lock.Benefit{Kind: lock.BenefitKeys, Keys: 50}, at), nil, domain.EOptionUnavailable},
		{"L11 shared management is refused in the trial", []es.Event{registered()}, check(owner, shared, at), nil, domain.EOptionUnavailable},
		{"L11 shared management is refused after the paid end", []es.Event{registered(), paid(paidEnd)}, check(owner, shared, paidEnd), nil, domain.EOptionUnavailable},
		{"L11 shared management is allowed while paid", []es.Event{registered(), paid(paidEnd)}, check(owner, shared, at), nil, ""},
		{"L11 shared management lasts five years from activation", []es.Event{registered(), paid(paidEnd)}, apply(red2, shared, at),
			[]es.Event{lock.SharedManagementActivated{CodeID: code1, RedemptionID: red2, SharedManagementEndsAt: domain.AddYears(at, 5), ActivatedAt: at}}, ""},
		{"L5 redeeming a code is allowed in revoke-only", []es.Event{registered()}, check(owner, mgmt, trialEnd.AddDate(1, 0, 0)), nil, ""},
		{"E2 a stranger cannot redeem on the lock", []es.Event{registered()}, check(stranger, mgmt, at), nil, domain.EForbidden},
	})
	l := lock.Rehydrate([]es.Event{registered(), paid(paidEnd), lock.SharedManagementActivated{CodeID: code1, RedemptionID: red2, SharedManagementEndsAt: domain.AddYears(paidEnd, 1), ActivatedAt: at}})
	require.True(t, l.SharedManagementActive(at))
	require.False(t, l.SharedManagementActive(paidEnd), "L11 usable only while paid management is active")
}

func TestPeriods(t *testing.T) {
	t.Parallel()
	record := func(at time.Time) step { return func(l *lock.Lock) error { l.RecordPeriods(at); return nil } }
	d30 := trialEnd.Add(-30 * 24 * time.Hour)
	d7 := trialEnd.Add(-7 * 24 * time.Hour)
	rem := func(days int, at time.Time) lock.PeriodReminderDue {
		return lock.PeriodReminderDue{Period: lock.PeriodManagement, EndsAt: trialEnd, DaysBefore: days, OwnerID: owner, DueAt: at}
	}
	run(t, []gwt{
		{"nothing is due early", []es.Event{registered()}, record(t0), nil, ""},
		{"L16 the 30-day reminder", []es.Event{registered()}, record(d30), []es.Event{rem(30, d30)}, ""},
		{"L16 the 30-day reminder only once", []es.Event{registered(), rem(30, d30)}, record(d30.Add(time.Hour)), nil, ""},
		{"L16 the 7-day reminder", []es.Event{registered(), rem(30, d30)}, record(d7), []es.Event{rem(7, d7)}, ""},
		{"L16 a late start sends only the 7-day reminder", []es.Event{registered()}, record(d7.Add(time.Hour)), []es.Event{rem(7, d7.Add(time.Hour))}, ""},
		{"L4 the trial's end is recorded", []es.Event{registered(), rem(30, d30), rem(7, d7)}, record(trialEnd),
			[]es.Event{lock.PeriodEnded{Period: lock.PeriodTrial, EndsAt: trialEnd, EndedAt: trialEnd}}, ""},
		{"L4 once", []es.Event{registered(), rem(30, d30), rem(7, d7), lock.PeriodEnded{Period: lock.PeriodTrial, EndsAt: trialEnd, EndedAt: trialEnd}},
			record(trialEnd.Add(time.Hour)), nil, ""},
		{"no reminder of the trial while paid management goes on", []es.Event{registered(), paid(domain.AddYears(t0, 5))}, record(d7), nil, ""},
		{"a removed lock is not reminded", []es.Event{registered(), lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: t0}}, record(d7), nil, ""},
	})
	l := lock.Rehydrate([]es.Event{registered()})
	require.Equal(t, d30, l.NextDeadline(t0), "the scheduler wakes for the 30-day reminder")
	require.Equal(t, trialEnd, l.NextDeadline(d7))
}

func TestFreeze(t *testing.T) {
	t.Parallel()
	late := trialEnd.AddDate(1, 0, 0)
	frozen := lock.Frozen{FrozenBy: owner, FrozenAt: t0}
	run(t, []gwt{
		{"L15 the owner freezes, also in revoke-only", []es.Event{registered()}, func(l *lock.Lock) error { return l.Freeze(owner, late) },
			[]es.Event{lock.Frozen{FrozenBy: owner, FrozenAt: late}}, ""},
		{"L15 freezing a frozen lock records nothing", []es.Event{registered(), frozen}, func(l *lock.Lock) error { return l.Freeze(owner, late) }, nil, ""},
		{"L15 unfreeze", []es.Event{registered(), frozen}, func(l *lock.Lock) error { return l.Unfreeze(owner, late) },
			[]es.Event{lock.Unfrozen{UnfrozenBy: owner, UnfrozenAt: late}}, ""},
		{"E2 a stranger cannot freeze", []es.Event{registered()}, func(l *lock.Lock) error { return l.Freeze(stranger, t0) }, nil, domain.EForbidden},
	})
}

func TestReplaceAndToken(t *testing.T) {
	t.Parallel()
	given := []es.Event{registered(), tagIssued(keyA, "d1", t0)}
	run(t, []gwt{
		{"L17 replacing moves the lock to the new serial", given, func(l *lock.Lock) error { return l.Replace(owner, "FX-2002", t0) },
			[]es.Event{lock.Replaced{OldSerial: "FX-1001", NewSerial: "FX-2002", ReplacedBy: owner, ReplacedAt: t0}}, ""},
		{"L17 the same serial is no replacement", given, func(l *lock.Lock) error { return l.Replace(owner, "FX-1001", t0) }, nil, domain.EInvalid},
		{"E2 a stranger cannot replace", given, func(l *lock.Lock) error { return l.Replace(stranger, "FX-2002", t0) }, nil, domain.EForbidden},
		{"D1 the owner rotates the device token", given, func(l *lock.Lock) error { return l.RotateDeviceToken(owner, "dev2", t0) },
			[]es.Event{lock.DeviceTokenRotated{DeviceTokenDigest: "dev2", RotatedBy: owner, RotatedAt: t0}}, ""},
		{"E2 a stranger cannot rotate the token", given, func(l *lock.Lock) error { return l.RotateDeviceToken(stranger, "x", t0) }, nil, domain.EForbidden},
	})
	l := lock.Rehydrate(append(given, lock.Replaced{OldSerial: "FX-1001", NewSerial: "FX-2002", ReplacedBy: owner, ReplacedAt: t0}))
	require.Equal(t, "FX-2002", l.Serial())
	require.NotNil(t, l.Key(keyA), "L17 keys stay with the lock")
}

func TestAccess(t *testing.T) {
	t.Parallel()
	ams, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	monday9 := time.Date(2026, 2, 2, 9, 0, 0, 0, ams) // Monday 09:00 in Amsterdam
	from, until := monday9.Add(-2*time.Hour), monday9.Add(24*time.Hour)
	sched := lock.Schedule{{Days: []time.Weekday{time.Monday, time.Tuesday}, From: 8 * 60, Until: 17 * 60}}
	code := lock.KeyIssued{KeyID: keyA, Type: lock.KeyCode, HolderName: "Cleaner", CredentialDigest: "pin", ValidFrom: &from, ValidUntil: &until, Schedule: sched, MaxUses: 1, IssuedBy: owner, IssuedAt: t0}
	phoneKey := lock.KeyIssued{KeyID: keyB, Type: lock.KeyPhone, HolderName: "Bert", AccountID: stranger, IssuedBy: owner, IssuedAt: t0}
	pin := lock.Credential{Type: lock.KeyCode, Digest: "pin"}
	given := []es.Event{registered(), code, phoneKey}
	cases := []struct {
		name   string
		extra  []es.Event
		cred   lock.Credential
		at     time.Time
		reason string
	}{
		{"D1 a valid code opens in its window", nil, pin, monday9, lock.AccessAllowed},
		{"D1 a phone key opens for its account", nil, lock.Credential{Type: lock.KeyPhone, AccountID: stranger}, monday9, lock.AccessAllowed},
		{"an unknown credential", nil, lock.Credential{Type: lock.KeyCode, Digest: "other"}, monday9, lock.AccessUnknown},
		{"the digest of a code presented as a tag", nil, lock.Credential{Type: lock.KeyTag, Digest: "pin"}, monday9, lock.AccessUnknown},
		{"L9 before the validity window", nil, pin, from.Add(-time.Minute), lock.AccessNotYetValid},
		{"L9 at the end of the validity window", nil, pin, until, lock.AccessExpired},
		{"L9 outside the schedule (07:59 local)", nil, pin, monday9.Add(-61 * time.Minute), lock.AccessOutside},
		{"L9 the schedule's end is exclusive (17:00 local)", nil, pin, monday9.Add(8 * time.Hour), lock.AccessOutside},
		{"L9 a one-time code opens once", []es.Event{lock.KeyUsed{KeyID: keyA, Uses: 1, UsedAt: monday9}}, pin, monday9, lock.AccessUsedUp},
		{"L15 a frozen lock refuses every key", []es.Event{lock.Frozen{FrozenBy: owner, FrozenAt: t0}}, pin, monday9, lock.AccessFrozen},
		{"L10 a revoked key is refused", []es.Event{lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0}}, pin, monday9, lock.AccessUnknown},
		{"L5 keys keep working in revoke-only", nil, lock.Credential{Type: lock.KeyPhone, AccountID: stranger}, trialEnd.AddDate(3, 0, 0), lock.AccessAllowed},
		{"a removed lock opens for no one", []es.Event{lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: t0}}, pin, monday9, lock.AccessNotRegistered},
	}
	for _, c := range cases {
		l := lock.Rehydrate(append(append([]es.Event{}, given...), c.extra...))
		d := l.Access(c.cred, c.at, ams)
		require.Equal(t, c.reason, d.Reason, c.name)
		require.Equal(t, c.reason == lock.AccessAllowed, d.Allowed, c.name)
	}

	l := lock.Rehydrate(given)
	require.NoError(t, l.UseKey(keyA, monday9, ams), "D1 the first use of a one-time code")
	require.Equal(t, []es.Event{lock.KeyUsed{KeyID: keyA, Uses: 1, UsedAt: monday9.UTC()}}, l.Changes())
	require.Error(t, l.UseKey(keyA, monday9, ams), "D1 a one-time code cannot be used twice")
	require.Equal(t, lock.ErrNotUseLimited, l.UseKey(keyB, monday9, ams))
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	name, tz := "Back door", "UTC"
	run(t, []gwt{
		{"the owner renames and moves the time zone", []es.Event{registered()}, func(l *lock.Lock) error { return l.Update(owner, &name, &tz, t0) },
			[]es.Event{lock.Updated{Name: name, TimeZone: tz, UpdatedBy: owner, UpdatedAt: t0}}, ""},
		{"no change records nothing", []es.Event{registered()}, func(l *lock.Lock) error { return l.Update(owner, nil, nil, t0) }, nil, ""},
		{"E2 a stranger cannot rename", []es.Event{registered()}, func(l *lock.Lock) error { return l.Update(stranger, &name, nil, t0) }, nil, domain.EForbidden},
	})
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	require.NoError(t, lock.ValidatePIN("0042"))
	for _, bad := range []string{"123", "12345678901", "12a4", ""} {
		require.Error(t, lock.ValidatePIN(bad), "ValidatePIN(%q)", bad)
	}
	got, err := lock.NormalizeCredential(lock.KeyTag, " 04:a2:1b:ff ")
	require.NoError(t, err)
	require.Equal(t, "04A21BFF", got)
	require.Equal(t, "…1BFF", lock.CredentialHint(lock.KeyTag, got))
	require.Empty(t, lock.CredentialHint(lock.KeyCode, "1234"), "a PIN gets no hint")
	_, err = lock.NormalizeCredential(lock.KeyRemote, "ab")
	require.Error(t, err)
	_, err = lock.NormalizeCredential(lock.KeyRemote, "a😀bc")
	require.Error(t, err)
}

func TestScheduleJSON(t *testing.T) {
	t.Parallel()
	var s lock.Schedule
	require.NoError(t, json.Unmarshal([]byte(`[{"days":["mon","Fri"],"from":"08:00","until":"24:00"}]`), &s))
	require.Equal(t, lock.Schedule{{Days: []time.Weekday{time.Monday, time.Friday}, From: 480, Until: 1440}}, s)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `[{"days":["mon","fri"],"from":"08:00","until":"24:00"}]`, string(b))
	for _, bad := range []string{`[{"days":["xyz"],"from":"08:00","until":"09:00"}]`, `[{"days":["mon"],"from":"8:00","until":"09:00"}]`,
		`[{"days":["mon"],"from":"08:00","until":"24:01"}]`, `[{"days":["mon"],"from":"08:60","until":"09:00"}]`, `[1]`} {
		var s lock.Schedule
		require.Error(t, json.Unmarshal([]byte(bad), &s), bad)
	}
	require.Error(t, lock.Schedule{{Days: []time.Weekday{time.Monday}, From: 600, Until: 600}}.Validate())
	require.Error(t, lock.Schedule{{From: 0, Until: 60}}.Validate(), "no days")
}

func FuzzScheduleJSON(f *testing.F) {
	f.Add([]byte(`[{"days":["mon"],"from":"08:00","until":"17:00"}]`))
	f.Add([]byte(`[{"days":[],"from":"24:00","until":"00:00"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s lock.Schedule
		if json.Unmarshal(b, &s) != nil {
			return
		}
		if s.Validate() != nil {
			return
		}
		out, err := json.Marshal(s)
		require.NoError(t, err)
		var again lock.Schedule
		require.NoError(t, json.Unmarshal(out, &again))
		require.Equal(t, len(s), len(again))
	})
}

// TestStoredEventsDecode keeps old payloads readable: every file in testdata/events
// decodes through the registry (STYLE §2).
func TestStoredEventsDecode(t *testing.T) {
	t.Parallel()
	r := es.NewRegistry()
	lock.RegisterEvents(r)
	files, err := filepath.Glob("testdata/events/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		typ := strings.TrimSuffix(filepath.Base(f), ".json")
		e, err := r.Decode(typ, raw)
		require.NoError(t, err, f)
		require.Equal(t, typ, e.EventType())
	}
}

func TestSerial(t *testing.T) {
	t.Parallel()
	s := lock.NewSerial()
	require.NoError(t, s.Assign("FX-1001", lockID, t0), "L1 a new serial is reserved for its lock")
	require.Equal(t, []es.Event{lock.SerialAssigned{Serial: "FX-1001", LockID: lockID, AssignedAt: t0}}, s.Changes())
	s.Committed()
	require.Equal(t, domain.EConflict, domain.ErrorCode(s.Assign("FX-1001", uuid.New(), t0)), "L1 a reserved serial cannot be reserved again")
	require.Equal(t, domain.EConflict, domain.ErrorCode(s.Retire(uuid.New(), t0)), "only its own lock retires a serial")
	require.NoError(t, s.Retire(lockID, t0))
	require.True(t, s.Retired(), "L17 the old serial is retired")
	s.Committed()
	require.NoError(t, s.Retire(lockID, t0))
	require.Empty(t, s.Changes(), "retiring twice records nothing")
}

// FuzzNormalizeCredential feeds what a device or an owner may send as a remote
// serial, tag UID or PIN: it is refused cleanly or normalized stably.
func FuzzNormalizeCredential(f *testing.F) {
	for _, s := range []string{"04:A2:1B:FF", "1234", " rm-0011 ", "😀", ""} {
		f.Add("tag", s)
		f.Add("code", s)
	}
	f.Fuzz(func(t *testing.T, typ, s string) {
		kt, err := lock.ParseKeyType(typ)
		if err != nil || kt == lock.KeyPhone {
			return
		}
		n, err := lock.NormalizeCredential(kt, s)
		if err != nil {
			require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
			return
		}
		again, err := lock.NormalizeCredential(kt, n)
		require.NoError(t, err)
		require.Equal(t, n, again, "normalizing twice changes nothing")
	})
}

// FuzzNormalizeSerial does the same for lock serials (L1).
func FuzzNormalizeSerial(f *testing.F) {
	for _, s := range []string{"fx-1001", " FX.1_2 ", "x", "\x00abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := lock.NormalizeSerial(s)
		if err != nil {
			require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
			return
		}
		again, err := lock.NormalizeSerial(n)
		require.NoError(t, err)
		require.Equal(t, n, again)
	})
}

// TestSharedKeyManagement covers L11 and L12: a key to an organization, its
// managers issuing within the quota and the allowance, revoking only their own
// keys, and the owner taking the organization's key back.
func TestSharedKeyManagement(t *testing.T) {
	t.Parallel()
	org, other := uuid.New(), uuid.New()
	mgr := uuid.New()
	at := t0.AddDate(0, 1, 0)
	paidEnd := domain.AddYears(t0, 5)
	shared := lock.SharedManagementActivated{CodeID: code1, RedemptionID: red2, SharedManagementEndsAt: domain.AddYears(t0, 5), ActivatedAt: t0}
	active := []es.Event{registered(), paid(paidEnd), shared}
	granted := lock.OrganizationKeyIssued{OrganizationID: org, Quota: 2, IssuedBy: owner, IssuedAt: t0}
	orgKey := func(id uuid.UUID, digest string) lock.KeyIssued {
		k := tagIssued(id, digest, t0)
		k.IssuedBy, k.Organization = mgr, org
		return k
	}
	as := lock.Actor{Account: mgr, Organization: org}
	grant := func(o uuid.UUID, quota int, mgmt bool, at time.Time) step {
		return func(l *lock.Lock) error { return l.GrantOrganization(owner, o, quota, mgmt, at) }
	}
	run(t, []gwt{
		{"L12 the owner gives an organization a key with a quota", active, grant(org, 2, true, at),
			[]es.Event{lock.OrganizationKeyIssued{OrganizationID: org, Quota: 2, IssuedBy: owner, IssuedAt: at}}, ""},
		{"L11 not in the trial", []es.Event{registered()}, grant(org, 0, true, at), nil, domain.EOptionUnavailable},
		{"L11 not without the shared-management option", []es.Event{registered(), paid(paidEnd)}, grant(org, 0, true, at), nil, domain.EOptionUnavailable},
		{"L11 not after the paid end", active, grant(org, 0, true, paidEnd.Add(time.Hour)), nil, domain.EOptionUnavailable},
		{"L12 not to an organization without organization management (O6)", active, grant(org, 0, false, at), nil, domain.EForbidden},
		{"E2 not by a stranger", active, func(l *lock.Lock) error { return l.GrantOrganization(stranger, org, 0, true, at) }, nil, domain.EForbidden},
		{"L12 a manager of the organization issues a key; the owner sees who issued it", append(active, granted),
			func(l *lock.Lock) error { return l.IssueKey(as, tagReq(keyA, "d1"), at) },
			[]es.Event{lock.KeyIssued{KeyID: keyA, Type: lock.KeyTag, HolderName: "Anna", CredentialDigest: "d1", CredentialHint: "…AB12", IssuedBy: mgr, Organization: org, IssuedAt: at}}, ""},
		{"L12 within the organization's quota", append(active, granted, orgKey(keyA, "d1"), orgKey(keyB, "d2")),
			func(l *lock.Lock) error { return l.IssueKey(as, tagReq(uuid.New(), "d3"), at) }, nil, domain.EKeyLimitReached},
		{"L12 a manager of another organization does not see the lock", append(active, granted),
			func(l *lock.Lock) error {
				return l.IssueKey(lock.Actor{Account: mgr, Organization: other}, tagReq(keyA, "d1"), at)
			}, nil, domain.ENotFound},
		{"L11 usable only while paid management is active", append(active, granted),
			func(l *lock.Lock) error { return l.IssueKey(as, tagReq(keyA, "d1"), paidEnd.Add(time.Hour)) }, nil, domain.EOptionUnavailable},
		{"L10 the organization revokes a key it issued", append(active, granted, orgKey(keyA, "d1")),
			func(l *lock.Lock) error { return l.RevokeKey(as, keyA, at) },
			[]es.Event{lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: mgr, RevokedAt: at}}, ""},
		{"L10 but not the owner's keys", append(active, granted, tagIssued(keyA, "d1", t0)),
			func(l *lock.Lock) error { return l.RevokeKey(as, keyA, at) }, nil, domain.ENotFound},
		{"L12 nor change them", append(active, granted, tagIssued(keyA, "d1", t0)),
			func(l *lock.Lock) error { return l.ChangeKey(as, keyA, lock.KeyTerms{HolderName: "x"}, at) }, nil, domain.ENotFound},
		{"L12 revoking the organization's key revokes every key it issued", append(active, granted, orgKey(keyA, "d1"), tagIssued(keyB, "d2", t0)),
			func(l *lock.Lock) error { return l.RevokeOrganization(owner, org, at) },
			[]es.Event{lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonOrganizationKeyRevoked, RevokedBy: owner, RevokedAt: at},
				lock.OrganizationKeyRevoked{OrganizationID: org, RevokedBy: owner, RevokedAt: at}}, ""},
		{"L12 after that the organization cannot revoke either", append(active, granted, lock.OrganizationKeyRevoked{OrganizationID: org}),
			func(l *lock.Lock) error { return l.RevokeKey(as, keyA, at) }, nil, domain.ENotFound},
		{"L7 removing the lock takes the organizations' keys back too", append(active, granted),
			func(l *lock.Lock) error { return l.Remove(owner, at) },
			[]es.Event{lock.OrganizationKeyRevoked{OrganizationID: org, RevokedBy: owner, RevokedAt: at}, lock.Removed{OwnerID: owner, RemovedBy: owner, RemovedAt: at}}, ""},
	})
}

package projections

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/lock"
)

// requireRowJSON holds AppendJSON of v (a row that encodes itself) to
// json.Marshal of plain, the same row as a type without methods: the same bytes,
// or an error from both.
func requireRowJSON(t *testing.T, v, plain any) {
	t.Helper()
	want, wantErr := json.Marshal(plain)
	got, err := AppendJSON([]byte("prefix"), v)
	if wantErr != nil {
		require.Error(t, err)
		require.Equal(t, wantErr.Error(), err.Error())
		return
	}
	require.NoError(t, err)
	require.Equal(t, "prefix"+string(want), string(got))
}

type (
	plainLockRow LockRow
	plainKeyRow  KeyRow
)

func TestRowsJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321, time.UTC)
	zoned := at.In(time.FixedZone("", -(3*3600 + 30*60)))
	past := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // beyond RFC 3339: encoding/json refuses it
	id, acc := uuid.New(), uuid.New()
	sched := lock.Schedule{{Days: []time.Weekday{time.Sunday, time.Saturday}, From: 0, Until: 1440}, {From: 60, Until: 120}}
	for _, r := range []LockRow{
		{},
		{ID: id, Serial: "FX-1", Name: "Front <door> & \"gate\" é \u2028 \xff", TimeZone: "Europe/Amsterdam", OwnerID: acc, RegisteredAt: at,
			Frozen: true, KeyAllowance: 2500, ActiveKeys: -1, TrialEndsAt: zoned, PaidEndsAt: &at, SharedManagementEndsAt: &zoned,
			DeviceTokenDigest: "abc", TenureStart: 1 << 63, Tenure: 3, Removed: true},
		{ID: id, RegisteredAt: past},
		{ID: id, PaidEndsAt: &past},
	} {
		requireRowJSON(t, &r, plainLockRow(r))
		requireRowJSON(t, r, plainLockRow(r))
	}
	bad := lock.Schedule{{Days: []time.Weekday{9}}}
	for _, k := range []KeyRow{
		{},
		{ID: id, LockID: acc, Type: lock.KeyPhone, HolderName: "Anna <&>", AccountID: &acc, CredentialDigest: "d", CredentialHint: "…12",
			ValidFrom: &at, ValidUntil: &zoned, Schedule: sched, MaxUses: -5, Uses: 7, Status: KeyRevoked, IssuedBy: id, Organization: &id,
			IssuedAt: at, ChangedAt: &zoned, RevokedAt: &at, RevokedBy: &acc, RevokeReason: "lost\n"},
		{ID: id, Schedule: lock.Schedule{}, Status: KeyActive},
		{ID: id, Schedule: bad},
		{ID: id, ChangedAt: &past},
	} {
		requireRowJSON(t, &k, plainKeyRow(k))
		requireRowJSON(t, k, plainKeyRow(k))
	}
}

func TestKeyIssuedJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321, time.UTC)
	past := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, e := range []lock.KeyIssued{
		{},
		{KeyID: uuid.New(), Type: lock.KeyPhone, HolderName: "A <&> é", AccountID: uuid.New(), CredentialDigest: "d", CredentialHint: "h",
			ValidFrom: &at, ValidUntil: &at, Schedule: lock.Schedule{{Days: []time.Weekday{time.Tuesday}, From: 1, Until: 2}}, MaxUses: 4,
			IssuedBy: uuid.New(), Organization: uuid.New(), IssuedAt: at, BulkID: uuid.New()},
		{IssuedAt: past},
		{Schedule: lock.Schedule{{Days: []time.Weekday{12}}}},
	} {
		want, wantErr := json.Marshal(e)
		got, err := appendKeyIssuedJSON([]byte("x"), e)
		if wantErr != nil {
			require.EqualError(t, err, wantErr.Error())
			continue
		}
		require.NoError(t, err)
		require.Equal(t, "x"+string(want), string(got))
	}
}

// FuzzRowsJSON holds the rows' encoders to encoding/json for any strings, numbers
// and times.
func FuzzRowsJSON(f *testing.F) {
	f.Add("FX-1", "Door", "UTC", "digest", int64(0), int64(1e18), 25, true, uint8(0))
	f.Add("<&>", "\u2028\xff\"\\", "", "", int64(-1), int64(253402300800), -1, false, uint8(255))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4 string, n1, n2 int64, i int, flag bool, opt uint8) {
		t1, t2 := time.Unix(0, n1).UTC(), time.Unix(n2, 0).In(time.FixedZone("", i%(25*3600)))
		ptr := func(bit uint8, v time.Time) *time.Time {
			if opt&bit == 0 {
				return nil
			}
			return &v
		}
		idPtr := func(bit uint8) *uuid.UUID {
			if opt&bit == 0 {
				return nil
			}
			id := uuid.NewSHA1(uuid.NameSpaceURL, []byte(s1))
			return &id
		}
		r := LockRow{ID: uuid.NewSHA1(uuid.NameSpaceDNS, []byte(s1)), Serial: s1, Name: s2, TimeZone: s3, RegisteredAt: t1, Frozen: flag,
			KeyAllowance: i, ActiveKeys: -i, TrialEndsAt: t2, PaidEndsAt: ptr(1, t1), SharedManagementEndsAt: ptr(2, t2),
			DeviceTokenDigest: s4, TenureStart: uint64(n2), Tenure: i, Removed: !flag}
		requireRowJSON(t, &r, plainLockRow(r))
		k := KeyRow{ID: r.ID, Type: lock.KeyType(s3), HolderName: s2, AccountID: idPtr(4), CredentialDigest: s4, CredentialHint: s1,
			ValidFrom: ptr(8, t1), ValidUntil: ptr(16, t2), MaxUses: i, Uses: -i, Status: KeyStatus(s1), Organization: idPtr(32),
			IssuedAt: t2, ChangedAt: ptr(64, t2), RevokedAt: ptr(128, t1), RevokedBy: idPtr(128), RevokeReason: s2}
		if flag {
			k.Schedule = lock.Schedule{{Days: []time.Weekday{time.Weekday(opt % 8)}, From: i, Until: int(opt)}}
		}
		requireRowJSON(t, &k, plainKeyRow(k))
		e := lock.KeyIssued{KeyID: k.ID, Type: k.Type, HolderName: s2, CredentialDigest: s4, CredentialHint: s1, ValidFrom: k.ValidFrom,
			ValidUntil: k.ValidUntil, Schedule: k.Schedule, MaxUses: i, IssuedAt: t2}
		if k.AccountID != nil {
			e.AccountID, e.Organization, e.BulkID = *k.AccountID, *k.AccountID, *k.AccountID
		}
		want, wantErr := json.Marshal(e)
		got, err := appendKeyIssuedJSON(nil, e)
		if wantErr != nil {
			require.EqualError(t, err, wantErr.Error())
		} else {
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		}
	})
}

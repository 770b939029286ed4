package lock_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

var bulk1 = uuid.MustParse("01936b2a-0000-7000-8000-00000000f001")

func bulkReq(id uuid.UUID, digest string, bulk uuid.UUID) lock.KeyRequest {
	r := tagReq(id, digest)
	r.BulkID = bulk
	return r
}

func bulkIssued(id uuid.UUID, digest string, at time.Time, bulk uuid.UUID) lock.KeyIssued {
	e := tagIssued(id, digest, at)
	e.BulkID = bulk
	return e
}

func TestIssueKey_Bulk_L13(t *testing.T) {
	t.Parallel()
	at := t0.Add(time.Hour)
	full := []es.Event{registered()}
	run(t, []gwt{
		{"L13 a key of a bulk issue records the bulk", full, issue(owner, bulkReq(keyA, "d1", bulk1), at),
			[]es.Event{bulkIssued(keyA, "d1", at, bulk1)}, ""},
		{"L13 a lock holds one active key per bulk issue", append(full, bulkIssued(keyA, "d1", t0, bulk1)),
			issue(owner, bulkReq(keyB, "d2", bulk1), at), nil, domain.EConflict},
		{"L13 once revoked, the bulk may give the lock a key again",
			append(full, bulkIssued(keyA, "d1", t0, bulk1), lock.KeyRevoked{KeyID: keyA, Reason: lock.ReasonRevoked, RevokedBy: owner, RevokedAt: t0}),
			issue(owner, bulkReq(keyB, "d1", bulk1), at), []es.Event{bulkIssued(keyB, "d1", at, bulk1)}, ""},
		{"L13 a lock in revoke-only refuses its key of a bulk issue", full, issue(owner, bulkReq(keyA, "d1", bulk1), trialEnd), nil, domain.EManagementInactive},
	})
}

func TestBulkKey_L13(t *testing.T) {
	t.Parallel()
	l := lock.Rehydrate([]es.Event{registered(), tagIssued(keyA, "d1", t0), bulkIssued(keyB, "d2", t0, bulk1)})
	require.Nil(t, l.BulkKey(uuid.Nil), "a single issue belongs to no bulk")
	require.Nil(t, l.BulkKey(uuid.New()))
	k := l.BulkKey(bulk1)
	require.NotNil(t, k)
	require.Equal(t, keyB, k.ID)
	require.Equal(t, bulk1, k.BulkID)
	require.NoError(t, l.RevokeKey(lock.Owner(owner), keyB, t0.Add(time.Hour)))
	require.Nil(t, l.BulkKey(bulk1), "L13 a revoked key is no longer the bulk's key")
}

func TestValidateKeyTerms_L13(t *testing.T) {
	t.Parallel()
	terms, err := lock.ValidateKeyTerms(lock.KeyCode, lock.KeyTerms{HolderName: "  Cleaner ", MaxUses: 1})
	require.NoError(t, err)
	require.Equal(t, "Cleaner", terms.HolderName, "normalized as IssueKey would")
	_, err = lock.ValidateKeyTerms(lock.KeyTag, lock.KeyTerms{HolderName: "x", MaxUses: 1})
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "max_uses is for code keys")
	_, err = lock.ValidateKeyTerms("laser", lock.KeyTerms{HolderName: "x"})
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
	_, err = lock.ValidateKeyTerms(lock.KeyTag, lock.KeyTerms{HolderName: " "})
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
}

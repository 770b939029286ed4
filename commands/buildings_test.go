package commands_test

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/building"
	"sleutel/domain/lock"
)

// buildingsHarness is a harness with accounts and buildings.
type buildingsHarness struct {
	*harness
	accounts  *commands.Accounts
	buildings *commands.Buildings
}

func newBuildingsHarness(t *testing.T) *buildingsHarness {
	t.Helper()
	h := newHarness(t)
	a := newAccounts(h)
	building.RegisterEvents(h.registry)
	h.locks = commands.NewLocks(commands.LocksConfig{Store: h.store, Registry: h.registry, Accounts: a, Secrets: h.secrets, Digest: digest,
		Locations: time.LoadLocation, Clock: h.clock, Rand: rand.Reader})
	b := commands.NewBuildings(commands.BuildingsConfig{Store: h.store, Registry: h.registry, Accounts: a, Locks: h.locks, Clock: h.clock})
	return &buildingsHarness{harness: h, accounts: a, buildings: b}
}

func (h *buildingsHarness) signUp(t *testing.T, username string) uuid.UUID {
	t.Helper()
	up, err := h.accounts.SignUp(t.Context(), commands.Meta{}, commands.SignUp{Username: username, Email: username + "@example.org", Password: "correct horse battery"})
	require.NoError(t, err)
	return up.AccountID
}

func (h *buildingsHarness) register(t *testing.T, owner uuid.UUID, serial string) uuid.UUID {
	t.Helper()
	reg, err := h.locks.RegisterLock(t.Context(), owner, meta(owner, ""), commands.RegisterLock{Serial: serial, Name: serial, TimeZone: "UTC"})
	require.NoError(t, err)
	return reg.LockID
}

// bulkKey returns the active key bulk gave lockID, or nil.
func (h *buildingsHarness) bulkKey(t *testing.T, lockID, bulk uuid.UUID) *lock.Key {
	t.Helper()
	var k *lock.Key
	require.NoError(t, h.locks.LockRepository().Read(t.Context(), lock.Stream(lockID), func(l *lock.Lock) error {
		if found := l.BulkKey(bulk); found != nil {
			c := *found
			k = &c
		}
		return nil
	}))
	return k
}

func codes(out commands.BulkOutcome) map[uuid.UUID]string {
	m := map[uuid.UUID]string{}
	for _, l := range out.Locks {
		m[l.LockID] = domain.ErrorCode(l.Err)
	}
	return m
}

func TestBuildings_SwitchAndGroup_L13(t *testing.T) {
	t.Parallel()
	h := newBuildingsHarness(t)
	ctx := t.Context()
	owner, stranger := h.signUp(t, "olga"), h.signUp(t, "sam")

	_, err := h.buildings.CreateBuilding(ctx, owner, meta(owner, ""), "Kerkstraat 12")
	require.ErrorIs(t, err, building.ErrManagementOff, "L13 no building before building management is on")

	on, err := h.buildings.EnableBuildingManagement(ctx, owner, meta(owner, ""))
	require.NoError(t, err)
	require.Equal(t, h.clock.Now(), on.EnabledAt)
	h.clock.advance(time.Hour)
	again, err := h.buildings.EnableBuildingManagement(ctx, owner, meta(owner, ""))
	require.NoError(t, err)
	require.Equal(t, on.EnabledAt, again.EnabledAt, "L13 switching on twice keeps the first time")

	m := meta(owner, "create-1")
	b, err := h.buildings.CreateBuilding(ctx, owner, m, "Kerkstraat 12")
	require.NoError(t, err)
	retry, err := h.buildings.CreateBuilding(ctx, owner, m, "Kerkstraat 12")
	require.NoError(t, err)
	require.Equal(t, b.BuildingID, retry.BuildingID, "a retried create answers with the same building")
	require.Equal(t, []string{building.CreatedType}, h.stored(t, building.Stream(owner)))
	other, err := h.buildings.CreateBuilding(ctx, owner, meta(owner, ""), "Office")
	require.NoError(t, err)

	mine, theirs := h.register(t, owner, "BL-100"), h.register(t, stranger, "BL-200")
	_, err = h.buildings.AddLock(ctx, owner, b.BuildingID, theirs, meta(owner, ""))
	require.ErrorIs(t, err, lock.ErrNotRegistered, "L13 E2 only the owner's own locks")
	_, err = h.buildings.AddLock(ctx, stranger, b.BuildingID, theirs, meta(stranger, ""))
	require.ErrorIs(t, err, building.ErrNotFound, "E2 a stranger's building is not found")
	_, err = h.buildings.AddLock(ctx, owner, b.BuildingID, mine, meta(owner, ""))
	require.NoError(t, err)
	_, err = h.buildings.AddLock(ctx, owner, other.BuildingID, mine, meta(owner, ""))
	require.Equal(t, domain.EConflict, domain.ErrorCode(err), "L13 a lock is in one building of its owner")
	_, err = h.buildings.RemoveLock(ctx, stranger, b.BuildingID, mine, meta(stranger, ""))
	require.ErrorIs(t, err, building.ErrNotFound)

	// The owner removes the lock from the platform (L7): it leaves the building.
	_, err = h.locks.RemoveLock(ctx, owner, mine, meta(owner, ""))
	require.NoError(t, err)
	require.NoError(t, h.buildings.ForgetRemovedLock(ctx, owner, mine))
	require.NoError(t, h.buildings.ForgetRemovedLock(ctx, owner, mine), "a repeated delivery does no harm")
	require.Equal(t, []string{building.CreatedType, building.CreatedType, building.LockAddedType, building.LockRemovedType},
		h.stored(t, building.Stream(owner)))
	// Registered again by the same owner and added again, a late delivery keeps it.
	h.register(t, owner, "BL-100")
	_, err = h.buildings.AddLock(ctx, owner, other.BuildingID, mine, meta(owner, ""))
	require.NoError(t, err)
	require.NoError(t, h.buildings.ForgetRemovedLock(ctx, owner, mine))
	require.Len(t, h.stored(t, building.Stream(owner)), 5, "a lock its owner owns again stays")
}

// TestBuildings_BulkIssue_L13 issues one key on three locks: one issues, one is in
// revoke-only, one is at its allowance; a retry with the same idempotency key
// doubles nothing, and the revocation reaches the key that was issued.
func TestBuildings_BulkIssue_L13(t *testing.T) {
	t.Parallel()
	h := newBuildingsHarness(t)
	ctx := t.Context()
	owner := h.signUp(t, "olga")
	_, err := h.buildings.EnableBuildingManagement(ctx, owner, meta(owner, ""))
	require.NoError(t, err)
	b, err := h.buildings.CreateBuilding(ctx, owner, meta(owner, ""), "Kerkstraat 12")
	require.NoError(t, err)

	lapsed := h.register(t, owner, "BL-1")
	h.clock.advance(93 * 24 * time.Hour) // BL-1's trial ends (L4)
	ok, full := h.register(t, owner, "BL-2"), h.register(t, owner, "BL-3")
	for i := range lock.InitialKeyAllowance {
		_, err := h.locks.IssueKey(ctx, owner, meta(owner, ""), commands.IssueKey{LockID: full, Type: "code", Credential: fmt.Sprintf("1234%02d", i),
			Terms: lock.KeyTerms{HolderName: "Filler"}})
		require.NoError(t, err)
	}
	for _, l := range []uuid.UUID{ok, lapsed, full} {
		_, err := h.buildings.AddLock(ctx, owner, b.BuildingID, l, meta(owner, ""))
		require.NoError(t, err)
	}

	m := meta(owner, "bulk-1")
	cmd := commands.IssueBuildingKeys{BuildingID: b.BuildingID, Type: "tag", Credential: "04:A2:1B:FF", Terms: lock.KeyTerms{HolderName: " Anna "}}
	out, err := h.buildings.IssueKeys(ctx, owner, m, cmd)
	require.NoError(t, err, "L13 one lock's refusal does not fail the others")
	require.NotEqual(t, uuid.Nil, out.BulkID)
	require.Empty(t, out.PIN)
	require.Equal(t, []uuid.UUID{ok, lapsed, full}, []uuid.UUID{out.Locks[0].LockID, out.Locks[1].LockID, out.Locks[2].LockID}, "results in the building's order")
	require.Equal(t, map[uuid.UUID]string{ok: "", lapsed: domain.EManagementInactive, full: domain.EKeyLimitReached}, codes(out),
		"L13 each lock decides for itself (L5, L8)")
	k := h.bulkKey(t, ok, out.BulkID)
	require.NotNil(t, k)
	require.Equal(t, out.Locks[0].KeyID, k.ID)
	require.Equal(t, "Anna", k.HolderName)
	require.Equal(t, lock.Stream(ok), out.LocksResult().Stream, "read-your-writes waits for the lock that wrote")
	before := len(h.stored(t, lock.Stream(ok)))

	// The same request again, with the same idempotency key (a lost answer).
	retry, err := h.buildings.IssueKeys(ctx, owner, m, cmd)
	require.NoError(t, err)
	require.Equal(t, out.BulkID, retry.BulkID, "the same bulk")
	require.Equal(t, out.Locks[0].KeyID, retry.Locks[0].KeyID, "the same key")
	require.Equal(t, codes(out), codes(retry))
	require.Len(t, h.stored(t, lock.Stream(ok)), before, "nothing new on the lock")
	require.Equal(t, []string{building.CreatedType, building.LockAddedType, building.LockAddedType, building.LockAddedType, building.KeysIssuedType},
		h.stored(t, building.Stream(owner)), "one bulk recorded")

	// Without the key, a second bulk: the tag is in use on the lock that has it.
	second, err := h.buildings.IssueKeys(ctx, owner, meta(owner, ""), cmd)
	require.NoError(t, err)
	require.NotEqual(t, out.BulkID, second.BulkID)
	require.Equal(t, domain.EConflict, codes(second)[ok], "L9 a tag is unique on its lock")

	// Revoke the bulk: the key on the lock that has it; nothing elsewhere (L5: also in revoke-only).
	rev, err := h.buildings.RevokeKeys(ctx, owner, b.BuildingID, out.BulkID, meta(owner, ""))
	require.NoError(t, err)
	require.Equal(t, map[uuid.UUID]string{ok: "", lapsed: "", full: ""}, codes(rev))
	require.Equal(t, k.ID, rev.Locks[0].KeyID, "L13 the bulk's key is revoked")
	require.Equal(t, uuid.Nil, rev.Locks[1].KeyID, "no key of the bulk there")
	require.Nil(t, h.bulkKey(t, ok, out.BulkID))
	again, err := h.buildings.RevokeKeys(ctx, owner, b.BuildingID, out.BulkID, meta(owner, ""))
	require.NoError(t, err, "revoking again is harmless")
	require.Equal(t, uuid.Nil, again.Locks[0].KeyID)
	_, err = h.buildings.RevokeKeys(ctx, owner, b.BuildingID, uuid.New(), meta(owner, ""))
	require.ErrorIs(t, err, building.ErrBulkNotFound)
}

// TestBuildings_BulkPIN_L13 generates one PIN for every lock, shown once, the same
// on a retry; a lock no longer the owner's refuses on its own.
func TestBuildings_BulkPIN_L13(t *testing.T) {
	t.Parallel()
	h := newBuildingsHarness(t)
	ctx := t.Context()
	owner := h.signUp(t, "olga")
	_, err := h.buildings.EnableBuildingManagement(ctx, owner, meta(owner, ""))
	require.NoError(t, err)
	b, err := h.buildings.CreateBuilding(ctx, owner, meta(owner, ""), "Kerkstraat 12")
	require.NoError(t, err)
	a, c, gone := h.register(t, owner, "PN-1"), h.register(t, owner, "PN-2"), h.register(t, owner, "PN-3")
	for _, l := range []uuid.UUID{a, c, gone} {
		_, err := h.buildings.AddLock(ctx, owner, b.BuildingID, l, meta(owner, ""))
		require.NoError(t, err)
	}
	_, err = h.locks.RemoveLock(ctx, owner, gone, meta(owner, "")) // still listed until the process manager runs
	require.NoError(t, err)

	m := meta(owner, "pin-1")
	cmd := commands.IssueBuildingKeys{BuildingID: b.BuildingID, Type: "code", Terms: lock.KeyTerms{HolderName: "Cleaner", MaxUses: 10}}
	var wg sync.WaitGroup
	outs, errs := make([]commands.BulkOutcome, 2), make([]error, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = h.buildings.IssueKeys(ctx, owner, m, cmd)
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	out := outs[0]
	require.Len(t, out.PIN, commands.PINDigits, "L9 a PIN is generated when none is given")
	require.Equal(t, out.PIN, outs[1].PIN, "two racing retries show the same PIN")
	require.Equal(t, out.BulkID, outs[1].BulkID)
	require.Equal(t, map[uuid.UUID]string{a: "", c: "", gone: domain.ENotFound}, codes(out), "L13 a lock no longer owned refuses on its own")
	require.Equal(t, building.ErrLockNotOwned, out.Locks[2].Err)
	for _, l := range []uuid.UUID{a, c} {
		k := h.bulkKey(t, l, out.BulkID)
		require.NotNil(t, k)
		require.Equal(t, h.secrets.CredentialDigest(l, "code", out.PIN), k.CredentialDigest, "L13 one PIN opens every lock of the bulk")
		require.Len(t, h.stored(t, lock.Stream(l)), 2, "one key per lock, however many retries")
	}
	retry, err := h.buildings.IssueKeys(ctx, owner, m, cmd)
	require.NoError(t, err)
	require.Equal(t, out.PIN, retry.PIN, "a retry shows the same PIN")
}

func TestBuildings_BulkRefusals_L13(t *testing.T) {
	t.Parallel()
	h := newBuildingsHarness(t)
	ctx := t.Context()
	owner, stranger := h.signUp(t, "olga"), h.signUp(t, "sam")
	_, err := h.buildings.EnableBuildingManagement(ctx, owner, meta(owner, ""))
	require.NoError(t, err)
	b, err := h.buildings.CreateBuilding(ctx, owner, meta(owner, ""), "Kerkstraat 12")
	require.NoError(t, err)
	issue := func(by uuid.UUID, c commands.IssueBuildingKeys) error {
		if c.BuildingID == uuid.Nil {
			c.BuildingID = b.BuildingID
		}
		if c.Terms.HolderName == "" {
			c.Terms.HolderName = "Anna"
		}
		_, err := h.buildings.IssueKeys(ctx, by, meta(by, ""), c)
		return err
	}
	require.ErrorIs(t, issue(owner, commands.IssueBuildingKeys{Type: "tag", Credential: "ABCD1234"}), building.ErrNoLocks, "L13 an empty building")
	l := h.register(t, owner, "RF-1")
	_, err = h.buildings.AddLock(ctx, owner, b.BuildingID, l, meta(owner, ""))
	require.NoError(t, err)
	for name, c := range map[string]struct {
		by   uuid.UUID
		cmd  commands.IssueBuildingKeys
		code string
	}{
		"an empty lock list":            {owner, commands.IssueBuildingKeys{LockIDs: []uuid.UUID{}, Type: "tag", Credential: "ABCD1234"}, domain.EInvalid},
		"an oversized lock list":        {owner, commands.IssueBuildingKeys{LockIDs: make([]uuid.UUID, building.MaxLocks+1), Type: "tag", Credential: "ABCD1234"}, domain.EInvalid},
		"a lock outside the building":   {owner, commands.IssueBuildingKeys{LockIDs: []uuid.UUID{uuid.New()}, Type: "tag", Credential: "ABCD1234"}, domain.EInvalid},
		"E2 a stranger's building":      {stranger, commands.IssueBuildingKeys{Type: "tag", Credential: "ABCD1234"}, domain.ENotFound},
		"an unknown key type":           {owner, commands.IssueBuildingKeys{Type: "laser"}, domain.EInvalid},
		"a bad PIN":                     {owner, commands.IssueBuildingKeys{Type: "code", Credential: "12"}, domain.EInvalid},
		"a tag without its UID":         {owner, commands.IssueBuildingKeys{Type: "tag"}, domain.EInvalid},
		"a phone key for no account":    {owner, commands.IssueBuildingKeys{Type: "phone", AccountID: uuid.New()}, domain.EInvalid},
		"max_uses on a tag":             {owner, commands.IssueBuildingKeys{Type: "tag", Credential: "ABCD1234", Terms: lock.KeyTerms{HolderName: "x", MaxUses: 1}}, domain.EInvalid},
		"a remote with an account":      {owner, commands.IssueBuildingKeys{Type: "remote", Credential: "RM-1234", AccountID: stranger}, domain.EInvalid},
		"a phone key with a credential": {owner, commands.IssueBuildingKeys{Type: "phone", AccountID: stranger, Credential: "x"}, domain.EInvalid},
		"a holder name of spaces":       {owner, commands.IssueBuildingKeys{Type: "tag", Credential: "ABCD1234", Terms: lock.KeyTerms{HolderName: "  "}}, domain.EInvalid},
	} {
		require.Equal(t, c.code, domain.ErrorCode(issue(c.by, c.cmd)), name)
	}
	require.Equal(t, []string{building.CreatedType, building.LockAddedType}, h.stored(t, building.Stream(owner)), "E1 refused input records nothing")
	require.Len(t, h.stored(t, lock.Stream(l)), 1, "E1 and no lock was asked")
	phone := commands.IssueBuildingKeys{Type: "phone", AccountID: stranger}
	require.NoError(t, issue(owner, phone), "a phone key for an account")
	_, err = h.buildings.RevokeKeys(ctx, stranger, b.BuildingID, uuid.New(), meta(stranger, ""))
	require.ErrorIs(t, err, building.ErrNotFound, "E2")
}

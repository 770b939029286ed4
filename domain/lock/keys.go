package lock

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
)

// KeyRequest is what issuing a key needs. The command layer has validated and
// normalized the credential and turned it into a keyed digest: the lock never sees
// secret material (STYLE §2).
type KeyRequest struct {
	KeyID            uuid.UUID
	Type             KeyType
	AccountID        uuid.UUID // phone keys: the holder's account
	CredentialDigest string    // code, remote and tag keys
	CredentialHint   string
	Terms            KeyTerms
	BulkID           uuid.UUID // the building's bulk issue it is part of (L13), if any
}

// Actor is who manages keys: the lock's owner, or a manager acting for an
// organization that holds a key to the lock (L12). The command layer has checked
// that Account manages Organization.
type Actor struct {
	Account      uuid.UUID
	Organization uuid.UUID // Nil: the account acts as itself
}

// Owner returns the actor of an account acting as itself.
func Owner(account uuid.UUID) Actor { return Actor{Account: account} }

// ErrQuotaReached refuses a key beyond an organization's quota (L12).
var ErrQuotaReached = &domain.Error{Code: domain.EKeyLimitReached, Message: "your organization's quota of keys on this lock is used up"}

// mayManageKeys checks an actor may issue or change keys now: the owner with full
// management (L10), or an organization holding a key while shared management is
// usable (L11, L12). An organization without a key does not see the lock (E2).
func (l *Lock) mayManageKeys(by Actor, now time.Time) error {
	if by.Organization == uuid.Nil {
		return l.mustManage(by.Account, now)
	}
	if !l.HasOrganization(by.Organization) {
		return ErrNotRegistered
	}
	if l.Level(now) != LevelFull || !l.SharedManagementActive(now) {
		return ErrSharedInactive
	}
	return nil
}

// orgKey returns an active key the actor may manage: any key for the owner, only
// its own keys for an organization.
func (l *Lock) orgKey(by Actor, id uuid.UUID) (*Key, error) {
	k, err := l.activeKey(id)
	if err != nil {
		return nil, err
	}
	if by.Organization != uuid.Nil && k.Organization != by.Organization {
		return nil, ErrKeyNotFound // another's key: not there, as far as this actor sees
	}
	return k, nil
}

// IssueKey issues a key (L8–L10, L12): by the owner with full management, or by a
// manager of an organization holding a key within its quota; within the allowance
// and the 2,500 cap, with a credential no active key of the lock uses.
func (l *Lock) IssueKey(by Actor, req KeyRequest, now time.Time) error {
	if err := l.mayManageKeys(by, now); err != nil {
		return err
	}
	if req.KeyID == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "key id is required")
	}
	if req.BulkID != uuid.Nil && l.BulkKey(req.BulkID) != nil {
		return ErrBulkKeyHeld
	}
	if _, taken := l.keys[req.KeyID]; taken || l.revoked[req.KeyID] {
		return domain.Errorf(domain.EConflict, "key %s exists", req.KeyID)
	}
	if _, err := ParseKeyType(string(req.Type)); err != nil {
		return err
	}
	if err := req.Terms.validate(req.Type); err != nil {
		return err
	}
	switch {
	case req.Type == KeyPhone && req.AccountID == uuid.Nil:
		return domain.Errorf(domain.EInvalid, "a phone key needs account_id")
	case req.Type != KeyPhone && req.AccountID != uuid.Nil:
		return domain.Errorf(domain.EInvalid, "only phone keys are bound to an account")
	case req.Type != KeyPhone && req.CredentialDigest == "":
		return domain.Errorf(domain.EInvalid, "a %s key needs a credential", req.Type)
	}
	if len(l.keys) >= MaxActiveKeys {
		return ErrKeyCapReached
	}
	if len(l.keys) >= l.allowance {
		return ErrKeyLimitReached
	}
	if q := l.orgs[by.Organization]; by.Organization != uuid.Nil && q > 0 && l.IssuedBy(by.Organization) >= q {
		return ErrQuotaReached
	}
	if req.Type == KeyPhone {
		if _, held := l.phones[req.AccountID]; held {
			return ErrPhoneKeyHeld
		}
	} else if _, used := l.credential[req.CredentialDigest]; used {
		return ErrCredentialInUse
	}
	t := req.Terms
	l.record(KeyIssued{KeyID: req.KeyID, Type: req.Type, HolderName: t.HolderName, AccountID: req.AccountID,
		CredentialDigest: req.CredentialDigest, CredentialHint: req.CredentialHint, ValidFrom: t.ValidFrom,
		ValidUntil: t.ValidUntil, Schedule: t.Schedule, MaxUses: t.MaxUses, IssuedBy: by.Account, Organization: by.Organization, IssuedAt: now.UTC(),
		BulkID: req.BulkID})
	return nil
}

// CredentialInUse reports whether an active key of the lock uses the digest; the
// command layer asks it while generating a PIN.
func (l *Lock) CredentialInUse(digest string) bool {
	_, used := l.credential[digest]
	return used
}

// ChangeKey edits a key's terms (L9): the same key and credential, no re-issue. It
// needs full management (L10); a change to nothing records nothing.
func (l *Lock) ChangeKey(by Actor, keyID uuid.UUID, terms KeyTerms, now time.Time) error {
	if err := l.mayManageKeys(by, now); err != nil {
		return err
	}
	k, err := l.orgKey(by, keyID)
	if err != nil {
		return err
	}
	if err := terms.validate(k.Type); err != nil {
		return err
	}
	if terms.MaxUses != 0 && terms.MaxUses < k.Uses {
		return domain.Errorf(domain.EInvalid, "max_uses cannot be below the %d uses already made", k.Uses)
	}
	if sameTerms(k.KeyTerms, terms) {
		return nil
	}
	l.record(KeyChanged{KeyID: keyID, HolderName: terms.HolderName, ValidFrom: terms.ValidFrom, ValidUntil: terms.ValidUntil,
		Schedule: terms.Schedule, MaxUses: terms.MaxUses, ChangedBy: by.Account, ChangedAt: now.UTC()})
	return nil
}

func sameTerms(a, b KeyTerms) bool {
	sameTime := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.HolderName == b.HolderName && a.MaxUses == b.MaxUses && sameTime(a.ValidFrom, b.ValidFrom) &&
		sameTime(a.ValidUntil, b.ValidUntil) && slices.EqualFunc(a.Schedule, b.Schedule, func(x, y Window) bool {
		return x.From == y.From && x.Until == y.Until && slices.Equal(x.Days, y.Days)
	})
}

// RevokeKey withdraws a key so the door refuses it (L10). Revoking is always
// allowed to the owner, whatever the management level (L5), and to the
// organization that issued the key while it holds its key to the lock (L12).
func (l *Lock) RevokeKey(by Actor, keyID uuid.UUID, now time.Time) error {
	if by.Organization == uuid.Nil {
		if err := l.mustOwn(by.Account); err != nil {
			return err
		}
	} else if !l.HasOrganization(by.Organization) {
		return ErrNotRegistered
	}
	if _, err := l.orgKey(by, keyID); err != nil {
		return err
	}
	l.record(KeyRevoked{KeyID: keyID, Reason: ReasonRevoked, RevokedBy: by.Account, RevokedAt: now.UTC()})
	return nil
}

func (l *Lock) activeKey(id uuid.UUID) (*Key, error) {
	if k := l.keys[id]; k != nil {
		return k, nil
	}
	if l.revoked[id] {
		return nil, ErrKeyRevoked
	}
	return nil, ErrKeyNotFound
}

// Credential identifies what a device read at the door: a phone's account, or the
// digest of a PIN, remote serial or tag UID.
type Credential struct {
	Type      KeyType
	AccountID uuid.UUID
	Digest    string
}

// Decision is the answer to a device's access check (D1).
type Decision struct {
	Allowed bool
	KeyID   uuid.UUID // the key that matched, if any
	Reason  string
}

// Access decides whether the credential opens the lock at t, the lock's time zone
// being loc (D1): the lock must be registered and not frozen (L15), and an active
// key of that type must match and allow t (L9).
func (l *Lock) Access(c Credential, t time.Time, loc *time.Location) Decision {
	if l.owner == uuid.Nil {
		return Decision{Reason: AccessNotRegistered}
	}
	var id uuid.UUID
	var ok bool
	if c.Type == KeyPhone {
		id, ok = l.phones[c.AccountID]
	} else {
		id, ok = l.credential[c.Digest]
	}
	k := l.keys[id]
	if !ok || k == nil || k.Type != c.Type {
		return Decision{Reason: AccessUnknown}
	}
	if l.frozen {
		return Decision{KeyID: k.ID, Reason: AccessFrozen}
	}
	allowed, reason := k.Opens(t, loc)
	return Decision{Allowed: allowed, KeyID: k.ID, Reason: reason}
}

// UseKey records one use of a use-limited key the door is letting through (D1). It
// refuses with the access reason when the key does not open the lock at t.
func (l *Lock) UseKey(keyID uuid.UUID, t time.Time, loc *time.Location) error {
	k, err := l.activeKey(keyID)
	if err != nil {
		return err
	}
	if k.MaxUses == 0 {
		return ErrNotUseLimited
	}
	if l.frozen {
		return &domain.Error{Code: domain.EForbidden, Message: AccessFrozen}
	}
	if ok, reason := k.Opens(t, loc); !ok {
		return &domain.Error{Code: domain.EForbidden, Message: reason}
	}
	l.record(KeyUsed{KeyID: keyID, Uses: k.Uses + 1, UsedAt: t.UTC()})
	return nil
}

// sortKeys orders ids by issue time, then id.
func sortKeys(ids []uuid.UUID, keys map[uuid.UUID]*Key) {
	slices.SortFunc(ids, func(a, b uuid.UUID) int {
		if c := keys[a].IssuedAt.Compare(keys[b].IssuedAt); c != 0 {
			return c
		}
		return slices.Compare(a[:], b[:])
	})
}

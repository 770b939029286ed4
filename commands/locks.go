package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
)

// Locks handles the commands on locks, their keys and their devices.
type Locks struct {
	orgs      OrganizationDirectory
	locks     *Repository[*lock.Lock]
	serials   *Repository[*lock.Serial]
	reports   *Repository[*report.Log]
	accounts  AccountDirectory
	secrets   Secrets
	digest    TokenDigest
	locations Locations
	clock     Clock
	rand      io.Reader
}

// AccountDirectory tells whether an account exists (a phone key is bound to one).
type AccountDirectory interface {
	AccountExists(ctx context.Context, id uuid.UUID) (bool, error)
}

// OrganizationDirectory tells who manages keys for an organization (L12, O4) and
// whether it has organization management (O6).
type OrganizationDirectory interface {
	// ManagesKeys reports whether account is a manager or admin of organization.
	ManagesKeys(ctx context.Context, organization, account uuid.UUID) (bool, error)
	// HasManagement reports whether organization exists with organization management.
	HasManagement(ctx context.Context, organization uuid.UUID) (bool, error)
}

// LocksConfig wires Locks.
type LocksConfig struct {
	Store     EventStore
	Registry  *es.Registry
	Accounts  AccountDirectory
	Secrets   Secrets
	Digest    TokenDigest
	Locations Locations
	Clock     Clock
	Rand      io.Reader
	// Organizations checks managers acting for an organization (L12); when nil,
	// only owners manage keys.
	Organizations OrganizationDirectory
	// CacheSize bounds the locks kept in memory; 10,000 when zero.
	CacheSize int
}

// NewLocks returns the lock command handlers.
func NewLocks(c LocksConfig) *Locks {
	if c.Store == nil || c.Registry == nil || c.Accounts == nil || c.Secrets == nil || c.Digest == nil || c.Locations == nil || c.Clock == nil || c.Rand == nil {
		panic("commands: nil dependency")
	}
	return &Locks{
		locks:    NewRepository(c.Store, c.Registry, func(string) *lock.Lock { return lock.New() }, c.CacheSize),
		serials:  NewRepository(c.Store, c.Registry, func(string) *lock.Serial { return lock.NewSerial() }, 1024),
		reports:  NewRepository(c.Store, c.Registry, reportLog, 1024),
		accounts: c.Accounts, secrets: c.Secrets, digest: c.Digest, locations: c.Locations, clock: c.Clock, rand: c.Rand,
		orgs: c.Organizations,
	}
}

// SetOrganizations wires the organization directory after construction (the
// organization handlers need the lock handlers, and the other way round).
func (h *Locks) SetOrganizations(d OrganizationDirectory) { h.orgs = d }

// actor returns who manages keys: the account itself, or, when organization is
// set, the account acting for it, which it must manage (L12); otherwise the lock
// reads as not found (E2).
func (h *Locks) actor(ctx context.Context, account, organization uuid.UUID) (lock.Actor, error) {
	a := lock.Actor{Account: account, Organization: organization}
	if organization == uuid.Nil {
		return a, nil
	}
	if h.orgs == nil {
		return a, lock.ErrNotRegistered
	}
	ok, err := h.orgs.ManagesKeys(ctx, organization, account)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, organizationRefusal
	}
	return a, nil
}

// organizationRefusal answers an account that does not manage the organization it
// claims to act for: a member acting as a manager, or an outsider (O4).
var organizationRefusal = &domain.Error{Code: domain.EForbidden, Message: "only a manager or admin of that organization may manage its keys"}

// updateAs runs decide on a lock the actor may see: its owner, or an organization
// holding a key to it (E2, L12).
func (h *Locks) updateAs(ctx context.Context, lockID uuid.UUID, by lock.Actor, meta Meta, decide func(*lock.Lock) error) (Result, error) {
	return h.locks.Update(ctx, lock.Stream(lockID), meta, func(l *lock.Lock) error {
		if by.Organization == uuid.Nil && !l.CanSee(by.Account) || by.Organization != uuid.Nil && !l.HasOrganization(by.Organization) {
			return lock.ErrNotRegistered
		}
		return decide(l)
	})
}

func reportLog(stream string) *report.Log {
	id, _ := es.StreamID(stream)
	return report.New(id)
}

// LockRepository exposes the repository, for process managers and tests.
func (h *Locks) LockRepository() *Repository[*lock.Lock] { return h.locks }

// RegisterLock registers a hardware lock to the calling account (L1).
type RegisterLock struct {
	Serial   string
	Name     string
	TimeZone string
}

// Registered is the outcome of RegisterLock: the lock's id and its device token,
// shown this once (D1).
type Registered struct {
	Result
	LockID      uuid.UUID
	DeviceToken string
}

func (h *Locks) checkZone(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", domain.Errorf(domain.EInvalid, "time_zone is required, e.g. Europe/Amsterdam")
	}
	if _, err := h.locations(name); err != nil {
		return "", domain.Errorf(domain.EInvalid, "unknown time_zone %q: use an IANA name such as Europe/Amsterdam", name)
	}
	return name, nil
}

// RegisterLock reserves the serial on first sight, then registers the lock: the
// first registration starts the trial (L2); a removed lock's serial registers the
// same lock again with its original dates (L7); a retired serial is refused (L17).
func (h *Locks) RegisterLock(ctx context.Context, owner uuid.UUID, meta Meta, cmd RegisterLock) (Registered, error) {
	serial, err := lock.NormalizeSerial(cmd.Serial)
	if err != nil {
		return Registered{}, err
	}
	tz, err := h.checkZone(cmd.TimeZone)
	if err != nil {
		return Registered{}, err
	}
	token, err := newToken(h.rand, h.secrets, meta, "device-token")
	if err != nil {
		return Registered{}, err
	}
	stream := lock.SerialStream(serial)
	var lockID uuid.UUID
	var retired bool
	for attempt := 0; attempt < maxAttempts && lockID == uuid.Nil; attempt++ {
		if err := h.serials.Read(ctx, stream, func(s *lock.Serial) error {
			lockID, retired = s.LockID(), s.Retired()
			return nil
		}); err != nil {
			return Registered{}, err
		}
		if lockID != uuid.Nil {
			break
		}
		fresh := NewID()
		_, err := h.serials.Update(ctx, stream, meta.sub("serial"), func(s *lock.Serial) error {
			return s.Assign(serial, fresh, h.clock.Now())
		})
		if err != nil && domain.ErrorCode(err) != domain.EConflict {
			return Registered{}, err
		}
	}
	if lockID == uuid.Nil {
		return Registered{}, ErrConflict
	}
	if retired {
		return Registered{}, lock.ErrSerialRetired
	}
	res, err := h.locks.Update(ctx, lock.Stream(lockID), meta, func(l *lock.Lock) error {
		return l.Register(lockID, serial, owner, cmd.Name, tz, h.digest(token), h.clock.Now())
	})
	if err != nil {
		return Registered{}, err
	}
	return Registered{Result: res, LockID: lockID, DeviceToken: token}, nil
}

// sub returns m for a secondary stream of the same command: its own event ids.
func (m Meta) sub(part string) Meta {
	if m.IdempotencyKey != "" {
		m.IdempotencyKey += "/" + part
	}
	return m
}

// UpdateLock renames a lock or changes its time zone.
type UpdateLock struct {
	LockID   uuid.UUID
	Name     *string
	TimeZone *string
}

// UpdateLock applies cmd.
func (h *Locks) UpdateLock(ctx context.Context, by uuid.UUID, meta Meta, cmd UpdateLock) (Result, error) {
	if cmd.TimeZone != nil {
		tz, err := h.checkZone(*cmd.TimeZone)
		if err != nil {
			return Result{}, err
		}
		cmd.TimeZone = &tz
	}
	return h.update(ctx, cmd.LockID, by, meta, func(l *lock.Lock) error {
		return l.Update(by, cmd.Name, cmd.TimeZone, h.clock.Now())
	})
}

// update runs decide on a lock the caller can see; others read as not found (E2).
func (h *Locks) update(ctx context.Context, lockID, by uuid.UUID, meta Meta, decide func(*lock.Lock) error) (Result, error) {
	return h.locks.Update(ctx, lock.Stream(lockID), meta, func(l *lock.Lock) error {
		if !l.CanSee(by) {
			return lock.ErrNotRegistered
		}
		return decide(l)
	})
}

// RemoveLock revokes every key and ends the ownership (L7).
func (h *Locks) RemoveLock(ctx context.Context, by, lockID uuid.UUID, meta Meta) (Result, error) {
	return h.update(ctx, lockID, by, meta, func(l *lock.Lock) error { return l.Remove(by, h.clock.Now()) })
}

// Freeze makes the door refuse every key (L15).
func (h *Locks) Freeze(ctx context.Context, by, lockID uuid.UUID, meta Meta) (Result, error) {
	return h.update(ctx, lockID, by, meta, func(l *lock.Lock) error { return l.Freeze(by, h.clock.Now()) })
}

// Unfreeze ends a freeze (L15).
func (h *Locks) Unfreeze(ctx context.Context, by, lockID uuid.UUID, meta Meta) (Result, error) {
	return h.update(ctx, lockID, by, meta, func(l *lock.Lock) error { return l.Unfreeze(by, h.clock.Now()) })
}

// RotateDeviceToken gives the lock's device a new token, shown this once (D1).
func (h *Locks) RotateDeviceToken(ctx context.Context, by, lockID uuid.UUID, meta Meta) (Result, string, error) {
	token, err := newToken(h.rand, h.secrets, meta, "device-token")
	if err != nil {
		return Result{}, "", err
	}
	res, err := h.update(ctx, lockID, by, meta, func(l *lock.Lock) error {
		return l.RotateDeviceToken(by, h.digest(token), h.clock.Now())
	})
	return res, token, err
}

// ReplaceLock moves a lock to a never-registered serial (L17): the new serial is
// reserved for the lock, the lock records the replacement, and the old serial is
// retired. The lock's stream is the authority: if a crash leaves the old serial
// unmarked, registering it is still refused, because the lock no longer has it.
func (h *Locks) ReplaceLock(ctx context.Context, by, lockID uuid.UUID, meta Meta, newSerial string) (Result, error) {
	serial, err := lock.NormalizeSerial(newSerial)
	if err != nil {
		return Result{}, err
	}
	var old string
	if err := h.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if !l.CanSee(by) {
			return lock.ErrNotRegistered
		}
		old = l.Serial()
		return nil
	}); err != nil {
		return Result{}, err
	}
	if old == serial {
		return Result{}, domain.Errorf(domain.EInvalid, "the new serial is the lock's current serial")
	}
	_, err = h.serials.Update(ctx, lock.SerialStream(serial), meta.sub("new-serial"), func(s *lock.Serial) error {
		switch s.LockID() {
		case uuid.Nil:
			return s.Assign(serial, lockID, h.clock.Now())
		case lockID:
			return nil // reserved by an earlier attempt of this replacement
		}
		return lock.ErrSerialInUse
	})
	if err != nil {
		return Result{}, err
	}
	res, err := h.update(ctx, lockID, by, meta, func(l *lock.Lock) error {
		if l.Serial() == serial {
			return nil // done by an earlier attempt
		}
		return l.Replace(by, serial, h.clock.Now())
	})
	if err != nil {
		return Result{}, err
	}
	_, err = h.serials.Update(ctx, lock.SerialStream(old), meta.sub("old-serial"), func(s *lock.Serial) error {
		return s.Retire(lockID, h.clock.Now())
	})
	return res, err
}

// IssueKey issues a key on a lock (L8–L10, L12).
type IssueKey struct {
	LockID uuid.UUID
	// Organization, when set, is the organization the caller manages keys for.
	Organization uuid.UUID
	Type         string
	AccountID    uuid.UUID // phone keys
	Credential   string    // remote serial, tag UID or PIN; a PIN is generated when empty
	Terms        lock.KeyTerms
	// BulkID, when set, is the building's bulk issue the key is part of (L13).
	BulkID uuid.UUID
}

// IssuedKey is the outcome of IssueKey; PIN is set when the platform generated
// one, which is shown this once.
type IssuedKey struct {
	Result
	KeyID uuid.UUID
	PIN   string
}

// PINDigits is the length of generated PINs.
const PINDigits = 6

// IssueKey validates the credential, turns it into a keyed digest and lets the lock
// decide. A missing PIN is generated, unique among the lock's active codes.
func (h *Locks) IssueKey(ctx context.Context, by uuid.UUID, meta Meta, cmd IssueKey) (IssuedKey, error) {
	t, err := lock.ParseKeyType(cmd.Type)
	if err != nil {
		return IssuedKey{}, err
	}
	as, err := h.actor(ctx, by, cmd.Organization)
	if err != nil {
		return IssuedKey{}, err
	}
	req := lock.KeyRequest{KeyID: NewID(), Type: t, Terms: cmd.Terms, BulkID: cmd.BulkID}
	var pin string
	switch t {
	case lock.KeyPhone:
		if cmd.Credential != "" {
			return IssuedKey{}, domain.Errorf(domain.EInvalid, "a phone key takes account_id, not a credential")
		}
		if cmd.AccountID == uuid.Nil {
			return IssuedKey{}, domain.Errorf(domain.EInvalid, "a phone key needs account_id")
		}
		ok, err := h.accounts.AccountExists(ctx, cmd.AccountID)
		if err != nil {
			return IssuedKey{}, err
		}
		if !ok {
			return IssuedKey{}, domain.Errorf(domain.EInvalid, "account_id names no account")
		}
		req.AccountID = cmd.AccountID
	default:
		if cmd.AccountID != uuid.Nil {
			return IssuedKey{}, domain.Errorf(domain.EInvalid, "only phone keys take account_id")
		}
		if cmd.Credential == "" && t != lock.KeyCode {
			return IssuedKey{}, domain.Errorf(domain.EInvalid, "a %s key needs its credential", t)
		}
		if cmd.Credential != "" {
			norm, err := lock.NormalizeCredential(t, cmd.Credential)
			if err != nil {
				return IssuedKey{}, err
			}
			req.CredentialDigest = h.secrets.CredentialDigest(cmd.LockID, string(t), norm)
			req.CredentialHint = lock.CredentialHint(t, norm)
		}
	}
	res, err := h.updateAs(ctx, cmd.LockID, as, meta, func(l *lock.Lock) error {
		if t == lock.KeyCode && cmd.Credential == "" {
			for attempt := 0; ; attempt++ {
				if attempt == 20 {
					return domain.Errorf(domain.EConflict, "could not find a free PIN; give one")
				}
				if pin, err = h.generatePIN(meta, attempt); err != nil {
					return err
				}
				req.CredentialDigest = h.secrets.CredentialDigest(cmd.LockID, string(t), pin)
				if !l.CredentialInUse(req.CredentialDigest) {
					break
				}
			}
		}
		return l.IssueKey(as, req, h.clock.Now())
	})
	if err != nil {
		return IssuedKey{}, err
	}
	if issued, ok := res.First.(lock.KeyIssued); res.Replayed && ok {
		req.KeyID = issued.KeyID // a retry: the key the first attempt issued
		if t == lock.KeyCode && cmd.Credential == "" {
			// and the derived PIN it kept, to show it again
			if pin, err = h.replayedPIN(ctx, cmd.LockID, req.KeyID, meta); err != nil {
				return IssuedKey{}, err
			}
		}
	}
	return IssuedKey{Result: res, KeyID: req.KeyID, PIN: pin}, nil
}

func (h *Locks) replayedPIN(ctx context.Context, lockID, keyID uuid.UUID, meta Meta) (string, error) {
	var want string
	if err := h.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if k := l.Key(keyID); k != nil {
			want = k.CredentialDigest
		}
		return nil
	}); err != nil || want == "" {
		return "", err // revoked since: the PIN is of no use any more
	}
	for attempt := 0; attempt < 20; attempt++ {
		pin, err := h.generatePIN(meta, attempt)
		if err != nil {
			return "", err
		}
		if h.secrets.CredentialDigest(lockID, string(lock.KeyCode), pin) == want {
			return pin, nil
		}
	}
	return "", nil
}

// generatePIN returns a uniform PIN: derived from the idempotency key when there is
// one (a retry gets the same PIN), random otherwise.
func (h *Locks) generatePIN(meta Meta, attempt int) (string, error) {
	var src []byte
	if s := meta.scope("pin"); s != "" {
		src = h.secrets.Derive("pin", s, fmt.Sprint(attempt))
	} else {
		src = make([]byte, 32)
		if _, err := io.ReadFull(h.rand, src); err != nil {
			return "", err
		}
	}
	digits := make([]byte, 0, PINDigits)
	for _, b := range src {
		if b >= 250 { // rejection sampling: 250 = 25 × 10, no modulo bias
			continue
		}
		digits = append(digits, '0'+b%10)
		if len(digits) == PINDigits {
			return string(digits), nil
		}
	}
	return "", errors.New("generate pin: not enough random bytes")
}

// ChangeKey edits a key's terms, keeping key and credential (L9).
func (h *Locks) ChangeKey(ctx context.Context, by, lockID, keyID uuid.UUID, meta Meta, terms lock.KeyTerms) (Result, error) {
	return h.ChangeKeyFor(ctx, by, uuid.Nil, lockID, keyID, meta, terms)
}

// ChangeKeyFor edits a key as a manager of organization (L12), or as the owner
// when organization is Nil.
func (h *Locks) ChangeKeyFor(ctx context.Context, by, organization, lockID, keyID uuid.UUID, meta Meta, terms lock.KeyTerms) (Result, error) {
	as, err := h.actor(ctx, by, organization)
	if err != nil {
		return Result{}, err
	}
	return h.updateAs(ctx, lockID, as, meta, func(l *lock.Lock) error { return l.ChangeKey(as, keyID, terms, h.clock.Now()) })
}

// RevokeKey withdraws a key (L10); allowed in revoke-only (L5).
func (h *Locks) RevokeKey(ctx context.Context, by, lockID, keyID uuid.UUID, meta Meta) (Result, error) {
	return h.RevokeKeyFor(ctx, by, uuid.Nil, lockID, keyID, meta)
}

// RevokeKeyFor revokes a key as a manager of the organization that issued it
// (L10, L12), or as the owner when organization is Nil.
func (h *Locks) RevokeKeyFor(ctx context.Context, by, organization, lockID, keyID uuid.UUID, meta Meta) (Result, error) {
	as, err := h.actor(ctx, by, organization)
	if err != nil {
		return Result{}, err
	}
	return h.updateAs(ctx, lockID, as, meta, func(l *lock.Lock) error { return l.RevokeKey(as, keyID, h.clock.Now()) })
}

// GrantOrganization gives an organization a key to the lock, or changes its quota
// (L11, L12).
func (h *Locks) GrantOrganization(ctx context.Context, by, lockID, organization uuid.UUID, quota int, meta Meta) (Result, error) {
	mgmt := false
	if h.orgs != nil && organization != uuid.Nil {
		var err error
		if mgmt, err = h.orgs.HasManagement(ctx, organization); err != nil {
			return Result{}, err
		}
	}
	return h.update(ctx, lockID, by, meta, func(l *lock.Lock) error {
		return l.GrantOrganization(by, organization, quota, mgmt, h.clock.Now())
	})
}

// OrganizationKey is a key an organization holds to a lock (L12).
type OrganizationKey struct {
	Organization uuid.UUID
	Quota        int
	Issued       int // active keys it issued on the lock
}

// OrganizationKeys lists the organizations holding a key to the lock; owner only.
func (h *Locks) OrganizationKeys(ctx context.Context, by, lockID uuid.UUID) ([]OrganizationKey, error) {
	var out []OrganizationKey
	err := h.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if !l.CanSee(by) {
			return lock.ErrNotRegistered
		}
		for org, q := range l.Organizations() {
			out = append(out, OrganizationKey{Organization: org, Quota: q, Issued: l.IssuedBy(org)})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b OrganizationKey) int { return slices.Compare(a.Organization[:], b.Organization[:]) })
	return out, err
}

// RevokeOrganization takes an organization's key back, with every key it issued
// on the lock (L12).
func (h *Locks) RevokeOrganization(ctx context.Context, by, lockID, organization uuid.UUID, meta Meta) (Result, error) {
	return h.update(ctx, lockID, by, meta, func(l *lock.Lock) error {
		return l.RevokeOrganization(by, organization, h.clock.Now())
	})
}

// RecordPeriods records the period ends and reminders now due on a lock (L4, L16);
// the scheduler runs it.
func (h *Locks) RecordPeriods(ctx context.Context, lockID uuid.UUID) (Result, error) {
	meta := Meta{Actor: es.ActorOf(es.ActorSystem, "scheduler")}
	return h.locks.Update(ctx, lock.Stream(lockID), meta, func(l *lock.Lock) error {
		l.RecordPeriods(h.clock.Now())
		return nil
	})
}

// UseKey records one use of a use-limited key the door is letting through (D1).
func (h *Locks) UseKey(ctx context.Context, lockID, keyID uuid.UUID, at time.Time) (Result, error) {
	loc := time.UTC
	meta := Meta{Actor: es.ActorOf(es.ActorDevice, lockID.String())}
	return h.locks.Update(ctx, lock.Stream(lockID), meta, func(l *lock.Lock) error {
		if z, err := h.locations(l.TimeZone()); err == nil {
			loc = z
		}
		return l.UseKey(keyID, at, loc)
	})
}

// ReportDeviceEvents records what a lock's device reports (D2).
func (h *Locks) ReportDeviceEvents(ctx context.Context, lockID uuid.UUID, reports []report.Report) (Result, error) {
	meta := Meta{Actor: es.ActorOf(es.ActorDevice, lockID.String())}
	return h.reports.Update(ctx, report.Stream(lockID), meta, func(l *report.Log) error {
		return l.Record(reports, h.clock.Now())
	})
}

// Package lock is the lock aggregate with its keys (SPEC L1–L17, D1): who owns it,
// how long it may be fully managed, which keys open it, and whether it is frozen.
// A key is an entity inside its lock's stream, because the lock guards the 2,500-key
// cap, the allowance and the management level.
package lock

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Category is the stream category of locks: "lock-<id>".
const Category = "lock"

// Stream returns the stream of lock id.
func Stream(id uuid.UUID) string { return es.StreamName(Category, id) }

// SerialCategory is the stream category of serial reservations.
const SerialCategory = "serial"

// serialNamespace makes serial stream ids; it never changes.
var serialNamespace = uuid.MustParse("3f6c2a8e-0d5b-4b7e-9a51-6c1d2e7f8a90")

// SerialStream returns the reservation stream of a normalized serial.
func SerialStream(serial string) string {
	return es.StreamName(SerialCategory, uuid.NewSHA1(serialNamespace, []byte(serial)))
}

// NormalizeSerial validates a hardware serial: trimmed, upper case, 3 to 64 of
// A–Z, 0–9, '-', '_' and '.'.
func NormalizeSerial(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) < 3 || len(s) > 64 {
		return "", domain.Errorf(domain.EInvalid, "serial must be 3 to 64 characters")
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", domain.Errorf(domain.EInvalid, "serial holds only letters, digits, '-', '_' and '.'")
		}
	}
	return s, nil
}

// MaxName bounds a lock's name.
const MaxName = 100

func validateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > MaxName {
		return "", domain.Errorf(domain.EInvalid, "name must be 1 to %d characters", MaxName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", domain.Errorf(domain.EInvalid, "name holds a control character")
		}
	}
	return name, nil
}

// Level is a lock's management level (L4).
type Level string

// Management levels.
const (
	LevelFull       Level = "full"
	LevelRevokeOnly Level = "revoke_only"
)

// Lock is the aggregate. State is private; it changes only through its methods.
type Lock struct {
	es.Root
	id          uuid.UUID
	serial      string
	owner       uuid.UUID // uuid.Nil while removed
	name        string
	timeZone    string
	registered  time.Time
	tenureStart uint64 // revision of the Registered event of the current ownership
	applied     uint64 // events applied so far: the next event's revision
	frozen      bool

	trialEnds  time.Time
	paidEnds   time.Time
	sharedEnds time.Time
	allowance  int
	redeemed   map[uuid.UUID]bool // redemption ids already applied (P3)
	ended      map[string]time.Time
	reminded   map[string]bool // period|ends_at|days

	deviceToken string

	orgs       map[uuid.UUID]int    // organizations holding a key to the lock → their quota (L12)
	keys       map[uuid.UUID]*Key   // active keys
	revoked    map[uuid.UUID]bool   // keys revoked
	credential map[string]uuid.UUID // digest of an active code, remote or tag key → key
	phones     map[uuid.UUID]uuid.UUID
}

func newLock() *Lock {
	return &Lock{
		redeemed:   make(map[uuid.UUID]bool),
		ended:      make(map[string]time.Time),
		reminded:   make(map[string]bool),
		orgs:       make(map[uuid.UUID]int),
		keys:       make(map[uuid.UUID]*Key),
		revoked:    make(map[uuid.UUID]bool),
		credential: make(map[string]uuid.UUID),
		phones:     make(map[uuid.UUID]uuid.UUID),
	}
}

// New returns a blank lock, never registered, for a repository to fill.
func New() *Lock { return newLock() }

// Register makes owner the lock's owner (L1). On a blank lock it is the first
// registration ever of the serial: the trial runs three calendar months (L2) and
// the key allowance starts at 25 (L8). On a removed lock it is a re-registration: no
// new trial starts, and the trial, paid and option ends stay the lock's original
// dates (L7). serial must be normalized and be the lock's current serial (a serial
// replaced away is retired, L17); timeZone a valid IANA name.
func (l *Lock) Register(id uuid.UUID, serial string, owner uuid.UUID, name, timeZone, deviceTokenDigest string, now time.Time) error {
	if id == uuid.Nil || owner == uuid.Nil || deviceTokenDigest == "" {
		return domain.Errorf(domain.EInvalid, "lock id, owner and device token are required")
	}
	if _, err := NormalizeSerial(serial); err != nil {
		return err
	}
	name, err := validateName(name)
	if err != nil {
		return err
	}
	now = now.UTC()
	switch {
	case l.id == uuid.Nil:
		l.record(Registered{LockID: id, Serial: serial, OwnerID: owner, Name: name, TimeZone: timeZone,
			RegisteredAt: now, FirstRegistration: true, TrialEndsAt: domain.AddMonths(now, 3),
			KeyAllowance: InitialKeyAllowance, DeviceTokenDigest: deviceTokenDigest})
	case l.id != id:
		return domain.Errorf(domain.EInvalid, "lock %s is not lock %s", l.id, id)
	case serial != l.serial:
		return ErrSerialRetired
	case l.owner != uuid.Nil:
		return ErrAlreadyRegistered
	default:
		l.record(Registered{LockID: l.id, Serial: l.serial, OwnerID: owner, Name: name, TimeZone: timeZone,
			RegisteredAt: now, TrialEndsAt: l.trialEnds, KeyAllowance: l.allowance, DeviceTokenDigest: deviceTokenDigest})
	}
	return nil
}

// Rehydrate builds a lock from its stored history. It is for repositories and tests.
func Rehydrate(history []es.Event) *Lock {
	l := newLock()
	l.Replay(history...)
	return l
}

// Replay applies stored events and counts them in the version.
func (l *Lock) Replay(events ...es.Event) {
	for _, e := range events {
		l.apply(e)
	}
	l.Replayed(len(events))
}

func (l *Lock) record(e es.Event) {
	l.apply(e)
	l.Record(e)
}

// apply changes state from one event. It never validates, fails or reads a clock.
func (l *Lock) apply(e es.Event) {
	rev := l.applied
	l.applied++
	switch e := e.(type) {
	case Registered:
		l.id, l.serial, l.owner, l.name, l.timeZone = e.LockID, e.Serial, e.OwnerID, e.Name, e.TimeZone
		l.registered, l.deviceToken, l.frozen = e.RegisteredAt, e.DeviceTokenDigest, false
		l.tenureStart = rev
		if e.FirstRegistration {
			l.trialEnds, l.allowance = e.TrialEndsAt, e.KeyAllowance
		}
	case Updated:
		l.name, l.timeZone = e.Name, e.TimeZone
	case Removed:
		l.owner, l.frozen = uuid.Nil, false
		clear(l.orgs)
	case OrganizationKeyIssued:
		l.orgs[e.OrganizationID] = e.Quota
	case OrganizationKeyRevoked:
		delete(l.orgs, e.OrganizationID)
	case ManagementExtended:
		l.paidEnds = e.PaidEndsAt
		l.redeemed[e.RedemptionID] = true
	case KeyAllowanceIncreased:
		l.allowance = e.KeyAllowance
		l.redeemed[e.RedemptionID] = true
	case SharedManagementActivated:
		l.sharedEnds = e.SharedManagementEndsAt
		l.redeemed[e.RedemptionID] = true
	case PeriodEnded:
		l.ended[e.Period] = e.EndsAt
	case PeriodReminderDue:
		l.reminded[reminderKey(e.Period, e.EndsAt, e.DaysBefore)] = true
	case Frozen:
		l.frozen = true
	case Unfrozen:
		l.frozen = false
	case Replaced:
		l.serial = e.NewSerial
	case DeviceTokenRotated:
		l.deviceToken = e.DeviceTokenDigest
	case KeyIssued:
		k := &Key{ID: e.KeyID, Type: e.Type, AccountID: e.AccountID, CredentialDigest: e.CredentialDigest,
			CredentialHint: e.CredentialHint, IssuedBy: e.IssuedBy, Organization: e.Organization, IssuedAt: e.IssuedAt, BulkID: e.BulkID,
			KeyTerms: KeyTerms{HolderName: e.HolderName, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, Schedule: e.Schedule, MaxUses: e.MaxUses}}
		l.keys[k.ID] = k
		if k.Type == KeyPhone {
			l.phones[k.AccountID] = k.ID
		} else {
			l.credential[k.CredentialDigest] = k.ID
		}
	case KeyChanged:
		if k := l.keys[e.KeyID]; k != nil {
			k.KeyTerms = KeyTerms{HolderName: e.HolderName, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, Schedule: e.Schedule, MaxUses: e.MaxUses}
		}
	case KeyRevoked:
		if k := l.keys[e.KeyID]; k != nil {
			delete(l.keys, k.ID)
			if k.Type == KeyPhone {
				delete(l.phones, k.AccountID)
			} else {
				delete(l.credential, k.CredentialDigest)
			}
		}
		l.revoked[e.KeyID] = true
	case KeyUsed:
		if k := l.keys[e.KeyID]; k != nil {
			k.Uses = e.Uses
		}
	}
}

// ID returns the lock's id.
func (l *Lock) ID() uuid.UUID { return l.id }

// Serial returns the lock's current hardware serial.
func (l *Lock) Serial() string { return l.serial }

// Owner returns the owning account, uuid.Nil while the lock is removed.
func (l *Lock) Owner() uuid.UUID { return l.owner }

// Registered reports whether the lock has an owner.
func (l *Lock) Registered() bool { return l.owner != uuid.Nil }

// Name returns the lock's name.
func (l *Lock) Name() string { return l.name }

// TimeZone returns the IANA name of the lock's time zone.
func (l *Lock) TimeZone() string { return l.timeZone }

// RegisteredAt returns when the current ownership began.
func (l *Lock) RegisteredAt() time.Time { return l.registered }

// Frozen reports whether every key is refused at the door (L15).
func (l *Lock) Frozen() bool { return l.frozen }

// KeyAllowance returns how many keys the lock may hold at once (L8).
func (l *Lock) KeyAllowance() int { return l.allowance }

// ActiveKeys returns the number of active keys.
func (l *Lock) ActiveKeys() int { return len(l.keys) }

// Key returns an active key, or nil.
func (l *Lock) Key(id uuid.UUID) *Key { return l.keys[id] }

// DeviceTokenDigest returns the digest of the current device token (D1).
func (l *Lock) DeviceTokenDigest() string { return l.deviceToken }

// TenureStart returns the stream revision at which the current ownership began:
// the owner's view of the lock's log starts there (E2).
func (l *Lock) TenureStart() uint64 { return l.tenureStart }

// Periods returns the ends of the trial, the paid management and the shared
// management option; a zero time for a period never bought.
func (l *Lock) Periods() (trial, paid, shared time.Time) {
	return l.trialEnds, l.paidEnds, l.sharedEnds
}

// CanSee reports whether account may see the lock (E2): its owner.
func (l *Lock) CanSee(account uuid.UUID) bool { return l.owner != uuid.Nil && l.owner == account }

// HasOrganization reports whether organization holds a key to the registered lock
// (L12): its managers may then see the lock and manage the keys it issued.
func (l *Lock) HasOrganization(organization uuid.UUID) bool {
	_, ok := l.orgs[organization]
	return ok && l.owner != uuid.Nil
}

// Organizations returns the organizations holding a key, with their quotas.
func (l *Lock) Organizations() map[uuid.UUID]int {
	out := make(map[uuid.UUID]int, len(l.orgs))
	for k, v := range l.orgs {
		out[k] = v
	}
	return out
}

// Level returns the management level at t (L4): full while t is before the trial's
// or the paid period's end; revoke-only otherwise.
func (l *Lock) Level(t time.Time) Level {
	if t.Before(l.managementEnds()) {
		return LevelFull
	}
	return LevelRevokeOnly
}

func (l *Lock) managementEnds() time.Time {
	if l.paidEnds.After(l.trialEnds) {
		return l.paidEnds
	}
	return l.trialEnds
}

// DaysLeft returns the whole days, rounded up, until full management ends; 0 when
// it has (L16).
func (l *Lock) DaysLeft(t time.Time) int { return daysUntil(l.managementEnds(), t) }

func daysUntil(end, t time.Time) int {
	if !t.Before(end) {
		return 0
	}
	return int(math.Ceil(end.Sub(t).Hours() / 24))
}

// SharedManagementActive reports whether the shared-management option can be used
// at t: bought and running, and paid management active (L11).
func (l *Lock) SharedManagementActive(t time.Time) bool {
	return t.Before(l.sharedEnds) && t.Before(l.paidEnds)
}

func (l *Lock) mustOwn(by uuid.UUID) error {
	if l.owner == uuid.Nil {
		return ErrNotRegistered
	}
	if by != l.owner {
		return ErrNotOwner
	}
	return nil
}

func (l *Lock) mustManage(by uuid.UUID, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	if l.Level(now) != LevelFull {
		return domain.Errorf(domain.EManagementInactive,
			"management of this lock ended on %s: you can still revoke keys, but to issue or change keys redeem a management code",
			l.managementEnds().Format("2006-01-02"))
	}
	return nil
}

// Update renames the lock or moves it to another time zone; nil leaves a field be.
func (l *Lock) Update(by uuid.UUID, name, timeZone *string, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	e := Updated{Name: l.name, TimeZone: l.timeZone, UpdatedBy: by, UpdatedAt: now.UTC()}
	if name != nil {
		n, err := validateName(*name)
		if err != nil {
			return err
		}
		e.Name = n
	}
	if timeZone != nil {
		e.TimeZone = *timeZone
	}
	if e.Name == l.name && e.TimeZone == l.timeZone {
		return nil
	}
	l.record(e)
	return nil
}

// Remove revokes every key (reason: lock removed) and ends the ownership (L7). It is
// allowed in revoke-only (L5).
func (l *Lock) Remove(by uuid.UUID, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	now = now.UTC()
	for _, id := range l.activeKeyIDs() {
		l.record(KeyRevoked{KeyID: id, Reason: ReasonLockRemoved, RevokedBy: by, RevokedAt: now})
	}
	for _, org := range l.organizationIDs() {
		l.record(OrganizationKeyRevoked{OrganizationID: org, RevokedBy: by, RevokedAt: now})
	}
	l.record(Removed{OwnerID: l.owner, RemovedBy: by, RemovedAt: now})
	return nil
}

func (l *Lock) organizationIDs() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(l.orgs))
	for id := range l.orgs {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

// ErrSharedInactive refuses shared key management while the option or paid
// management is not active (L11, L12).
var ErrSharedInactive = &domain.Error{Code: domain.EOptionUnavailable,
	Message: "shared key management needs the shared-management option and paid management, both active: redeem the codes first"}

// ErrNoOrganizationManagement refuses a key to an organization without
// organization management (L12, O6).
var ErrNoOrganizationManagement = &domain.Error{Code: domain.EForbidden,
	Message: "that organization has no organization management, so it cannot take part in shared key management"}

// GrantOrganization gives an organization a key to the lock, or changes its quota
// (L12): only the owner, only while the shared-management option and paid
// management are active (L11), only to an organization with organization
// management (O6; the command layer looks it up).
func (l *Lock) GrantOrganization(by, organization uuid.UUID, quota int, hasManagement bool, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	if !l.SharedManagementActive(now) {
		return ErrSharedInactive
	}
	if organization == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "organization_id is required")
	}
	if !hasManagement {
		return ErrNoOrganizationManagement
	}
	if quota < 0 || quota > MaxActiveKeys {
		return domain.Errorf(domain.EInvalid, "quota must be 0 (none) to %d", MaxActiveKeys)
	}
	if q, ok := l.orgs[organization]; ok && q == quota {
		return nil
	}
	l.record(OrganizationKeyIssued{OrganizationID: organization, Quota: quota, IssuedBy: by, IssuedAt: now.UTC()})
	return nil
}

// RevokeOrganization takes an organization's key back and revokes every key it
// issued on the lock (L12). Like every revocation it is allowed in revoke-only (L5).
func (l *Lock) RevokeOrganization(by, organization uuid.UUID, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	if _, ok := l.orgs[organization]; !ok {
		return domain.Errorf(domain.ENotFound, "that organization holds no key to this lock")
	}
	now = now.UTC()
	for _, id := range l.activeKeyIDs() {
		if l.keys[id].Organization == organization {
			l.record(KeyRevoked{KeyID: id, Reason: ReasonOrganizationKeyRevoked, RevokedBy: by, RevokedAt: now})
		}
	}
	l.record(OrganizationKeyRevoked{OrganizationID: organization, RevokedBy: by, RevokedAt: now})
	return nil
}

// IssuedBy counts the active keys an organization issued on the lock.
func (l *Lock) IssuedBy(organization uuid.UUID) int {
	n := 0
	for _, k := range l.keys {
		if k.Organization == organization {
			n++
		}
	}
	return n
}

// KeyIDs returns the active keys' ids in issue order.
func (l *Lock) KeyIDs() []uuid.UUID { return l.activeKeyIDs() }

// activeKeyIDs returns the active keys in issue order, so events come out the same
// on every run.
func (l *Lock) activeKeyIDs() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(l.keys))
	for id := range l.keys {
		ids = append(ids, id)
	}
	sortKeys(ids, l.keys)
	return ids
}

// BenefitKind is what a prepaid code gives a lock.
type BenefitKind string

// Benefits of lock codes (P1).
const (
	BenefitManagement       BenefitKind = "management"        // five more years (L3)
	BenefitSharedManagement BenefitKind = "shared_management" // the option, five years (L11)
	BenefitKeys             BenefitKind = "keys"              // a larger allowance (L8)
)

// Benefit is a code's effect on a lock.
type Benefit struct {
	Kind BenefitKind
	Keys int // for BenefitKeys
}

// CheckRedemption decides, before the code is consumed, whether the owner may
// redeem a code with benefit b now. Redeeming is allowed in revoke-only (L5);
// shared management only while paid management is active (L11); a keys code never
// takes the allowance past 2,500 (L8).
func (l *Lock) CheckRedemption(by uuid.UUID, b Benefit, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	switch b.Kind {
	case BenefitManagement:
		return nil
	case BenefitSharedManagement:
		if !now.Before(l.paidEnds) {
			return ErrSharedNeedsPaid
		}
		return nil
	case BenefitKeys:
		if b.Keys < 1 || l.allowance+b.Keys > MaxActiveKeys {
			return ErrAllowanceCapped
		}
		return nil
	}
	return domain.Errorf(domain.EInvalid, "unknown benefit %q", b.Kind)
}

// ApplyCode grants a consumed code's benefit (P3). It never refuses: the decision
// was taken when the code was consumed, and a consumed code always yields its
// benefit, also when a crash delayed this step. It records nothing when this
// redemption was applied before.
func (l *Lock) ApplyCode(codeID, redemptionID uuid.UUID, b Benefit, now time.Time) {
	if l.redeemed[redemptionID] {
		return
	}
	now = now.UTC()
	switch b.Kind {
	case BenefitManagement:
		from := now
		if l.paidEnds.After(from) {
			from = l.paidEnds // codes stack (L3)
		}
		l.record(ManagementExtended{CodeID: codeID, RedemptionID: redemptionID, PaidEndsAt: domain.AddYears(from, 5), ExtendedAt: now})
	case BenefitSharedManagement:
		from := now
		if l.sharedEnds.After(from) {
			from = l.sharedEnds
		}
		l.record(SharedManagementActivated{CodeID: codeID, RedemptionID: redemptionID, SharedManagementEndsAt: domain.AddYears(from, 5), ActivatedAt: now})
	case BenefitKeys:
		allowance := min(l.allowance+b.Keys, MaxActiveKeys)
		l.record(KeyAllowanceIncreased{CodeID: codeID, RedemptionID: redemptionID, Added: allowance - l.allowance, KeyAllowance: allowance, IncreasedAt: now})
	}
}

// Redeemed reports whether a redemption's benefit is on the lock.
func (l *Lock) Redeemed(redemptionID uuid.UUID) bool { return l.redeemed[redemptionID] }

// RecordPeriods records, for a registered lock, every period that has ended by now
// and not been recorded (L4), and every reminder due 30 and 7 days before full
// management or the shared-management option ends (L16). The scheduler calls it.
func (l *Lock) RecordPeriods(now time.Time) {
	if l.owner == uuid.Nil {
		return
	}
	now = now.UTC()
	for _, p := range []struct {
		name string
		ends time.Time
	}{{PeriodTrial, l.trialEnds}, {PeriodPaid, l.paidEnds}, {PeriodSharedManagement, l.sharedEnds}} {
		if !p.ends.IsZero() && !now.Before(p.ends) && !l.ended[p.name].Equal(p.ends) {
			l.record(PeriodEnded{Period: p.name, EndsAt: p.ends, EndedAt: now})
		}
	}
	for _, p := range []struct {
		name string
		ends time.Time
	}{{PeriodManagement, l.managementEnds()}, {PeriodSharedManagement, l.sharedEnds}} {
		if p.ends.IsZero() || !now.Before(p.ends) {
			continue
		}
		left := p.ends.Sub(now)
		for _, days := range []int{7, 30} { // the nearer reminder first: a late start sends only it
			if left <= time.Duration(days)*24*time.Hour {
				if key := reminderKey(p.name, p.ends, days); !l.reminded[key] {
					l.record(PeriodReminderDue{Period: p.name, EndsAt: p.ends, DaysBefore: days, OwnerID: l.owner, DueAt: now})
					// a 30-day reminder after the 7-day one would only confuse
					l.reminded[reminderKey(p.name, p.ends, 30)] = true
				}
				break
			}
		}
	}
}

func reminderKey(period string, ends time.Time, days int) string {
	return fmt.Sprintf("%s|%d|%d", period, ends.Unix(), days)
}

// NextDeadline returns the earliest moment after now at which RecordPeriods would
// record something, or a zero time if none: the scheduler's wake-up time.
func (l *Lock) NextDeadline(now time.Time) time.Time {
	if l.owner == uuid.Nil {
		return time.Time{}
	}
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, ends := range []time.Time{l.trialEnds, l.paidEnds, l.sharedEnds} {
		if !ends.IsZero() {
			consider(ends)
		}
	}
	for _, ends := range []time.Time{l.managementEnds(), l.sharedEnds} {
		if !ends.IsZero() {
			consider(ends.Add(-30 * 24 * time.Hour))
			consider(ends.Add(-7 * 24 * time.Hour))
		}
	}
	return next
}

// Freeze makes the door refuse every key until Unfreeze (L15). Allowed in
// revoke-only; freezing a frozen lock records nothing.
func (l *Lock) Freeze(by uuid.UUID, now time.Time) error {
	if err := l.mustOwn(by); err != nil || l.frozen {
		return err
	}
	l.record(Frozen{FrozenBy: by, FrozenAt: now.UTC()})
	return nil
}

// Unfreeze ends a freeze (L15).
func (l *Lock) Unfreeze(by uuid.UUID, now time.Time) error {
	if err := l.mustOwn(by); err != nil || !l.frozen {
		return err
	}
	l.record(Unfrozen{UnfrozenBy: by, UnfrozenAt: now.UTC()})
	return nil
}

// Replace moves the lock to a new, never-registered serial (L17); the command layer
// has reserved that serial for this lock. Keys, options and periods stay.
func (l *Lock) Replace(by uuid.UUID, newSerial string, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	if newSerial == l.serial {
		return domain.Errorf(domain.EInvalid, "the new serial is the lock's current serial")
	}
	if _, err := NormalizeSerial(newSerial); err != nil {
		return err
	}
	l.record(Replaced{OldSerial: l.serial, NewSerial: newSerial, ReplacedBy: by, ReplacedAt: now.UTC()})
	return nil
}

// RotateDeviceToken replaces the device token (D1); the old one stops working.
func (l *Lock) RotateDeviceToken(by uuid.UUID, digest string, now time.Time) error {
	if err := l.mustOwn(by); err != nil {
		return err
	}
	if digest == "" {
		return domain.Errorf(domain.EInvalid, "device token digest is required")
	}
	l.record(DeviceTokenRotated{DeviceTokenDigest: digest, RotatedBy: by, RotatedAt: now.UTC()})
	return nil
}

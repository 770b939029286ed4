package lock

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Event type names are stored forever: never rename, never reuse.
const (
	RegisteredType                = "lock.registered"
	UpdatedType                   = "lock.updated"
	RemovedType                   = "lock.removed"
	ManagementExtendedType        = "lock.management_extended"
	KeyAllowanceIncreasedType     = "lock.key_allowance_increased"
	SharedManagementActivatedType = "lock.shared_management_activated"
	PeriodEndedType               = "lock.period_ended"
	PeriodReminderDueType         = "lock.period_reminder_due"
	FrozenType                    = "lock.frozen"
	UnfrozenType                  = "lock.unfrozen"
	ReplacedType                  = "lock.replaced"
	DeviceTokenRotatedType        = "lock.device_token_rotated"
	KeyIssuedType                 = "lock.key_issued"
	KeyChangedType                = "lock.key_changed"
	KeyRevokedType                = "lock.key_revoked"
	KeyUsedType                   = "lock.key_used"
	OrganizationKeyIssuedType     = "lock.organization_key_issued"
	OrganizationKeyRevokedType    = "lock.organization_key_revoked"
	SerialAssignedType            = "serial.assigned"
	SerialRetiredType             = "serial.retired"
)

// Registered records that an account registered the lock and became its owner (L1).
// FirstRegistration is true only the first time the serial was ever registered: it
// starts the trial (L2) and the key allowance (L8). A re-registration keeps every
// date the lock already had (L7).
type Registered struct {
	LockID            uuid.UUID `json:"lock_id"`
	Serial            string    `json:"serial"`
	OwnerID           uuid.UUID `json:"owner_id"`
	Name              string    `json:"name"`
	TimeZone          string    `json:"time_zone"`
	RegisteredAt      time.Time `json:"registered_at"`
	FirstRegistration bool      `json:"first_registration"`
	TrialEndsAt       time.Time `json:"trial_ends_at"`
	KeyAllowance      int       `json:"key_allowance"`
	DeviceTokenDigest string    `json:"device_token_digest,omitempty"`
}

// Updated records a new name or time zone; both fields hold the values after.
type Updated struct {
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	UpdatedBy uuid.UUID `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Removed records that the owner removed the lock: ownership ends (L7). The keys'
// revocations are recorded before it, one KeyRevoked each.
type Removed struct {
	OwnerID   uuid.UUID `json:"owner_id"`
	RemovedBy uuid.UUID `json:"removed_by"`
	RemovedAt time.Time `json:"removed_at"`
}

// ManagementExtended records a management code's five years (L3).
type ManagementExtended struct {
	CodeID       uuid.UUID `json:"code_id"`
	RedemptionID uuid.UUID `json:"redemption_id"`
	PaidEndsAt   time.Time `json:"paid_ends_at"`
	ExtendedAt   time.Time `json:"extended_at"`
}

// KeyAllowanceIncreased records a keys code (L8).
type KeyAllowanceIncreased struct {
	CodeID       uuid.UUID `json:"code_id"`
	RedemptionID uuid.UUID `json:"redemption_id"`
	Added        int       `json:"added"`
	KeyAllowance int       `json:"key_allowance"`
	IncreasedAt  time.Time `json:"increased_at"`
}

// SharedManagementActivated records a shared-management code (L11).
type SharedManagementActivated struct {
	CodeID                 uuid.UUID `json:"code_id"`
	RedemptionID           uuid.UUID `json:"redemption_id"`
	SharedManagementEndsAt time.Time `json:"shared_management_ends_at"`
	ActivatedAt            time.Time `json:"activated_at"`
}

// Period names used in PeriodEnded and PeriodReminderDue.
const (
	PeriodTrial            = "trial"
	PeriodPaid             = "paid"
	PeriodManagement       = "management" // the later of trial and paid: when full management ends
	PeriodSharedManagement = "shared_management"
)

// PeriodEnded records that a period passed its end (L4), so the log and the
// notifications show it. The management level itself is derived from the clock.
type PeriodEnded struct {
	Period  string    `json:"period"`
	EndsAt  time.Time `json:"ends_at"`
	EndedAt time.Time `json:"ended_at"`
}

// PeriodReminderDue records that the owner is to be reminded that a period ends
// soon (L16): 30 and 7 days before.
type PeriodReminderDue struct {
	Period     string    `json:"period"`
	EndsAt     time.Time `json:"ends_at"`
	DaysBefore int       `json:"days_before"`
	OwnerID    uuid.UUID `json:"owner_id"`
	DueAt      time.Time `json:"due_at"`
}

// Frozen records that every key is refused at the door until Unfrozen (L15).
type Frozen struct {
	FrozenBy uuid.UUID `json:"frozen_by"`
	FrozenAt time.Time `json:"frozen_at"`
}

// Unfrozen records the end of a freeze.
type Unfrozen struct {
	UnfrozenBy uuid.UUID `json:"unfrozen_by"`
	UnfrozenAt time.Time `json:"unfrozen_at"`
}

// Replaced records that the lock's hardware was swapped for a never-registered
// serial: keys, options and periods stay with the lock; the old serial is retired (L17).
type Replaced struct {
	OldSerial  string    `json:"old_serial"`
	NewSerial  string    `json:"new_serial"`
	ReplacedBy uuid.UUID `json:"replaced_by"`
	ReplacedAt time.Time `json:"replaced_at"`
}

// DeviceTokenRotated records a new device token (D1). Only its digest is stored.
type DeviceTokenRotated struct {
	DeviceTokenDigest string    `json:"device_token_digest,omitempty"`
	RotatedBy         uuid.UUID `json:"rotated_by"`
	RotatedAt         time.Time `json:"rotated_at"`
}

// KeyIssued records a key handed to a holder (L9). The credential is stored only as
// a keyed digest, with a short hint for remotes and tags.
type KeyIssued struct {
	KeyID            uuid.UUID  `json:"key_id"`
	Type             KeyType    `json:"type"`
	HolderName       string     `json:"holder_name"`
	AccountID        uuid.UUID  `json:"account_id,omitzero"`
	CredentialDigest string     `json:"credential_digest,omitempty"`
	CredentialHint   string     `json:"credential_hint,omitempty"`
	ValidFrom        *time.Time `json:"valid_from,omitempty"`
	ValidUntil       *time.Time `json:"valid_until,omitempty"`
	Schedule         Schedule   `json:"schedule,omitempty"`
	MaxUses          int        `json:"max_uses,omitempty"`
	IssuedBy         uuid.UUID  `json:"issued_by"`
	// Organization is the organization whose manager issued the key (L12); the
	// owner sees who issued each key.
	Organization uuid.UUID `json:"organization_id,omitzero"`
	IssuedAt     time.Time `json:"issued_at"`
	// BulkID is the building's bulk issue that gave this key together with keys on
	// other locks, which it revokes together (L13); unset for a single issue.
	BulkID uuid.UUID `json:"bulk_id,omitzero"`
}

// KeyChanged records an edit of a key: same key, same credential (L9). The fields
// hold the values after the change.
type KeyChanged struct {
	KeyID      uuid.UUID  `json:"key_id"`
	HolderName string     `json:"holder_name"`
	ValidFrom  *time.Time `json:"valid_from,omitempty"`
	ValidUntil *time.Time `json:"valid_until,omitempty"`
	Schedule   Schedule   `json:"schedule,omitempty"`
	MaxUses    int        `json:"max_uses,omitempty"`
	ChangedBy  uuid.UUID  `json:"changed_by"`
	ChangedAt  time.Time  `json:"changed_at"`
}

// Reasons a key is revoked.
const (
	ReasonRevoked                = "revoked"
	ReasonLockRemoved            = "lock_removed"
	ReasonOrganizationKeyRevoked = "organization_key_revoked"
)

// OrganizationKeyIssued records that the owner gave an organization a key to the
// lock: its managers may now issue and revoke keys on it, within Quota (0: no quota
// of its own; the lock's allowance still counts) (L12). Given again, it changes the
// quota.
type OrganizationKeyIssued struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	Quota          int       `json:"quota,omitempty"`
	IssuedBy       uuid.UUID `json:"issued_by"`
	IssuedAt       time.Time `json:"issued_at"`
}

// OrganizationKeyRevoked records that the owner took the organization's key back;
// every key the organization issued on the lock is revoked before it (L12).
type OrganizationKeyRevoked struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	RevokedBy      uuid.UUID `json:"revoked_by"`
	RevokedAt      time.Time `json:"revoked_at"`
}

// KeyRevoked records that a key no longer opens the lock (L10).
type KeyRevoked struct {
	KeyID     uuid.UUID `json:"key_id"`
	Reason    string    `json:"reason"`
	RevokedBy uuid.UUID `json:"revoked_by"`
	RevokedAt time.Time `json:"revoked_at"`
}

// KeyUsed records one use of a key with a use limit, counted when the door is
// allowed to open (D1), so a one-time code opens once.
type KeyUsed struct {
	KeyID  uuid.UUID `json:"key_id"`
	Uses   int       `json:"uses"`
	UsedAt time.Time `json:"used_at"`
}

// SerialAssigned reserves a serial for a lock, on the serial's own stream; appended
// with no stream expected, it makes serials unique on the platform (L1).
type SerialAssigned struct {
	Serial     string    `json:"serial"`
	LockID     uuid.UUID `json:"lock_id"`
	AssignedAt time.Time `json:"assigned_at"`
}

// SerialRetired records that a serial was replaced and can never be registered
// again (L17).
type SerialRetired struct {
	Serial    string    `json:"serial"`
	LockID    uuid.UUID `json:"lock_id"`
	RetiredAt time.Time `json:"retired_at"`
}

// EventType implementations.
func (Registered) EventType() string                { return RegisteredType }
func (Updated) EventType() string                   { return UpdatedType }
func (Removed) EventType() string                   { return RemovedType }
func (ManagementExtended) EventType() string        { return ManagementExtendedType }
func (KeyAllowanceIncreased) EventType() string     { return KeyAllowanceIncreasedType }
func (SharedManagementActivated) EventType() string { return SharedManagementActivatedType }
func (PeriodEnded) EventType() string               { return PeriodEndedType }
func (PeriodReminderDue) EventType() string         { return PeriodReminderDueType }
func (Frozen) EventType() string                    { return FrozenType }
func (Unfrozen) EventType() string                  { return UnfrozenType }
func (Replaced) EventType() string                  { return ReplacedType }
func (DeviceTokenRotated) EventType() string        { return DeviceTokenRotatedType }
func (KeyIssued) EventType() string                 { return KeyIssuedType }
func (KeyChanged) EventType() string                { return KeyChangedType }
func (KeyRevoked) EventType() string                { return KeyRevokedType }
func (KeyUsed) EventType() string                   { return KeyUsedType }
func (OrganizationKeyIssued) EventType() string     { return OrganizationKeyIssuedType }
func (OrganizationKeyRevoked) EventType() string    { return OrganizationKeyRevokedType }
func (SerialAssigned) EventType() string            { return SerialAssignedType }
func (SerialRetired) EventType() string             { return SerialRetiredType }

// RegisterEvents adds this package's events to r.
func RegisterEvents(r *es.Registry) {
	es.Register[Registered](r, RegisteredType)
	es.Register[Updated](r, UpdatedType)
	es.Register[Removed](r, RemovedType)
	es.Register[ManagementExtended](r, ManagementExtendedType)
	es.Register[KeyAllowanceIncreased](r, KeyAllowanceIncreasedType)
	es.Register[SharedManagementActivated](r, SharedManagementActivatedType)
	es.Register[PeriodEnded](r, PeriodEndedType)
	es.Register[PeriodReminderDue](r, PeriodReminderDueType)
	es.Register[Frozen](r, FrozenType)
	es.Register[Unfrozen](r, UnfrozenType)
	es.Register[Replaced](r, ReplacedType)
	es.Register[DeviceTokenRotated](r, DeviceTokenRotatedType)
	es.Register[KeyIssued](r, KeyIssuedType)
	es.Register[KeyChanged](r, KeyChangedType)
	es.Register[KeyRevoked](r, KeyRevokedType)
	es.Register[KeyUsed](r, KeyUsedType)
	es.Register[OrganizationKeyIssued](r, OrganizationKeyIssuedType)
	es.Register[OrganizationKeyRevoked](r, OrganizationKeyRevokedType)
	es.Register[SerialAssigned](r, SerialAssignedType)
	es.Register[SerialRetired](r, SerialRetiredType)
}

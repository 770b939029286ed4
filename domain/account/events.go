package account

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Event type names are stored forever: never rename, never reuse.
const (
	// RegisteredType is the stored type of Registered.
	RegisteredType = "account.registered"
	// LoginFailedType is the stored type of LoginFailed.
	LoginFailedType = "account.login_failed"
	// LockedOutType is the stored type of LockedOut.
	LockedOutType = "account.locked_out"
	// SessionStartedType is the stored type of SessionStarted.
	SessionStartedType = "account.session_started"
	// SessionEndedType is the stored type of SessionEnded.
	SessionEndedType = "account.session_ended"
	// UnlockedType is the stored type of Unlocked.
	UnlockedType = "account.unlocked"
	// UsernameReservedType is the stored type of UsernameReserved.
	UsernameReservedType = "username.reserved"
)

// Registered records that an account was created (A1, A2). PasswordHash is a slow
// salted hash made outside the domain, designed to be stored; the plain password is
// never in an event. CreatedBy is unset for a self sign-up.
//
// An account an organization's admin created for a resident (A6) has no password
// hash until its activation code is used, may have no email, names the
// organization it was created for, and may be a shared generic account of that
// organization, which gets no reset mail (A4).
type Registered struct {
	AccountID      uuid.UUID `json:"account_id"`
	Username       string    `json:"username"`
	Email          string    `json:"email"`
	PasswordHash   string    `json:"password_hash"`
	Roles          []Role    `json:"roles,omitempty"`
	CreatedBy      uuid.UUID `json:"created_by,omitzero"`
	OrganizationID uuid.UUID `json:"organization_id,omitzero"`
	Shared         bool      `json:"shared,omitempty"`
	RegisteredAt   time.Time `json:"registered_at"`
}

// EventType returns RegisteredType.
func (Registered) EventType() string { return RegisteredType }

// LoginFailed records a login with a wrong password, and how many failed in a row
// since the last successful login, lockout or unlock (A3).
type LoginFailed struct {
	At          time.Time `json:"at"`
	Consecutive int       `json:"consecutive"`
}

// EventType returns LoginFailedType.
func (LoginFailed) EventType() string { return LoginFailedType }

// LockedOut records that the account is locked until Until after more than
// MaxFailedLogins failed logins in a row (A3).
type LockedOut struct {
	Until time.Time `json:"until"`
}

// EventType returns LockedOutType.
func (LockedOut) EventType() string { return LockedOutType }

// SessionStarted records a successful login (A3): it resets the failed logins.
// TokenDigest is a digest of the session token; the token itself is never stored.
type SessionStarted struct {
	SessionID   uuid.UUID `json:"session_id"`
	TokenDigest string    `json:"token_digest"`
	ExpiresAt   time.Time `json:"expires_at"`
	StartedAt   time.Time `json:"started_at"`
}

// EventType returns SessionStartedType.
func (SessionStarted) EventType() string { return SessionStartedType }

// SessionEnded records a logout: the session is no longer valid.
type SessionEnded struct {
	SessionID uuid.UUID `json:"session_id"`
	EndedAt   time.Time `json:"ended_at"`
}

// EventType returns SessionEndedType.
func (SessionEnded) EventType() string { return SessionEndedType }

// Unlocked records that an admin of the account's organization or the operator
// lifted a lockout before its end (A3).
type Unlocked struct {
	By uuid.UUID `json:"by"`
	At time.Time `json:"at"`
}

// EventType returns UnlockedType.
func (Unlocked) EventType() string { return UnlockedType }

// UsernameReserved records that a username key belongs to an account (A1): the
// first event of its stream (UsernameStream or LookalikeStream), appended with
// NoStream; UsernameReleased may free the key again.
type UsernameReserved struct {
	AccountID   uuid.UUID `json:"account_id"`
	UsernameKey string    `json:"username_key"`
}

// EventType returns UsernameReservedType.
func (UsernameReserved) EventType() string { return UsernameReservedType }

// RegisterEvents adds this package's events to r. cmd/ and tests call it explicitly.
func RegisterEvents(r *es.Registry) {
	es.Register[Registered](r, RegisteredType)
	es.Register[LoginFailed](r, LoginFailedType)
	es.Register[LockedOut](r, LockedOutType)
	es.Register[SessionStarted](r, SessionStartedType)
	es.Register[SessionEnded](r, SessionEndedType)
	es.Register[Unlocked](r, UnlockedType)
	es.Register[UsernameReserved](r, UsernameReservedType)
	registerManagementEvents(r)
	registerBuildingEvents(r)
	registerCredentialEvents(r)
	registerAuditEvents(r)
}

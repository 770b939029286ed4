package organization

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Event type names are stored forever: never rename, never reuse.
const (
	CreatedType               = "organization.created"
	RenamedType               = "organization.renamed"
	DomainsSetType            = "organization.domains_set"
	SelfRegistrationSetType   = "organization.self_registration_set"
	ResellerSetType           = "organization.reseller_set"
	TrustedNetworksSetType    = "organization.trusted_networks_set"
	MemberAddedType           = "organization.member_added"
	MemberRoleChangedType     = "organization.member_role_changed"
	MemberRemovedType         = "organization.member_removed"
	InvitedType               = "organization.invited"
	InvitationAcceptedType    = "organization.invitation_accepted"
	LockAccessModeSetType     = "organization.lock_access_mode_set"
	AccessRequestedType       = "organization.access_requested"
	AccessRequestApprovedType = "organization.access_request_approved"
	AccessRequestDeniedType   = "organization.access_request_denied"
)

// Created records a new organization (O1). Management is true when its creator had
// organization management (O6): only such an organization can take part in shared
// key management (L12).
type Created struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	Name           string    `json:"name"`
	CreatedBy      uuid.UUID `json:"created_by"`
	Management     bool      `json:"management"`
	CreatedAt      time.Time `json:"created_at"`
}

// Renamed records a new name.
type Renamed struct {
	Name      string    `json:"name"`
	RenamedBy uuid.UUID `json:"renamed_by"`
	RenamedAt time.Time `json:"renamed_at"`
}

// DomainsSet records the email domains the operator allowed (O1); the list is the
// whole set after the change.
type DomainsSet struct {
	Domains []string  `json:"domains"`
	SetBy   uuid.UUID `json:"set_by"`
	SetAt   time.Time `json:"set_at"`
}

// SelfRegistrationSet records whether people of an allowed domain may join by
// signing up (O1, O3).
type SelfRegistrationSet struct {
	Allowed bool      `json:"allowed"`
	SetBy   uuid.UUID `json:"set_by"`
	SetAt   time.Time `json:"set_at"`
}

// ResellerSet records that the operator marked (or unmarked) the organization as a
// reseller.
type ResellerSet struct {
	Reseller bool      `json:"reseller"`
	SetBy    uuid.UUID `json:"set_by"`
	SetAt    time.Time `json:"set_at"`
}

// TrustedNetworksSet records the IP ranges whose requests get read-only member
// access without a login (A7); the list is the whole set after the change.
type TrustedNetworksSet struct {
	CIDRs []string  `json:"cidrs"`
	SetBy uuid.UUID `json:"set_by"`
	SetAt time.Time `json:"set_at"`
}

// How an account became a member.
const (
	ViaCreation         = "creation"
	ViaInvitation       = "invitation"
	ViaSelfRegistration = "self_registration"
	ViaAdmin            = "admin"
)

// MemberAdded records a member and their role (O4).
type MemberAdded struct {
	AccountID uuid.UUID `json:"account_id"`
	Role      Role      `json:"role"`
	Via       string    `json:"via"`
	AddedBy   uuid.UUID `json:"added_by"`
	AddedAt   time.Time `json:"added_at"`
}

// MemberRoleChanged records a new role for a member (O4).
type MemberRoleChanged struct {
	AccountID uuid.UUID `json:"account_id"`
	Role      Role      `json:"role"`
	ChangedBy uuid.UUID `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
}

// MemberRemoved records that an account left or was removed.
type MemberRemoved struct {
	AccountID uuid.UUID `json:"account_id"`
	RemovedBy uuid.UUID `json:"removed_by"`
	RemovedAt time.Time `json:"removed_at"`
}

// Invited records an invitation by email (O2). Only the digest of its token is
// kept; the token travels in the mail.
type Invited struct {
	InvitationID uuid.UUID `json:"invitation_id"`
	Email        string    `json:"email"`
	Role         Role      `json:"role"`
	TokenDigest  string    `json:"token_digest"`
	ExpiresAt    time.Time `json:"expires_at"`
	InvitedBy    uuid.UUID `json:"invited_by"`
	InvitedAt    time.Time `json:"invited_at"`
}

// InvitationAccepted records that an account used an invitation and joined (O2).
type InvitationAccepted struct {
	InvitationID uuid.UUID `json:"invitation_id"`
	AccountID    uuid.UUID `json:"account_id"`
	AcceptedAt   time.Time `json:"accepted_at"`
}

// Access modes of a shared lock (O5).
const (
	AccessOrganizationWide = "organization_wide"
	AccessOnRequest        = "on_request"
)

// LockAccessModeSet records how members get access to a lock shared with the
// organization (O5).
type LockAccessModeSet struct {
	LockID uuid.UUID `json:"lock_id"`
	Mode   string    `json:"mode"`
	SetBy  uuid.UUID `json:"set_by"`
	SetAt  time.Time `json:"set_at"`
}

// AccessRequested records a member asking for a key to a shared lock (O5).
type AccessRequested struct {
	RequestID   uuid.UUID `json:"request_id"`
	LockID      uuid.UUID `json:"lock_id"`
	AccountID   uuid.UUID `json:"account_id"`
	RequestedAt time.Time `json:"requested_at"`
}

// AccessRequestApproved records a manager's approval; the phone key is issued on
// the lock by the same command (O5).
type AccessRequestApproved struct {
	RequestID uuid.UUID `json:"request_id"`
	KeyID     uuid.UUID `json:"key_id"`
	DecidedBy uuid.UUID `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

// AccessRequestDenied records a manager's refusal (O5).
type AccessRequestDenied struct {
	RequestID uuid.UUID `json:"request_id"`
	DecidedBy uuid.UUID `json:"decided_by"`
	DecidedAt time.Time `json:"decided_at"`
}

// EventType implementations.
func (Created) EventType() string               { return CreatedType }
func (Renamed) EventType() string               { return RenamedType }
func (DomainsSet) EventType() string            { return DomainsSetType }
func (SelfRegistrationSet) EventType() string   { return SelfRegistrationSetType }
func (ResellerSet) EventType() string           { return ResellerSetType }
func (TrustedNetworksSet) EventType() string    { return TrustedNetworksSetType }
func (MemberAdded) EventType() string           { return MemberAddedType }
func (MemberRoleChanged) EventType() string     { return MemberRoleChangedType }
func (MemberRemoved) EventType() string         { return MemberRemovedType }
func (Invited) EventType() string               { return InvitedType }
func (InvitationAccepted) EventType() string    { return InvitationAcceptedType }
func (LockAccessModeSet) EventType() string     { return LockAccessModeSetType }
func (AccessRequested) EventType() string       { return AccessRequestedType }
func (AccessRequestApproved) EventType() string { return AccessRequestApprovedType }
func (AccessRequestDenied) EventType() string   { return AccessRequestDeniedType }

// RegisterEvents adds this package's events to r.
func RegisterEvents(r *es.Registry) {
	es.Register[Created](r, CreatedType)
	es.Register[Renamed](r, RenamedType)
	es.Register[DomainsSet](r, DomainsSetType)
	es.Register[SelfRegistrationSet](r, SelfRegistrationSetType)
	es.Register[ResellerSet](r, ResellerSetType)
	es.Register[TrustedNetworksSet](r, TrustedNetworksSetType)
	es.Register[MemberAdded](r, MemberAddedType)
	es.Register[MemberRoleChanged](r, MemberRoleChangedType)
	es.Register[MemberRemoved](r, MemberRemovedType)
	es.Register[Invited](r, InvitedType)
	es.Register[InvitationAccepted](r, InvitationAcceptedType)
	es.Register[LockAccessModeSet](r, LockAccessModeSetType)
	es.Register[AccessRequested](r, AccessRequestedType)
	es.Register[AccessRequestApproved](r, AccessRequestApprovedType)
	es.Register[AccessRequestDenied](r, AccessRequestDeniedType)
}

// Package organization is the organization aggregate (SPEC O1–O6, A7): a company,
// housing corporation or installer on the platform, with its admins, managers and
// members, its email domains, its trusted networks, its invitations, and how its
// members get access to the locks shared with it.
package organization

import (
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Category is the stream category of organizations.
const Category = "organization"

// Stream returns an organization's stream.
func Stream(id uuid.UUID) string { return es.StreamName(Category, id) }

// Role is a member's role (O4). An admin can do what a manager can, a manager what a
// member can.
type Role string

// Roles.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleMember  Role = "member"
)

// ParseRole checks s names a role.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleManager, RoleMember:
		return r, nil
	}
	return "", domain.Errorf(domain.EInvalid, "role must be admin, manager or member, not %q", s)
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleManager:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// AtLeast reports whether r includes want's rights.
func (r Role) AtLeast(want Role) bool { return r.rank() >= want.rank() && r.rank() > 0 }

// Limits.
const (
	MaxName     = 100
	MaxDomains  = 50
	MaxNetworks = 50
)

// Sentinel errors.
var (
	ErrNotFound           = &domain.Error{Code: domain.ENotFound, Message: "organization not found"}
	ErrNotAdmin           = &domain.Error{Code: domain.EForbidden, Message: "only an admin of the organization may do this"}
	ErrNotManager         = &domain.Error{Code: domain.EForbidden, Message: "only a manager or admin of the organization may do this"}
	ErrNotMember          = &domain.Error{Code: domain.ENotFound, Message: "that account is not a member of the organization"}
	ErrAlreadyMember      = &domain.Error{Code: domain.EConflict, Message: "that account is a member already"}
	ErrLastAdmin          = &domain.Error{Code: domain.EConflict, Message: "an organization keeps at least one admin"}
	ErrInvitationUnusable = &domain.Error{Code: domain.ENotFound, Message: "this invitation is unknown, used or expired"}
	ErrNoSelfRegistration = &domain.Error{Code: domain.EForbidden, Message: "this organization does not take members by email domain"}
	ErrRequestNotFound    = &domain.Error{Code: domain.ENotFound, Message: "access request not found"}
	ErrRequestDecided     = &domain.Error{Code: domain.EConflict, Message: "this access request was decided already"}
	ErrNotOnRequest       = &domain.Error{Code: domain.EConflict, Message: "members of this organization get this lock without asking (organization-wide access)"}
)

// Organization is the aggregate. State is private.
type Organization struct {
	es.Root
	id               uuid.UUID
	name             string
	management       bool
	createdAt        time.Time
	domains          []string
	selfRegistration bool
	reseller         bool
	networks         []netip.Prefix
	members          map[uuid.UUID]Role
	invitations      map[uuid.UUID]*invitation
	byDigest         map[string]uuid.UUID
	lockModes        map[uuid.UUID]string
	requests         map[uuid.UUID]*request
}

type invitation struct {
	email    string
	role     Role
	expires  time.Time
	accepted bool
}

type request struct {
	lockID  uuid.UUID
	account uuid.UUID
	decided bool
}

// New returns a blank organization for a repository to fill.
func New() *Organization {
	return &Organization{members: map[uuid.UUID]Role{}, invitations: map[uuid.UUID]*invitation{},
		byDigest: map[string]uuid.UUID{}, lockModes: map[uuid.UUID]string{}, requests: map[uuid.UUID]*request{}}
}

// Rehydrate builds an organization from its history. It is for repositories and tests.
func Rehydrate(history []es.Event) *Organization {
	o := New()
	o.Replay(history...)
	return o
}

// Replay applies stored events and counts them in the version.
func (o *Organization) Replay(events ...es.Event) {
	for _, e := range events {
		o.apply(e)
	}
	o.Replayed(len(events))
}

func (o *Organization) record(e es.Event) {
	o.apply(e)
	o.Record(e)
}

func (o *Organization) apply(e es.Event) {
	switch e := e.(type) {
	case Created:
		o.id, o.name, o.management, o.createdAt = e.OrganizationID, e.Name, e.Management, e.CreatedAt
	case Renamed:
		o.name = e.Name
	case DomainsSet:
		o.domains = slices.Clone(e.Domains)
	case SelfRegistrationSet:
		o.selfRegistration = e.Allowed
	case ResellerSet:
		o.reseller = e.Reseller
	case TrustedNetworksSet:
		o.networks = o.networks[:0]
		for _, c := range e.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				o.networks = append(o.networks, p)
			}
		}
	case MemberAdded:
		o.members[e.AccountID] = e.Role
	case MemberRoleChanged:
		o.members[e.AccountID] = e.Role
	case MemberRemoved:
		delete(o.members, e.AccountID)
	case Invited:
		o.invitations[e.InvitationID] = &invitation{email: e.Email, role: e.Role, expires: e.ExpiresAt}
		o.byDigest[e.TokenDigest] = e.InvitationID
	case InvitationAccepted:
		if inv := o.invitations[e.InvitationID]; inv != nil {
			inv.accepted = true
		}
	case LockAccessModeSet:
		o.lockModes[e.LockID] = e.Mode
	case AccessRequested:
		o.requests[e.RequestID] = &request{lockID: e.LockID, account: e.AccountID}
	case AccessRequestApproved:
		if r := o.requests[e.RequestID]; r != nil {
			r.decided = true
		}
	case AccessRequestDenied:
		if r := o.requests[e.RequestID]; r != nil {
			r.decided = true
		}
	}
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxName {
		return "", domain.Errorf(domain.EInvalid, "name must be 1 to %d characters", MaxName)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", domain.Errorf(domain.EInvalid, "name holds a control character")
	}
	return name, nil
}

// Create founds an organization with admin as its first admin. management is
// whether the founder has organization management (O6).
func (o *Organization) Create(id uuid.UUID, name string, admin uuid.UUID, management bool, now time.Time) error {
	if o.id != uuid.Nil {
		return domain.Errorf(domain.EConflict, "organization %s exists", o.id)
	}
	if id == uuid.Nil || admin == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "an organization needs an id and an admin")
	}
	name, err := validName(name)
	if err != nil {
		return err
	}
	now = now.UTC()
	o.record(Created{OrganizationID: id, Name: name, CreatedBy: admin, Management: management, CreatedAt: now})
	o.record(MemberAdded{AccountID: admin, Role: RoleAdmin, Via: ViaCreation, AddedBy: admin, AddedAt: now})
	return nil
}

// ID returns the organization's id; uuid.Nil when it does not exist.
func (o *Organization) ID() uuid.UUID { return o.id }

// Exists reports whether the organization was created.
func (o *Organization) Exists() bool { return o.id != uuid.Nil }

// Name returns the organization's name.
func (o *Organization) Name() string { return o.name }

// Management reports whether the organization has organization management (O6).
func (o *Organization) Management() bool { return o.management }

// Reseller reports whether the operator marked it a reseller.
func (o *Organization) Reseller() bool { return o.reseller }

// Domains returns the allowed email domains (O1).
func (o *Organization) Domains() []string { return slices.Clone(o.domains) }

// SelfRegistration reports whether members may join by email domain (O3).
func (o *Organization) SelfRegistration() bool { return o.selfRegistration }

// Role returns account's role, and false when it is no member.
func (o *Organization) Role(account uuid.UUID) (Role, bool) {
	r, ok := o.members[account]
	return r, ok
}

// Members returns the members and their roles.
func (o *Organization) Members() map[uuid.UUID]Role {
	out := make(map[uuid.UUID]Role, len(o.members))
	for k, v := range o.members {
		out[k] = v
	}
	return out
}

// Trusts reports whether addr lies in one of the trusted networks (A7).
func (o *Organization) Trusts(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range o.networks {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// LockAccessMode returns how members get access to a shared lock (O5); on request
// unless the admin chose organization-wide.
func (o *Organization) LockAccessMode(lockID uuid.UUID) string {
	if m, ok := o.lockModes[lockID]; ok {
		return m
	}
	return AccessOnRequest
}

func (o *Organization) mustBe(by uuid.UUID, want Role, refusal error) error {
	if o.id == uuid.Nil {
		return ErrNotFound
	}
	r, ok := o.members[by]
	if !ok {
		return ErrNotFound // non-members do not see the organization (E2)
	}
	if !r.AtLeast(want) {
		return refusal
	}
	return nil
}

// Rename changes the name; admins only.
func (o *Organization) Rename(by uuid.UUID, name string, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
		return err
	}
	name, err := validName(name)
	if err != nil || name == o.name {
		return err
	}
	o.record(Renamed{Name: name, RenamedBy: by, RenamedAt: now.UTC()})
	return nil
}

// NormalizeDomain validates an email domain: lower case, labels of letters, digits
// and hyphens, at least one dot.
func NormalizeDomain(d string) (string, error) {
	d = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(d), "@")))
	if len(d) < 3 || len(d) > 253 || !strings.Contains(d, ".") {
		return "", domain.Errorf(domain.EInvalid, "%q is not an email domain such as example.nl", d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", domain.Errorf(domain.EInvalid, "%q is not an email domain such as example.nl", d)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", domain.Errorf(domain.EInvalid, "%q is not an email domain such as example.nl", d)
			}
		}
	}
	return d, nil
}

// SetDomains sets the allowed email domains (O1). Only the operator does this;
// the command layer checks the role.
func (o *Organization) SetDomains(operator uuid.UUID, domains []string, now time.Time) error {
	if o.id == uuid.Nil {
		return ErrNotFound
	}
	if len(domains) > MaxDomains {
		return domain.Errorf(domain.EInvalid, "at most %d domains", MaxDomains)
	}
	var out []string
	for _, d := range domains {
		n, err := NormalizeDomain(d)
		if err != nil {
			return err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	if slices.Equal(out, o.domains) {
		return nil
	}
	o.record(DomainsSet{Domains: out, SetBy: operator, SetAt: now.UTC()})
	return nil
}

// SetReseller marks or unmarks the organization as a reseller; operator only (the
// command layer checks the role).
func (o *Organization) SetReseller(operator uuid.UUID, reseller bool, now time.Time) error {
	if o.id == uuid.Nil {
		return ErrNotFound
	}
	if reseller == o.reseller {
		return nil
	}
	o.record(ResellerSet{Reseller: reseller, SetBy: operator, SetAt: now.UTC()})
	return nil
}

// SetSelfRegistration allows or stops joining by email domain (O1, O3); admins only.
func (o *Organization) SetSelfRegistration(by uuid.UUID, allowed bool, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil || allowed == o.selfRegistration {
		return err
	}
	o.record(SelfRegistrationSet{Allowed: allowed, SetBy: by, SetAt: now.UTC()})
	return nil
}

// SetTrustedNetworks sets the IP ranges trusted for read-only member access (A7);
// admins only.
func (o *Organization) SetTrustedNetworks(by uuid.UUID, cidrs []string, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
		return err
	}
	if len(cidrs) > MaxNetworks {
		return domain.Errorf(domain.EInvalid, "at most %d networks", MaxNetworks)
	}
	var out []string
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return domain.Errorf(domain.EInvalid, "%q is not a network such as 192.0.2.0/24", c)
		}
		if p.Bits() < 8 && p.Addr().Is4() || p.Bits() < 16 && p.Addr().Is6() {
			return domain.Errorf(domain.EInvalid, "%s is too wide to trust", p)
		}
		if s := p.Masked().String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	o.record(TrustedNetworksSet{CIDRs: out, SetBy: by, SetAt: now.UTC()})
	return nil
}

// AddMember adds an existing account with a role; admins only (A6, O4).
func (o *Organization) AddMember(by, account uuid.UUID, role Role, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if _, ok := o.members[account]; ok {
		return ErrAlreadyMember
	}
	o.record(MemberAdded{AccountID: account, Role: role, Via: ViaAdmin, AddedBy: by, AddedAt: now.UTC()})
	return nil
}

func (o *Organization) admins() int {
	n := 0
	for _, r := range o.members {
		if r == RoleAdmin {
			n++
		}
	}
	return n
}

// ChangeRole gives a member another role; admins only, and the last admin stays
// one (O4).
func (o *Organization) ChangeRole(by, account uuid.UUID, role Role, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	cur, ok := o.members[account]
	if !ok {
		return ErrNotMember
	}
	if cur == role {
		return nil
	}
	if cur == RoleAdmin && o.admins() == 1 {
		return ErrLastAdmin
	}
	o.record(MemberRoleChanged{AccountID: account, Role: role, ChangedBy: by, ChangedAt: now.UTC()})
	return nil
}

// RemoveMember removes a member: an admin removes anyone, a member may leave. The
// last admin stays.
func (o *Organization) RemoveMember(by, account uuid.UUID, now time.Time) error {
	if by != account {
		if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
			return err
		}
	} else if o.id == uuid.Nil {
		return ErrNotFound
	}
	cur, ok := o.members[account]
	if !ok {
		return ErrNotMember
	}
	if cur == RoleAdmin && o.admins() == 1 {
		return ErrLastAdmin
	}
	o.record(MemberRemoved{AccountID: account, RemovedBy: by, RemovedAt: now.UTC()})
	return nil
}

// Invite records an invitation by email (O2); admins only. The command layer mails
// the token and stores only its digest here.
func (o *Organization) Invite(by, invitationID uuid.UUID, email string, role Role, tokenDigest string, expires, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
		return err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if invitationID == uuid.Nil || tokenDigest == "" || !expires.After(now) {
		return domain.Errorf(domain.EInvalid, "an invitation needs an id, a token and a later expiry")
	}
	o.record(Invited{InvitationID: invitationID, Email: email, Role: role, TokenDigest: tokenDigest,
		ExpiresAt: expires.UTC(), InvitedBy: by, InvitedAt: now.UTC()})
	return nil
}

// Invitation returns the email and role of the usable invitation whose token has
// digest.
func (o *Organization) Invitation(digest string, now time.Time) (email string, role Role, err error) {
	inv := o.invitations[o.byDigest[digest]]
	if inv == nil || inv.accepted || !now.Before(inv.expires) {
		return "", "", ErrInvitationUnusable
	}
	return inv.email, inv.role, nil
}

// AcceptInvitation joins account with the invitation's role (O2). An invitation is
// used once and expires.
func (o *Organization) AcceptInvitation(digest string, account uuid.UUID, now time.Time) error {
	id := o.byDigest[digest]
	_, role, err := o.Invitation(digest, now)
	if err != nil {
		return err
	}
	if _, ok := o.members[account]; ok {
		return ErrAlreadyMember
	}
	now = now.UTC()
	o.record(InvitationAccepted{InvitationID: id, AccountID: account, AcceptedAt: now})
	o.record(MemberAdded{AccountID: account, Role: role, Via: ViaInvitation, AddedBy: account, AddedAt: now})
	return nil
}

// EmailDomain returns the domain part of an address, lower case.
func EmailDomain(email string) string {
	_, d, ok := strings.Cut(email, "@")
	if !ok {
		return ""
	}
	return strings.ToLower(d)
}

// TakesByDomain reports whether an email address may join by self-registration (O3).
func (o *Organization) TakesByDomain(email string) bool {
	return o.id != uuid.Nil && o.selfRegistration && slices.Contains(o.domains, EmailDomain(email))
}

// JoinByDomain adds account as a member because its email address belongs to an
// allowed domain and the organization takes self-registrations (O3).
func (o *Organization) JoinByDomain(account uuid.UUID, email string, now time.Time) error {
	if !o.TakesByDomain(email) {
		return ErrNoSelfRegistration
	}
	if _, ok := o.members[account]; ok {
		return nil
	}
	o.record(MemberAdded{AccountID: account, Role: RoleMember, Via: ViaSelfRegistration, AddedBy: account, AddedAt: now.UTC()})
	return nil
}

// SetLockAccessMode chooses how members get access to a lock shared with the
// organization (O5); admins only. The command layer checks the lock is shared.
func (o *Organization) SetLockAccessMode(by, lockID uuid.UUID, mode string, now time.Time) error {
	if err := o.mustBe(by, RoleAdmin, ErrNotAdmin); err != nil {
		return err
	}
	if mode != AccessOrganizationWide && mode != AccessOnRequest {
		return domain.Errorf(domain.EInvalid, "mode must be organization_wide or on_request")
	}
	if o.LockAccessMode(lockID) == mode && o.lockModes[lockID] != "" {
		return nil
	}
	o.record(LockAccessModeSet{LockID: lockID, Mode: mode, SetBy: by, SetAt: now.UTC()})
	return nil
}

// RequestAccess records a member asking for a key to a shared lock (O5).
func (o *Organization) RequestAccess(member, requestID, lockID uuid.UUID, now time.Time) error {
	if err := o.mustBe(member, RoleMember, ErrNotMember); err != nil {
		return err
	}
	if o.LockAccessMode(lockID) != AccessOnRequest {
		return ErrNotOnRequest
	}
	for _, r := range o.requests {
		if r.account == member && r.lockID == lockID && !r.decided {
			return domain.Errorf(domain.EConflict, "you asked for this lock already; a manager will decide")
		}
	}
	o.record(AccessRequested{RequestID: requestID, LockID: lockID, AccountID: member, RequestedAt: now.UTC()})
	return nil
}

// Request returns an undecided request's lock and member.
func (o *Organization) Request(id uuid.UUID) (lockID, account uuid.UUID, err error) {
	r := o.requests[id]
	switch {
	case r == nil:
		return uuid.Nil, uuid.Nil, ErrRequestNotFound
	case r.decided:
		return uuid.Nil, uuid.Nil, ErrRequestDecided
	}
	return r.lockID, r.account, nil
}

// ApproveRequest records a manager's approval with the phone key issued (O5).
func (o *Organization) ApproveRequest(by, requestID, keyID uuid.UUID, now time.Time) error {
	if err := o.mustBe(by, RoleManager, ErrNotManager); err != nil {
		return err
	}
	if _, _, err := o.Request(requestID); err != nil {
		return err
	}
	o.record(AccessRequestApproved{RequestID: requestID, KeyID: keyID, DecidedBy: by, DecidedAt: now.UTC()})
	return nil
}

// DenyRequest records a manager's refusal (O5).
func (o *Organization) DenyRequest(by, requestID uuid.UUID, now time.Time) error {
	if err := o.mustBe(by, RoleManager, ErrNotManager); err != nil {
		return err
	}
	if _, _, err := o.Request(requestID); err != nil {
		return err
	}
	o.record(AccessRequestDenied{RequestID: requestID, DecidedBy: by, DecidedAt: now.UTC()})
	return nil
}

// CanManageKeys reports whether account may issue and revoke keys for the
// organization (a manager or admin, O4, L12).
func (o *Organization) CanManageKeys(account uuid.UUID) bool {
	r, ok := o.members[account]
	return ok && r.AtLeast(RoleManager)
}

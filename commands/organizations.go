package commands

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
)

// OrganizationIndex answers the questions commands ask of the organization read
// models: which organizations take members of an email domain (O3), and which
// organizations an account belongs to.
type OrganizationIndex interface {
	// ByDomain returns the organizations that list domain among their email domains.
	ByDomain(ctx context.Context, domain string) ([]uuid.UUID, error)
}

// Organizations handles organizations (O1–O6) and the organization side of shared
// key management (L12, O5).
type Organizations struct {
	orgs     *Repository[*organization.Organization]
	accounts *Accounts
	locks    *Locks
	codes    *Codes
	index    OrganizationIndex
	secrets  Secrets
	digest   TokenDigest
	clock    Clock
}

// NewOrganizations returns the organization handlers and wires them into locks as
// their organization directory.
func NewOrganizations(store EventStore, registry *es.Registry, accounts *Accounts, locks *Locks, codes *Codes,
	index OrganizationIndex, secrets Secrets, digest TokenDigest, clock Clock) *Organizations {
	if store == nil || registry == nil || accounts == nil || locks == nil || codes == nil || index == nil || secrets == nil || digest == nil || clock == nil {
		panic("commands: nil dependency")
	}
	h := &Organizations{
		orgs:     NewRepository(store, registry, func(string) *organization.Organization { return organization.New() }, 10_000),
		accounts: accounts, locks: locks, codes: codes, index: index, secrets: secrets, digest: digest, clock: clock,
	}
	locks.SetOrganizations(h)
	return h
}

// Repository exposes the organization repository (the accounts issue's handlers
// and tests read organizations through it).
func (h *Organizations) Repository() *Repository[*organization.Organization] { return h.orgs }

// read loads an organization for a decision that changes nothing.
func (h *Organizations) read(ctx context.Context, id uuid.UUID, view func(*organization.Organization) error) error {
	return h.orgs.Read(ctx, organization.Stream(id), view)
}

// ManagesKeys implements OrganizationDirectory.
func (h *Organizations) ManagesKeys(ctx context.Context, org, account uuid.UUID) (bool, error) {
	var ok bool
	err := h.read(ctx, org, func(o *organization.Organization) error {
		ok = o.Exists() && o.CanManageKeys(account)
		return nil
	})
	return ok, err
}

// HasManagement implements OrganizationDirectory.
func (h *Organizations) HasManagement(ctx context.Context, org uuid.UUID) (bool, error) {
	var ok bool
	err := h.read(ctx, org, func(o *organization.Organization) error {
		ok = o.Exists() && o.Management()
		return nil
	})
	return ok, err
}

// Role returns account's role in org, and false for a non-member (or no org).
func (h *Organizations) Role(ctx context.Context, org, account uuid.UUID) (organization.Role, bool, error) {
	var r organization.Role
	var ok bool
	err := h.read(ctx, org, func(o *organization.Organization) error {
		r, ok = o.Role(account)
		return nil
	})
	return r, ok, err
}

// ErrNeedsOrganizationManagement refuses founding an organization without O6.
var ErrNeedsOrganizationManagement = &domain.Error{Code: domain.EForbidden,
	Message: "founding an organization needs organization management: redeem an organization-management code first (POST /v1/me/redemptions)"}

// CreateOrganization founds an organization (O1, O6). An account with
// organization management founds one that takes part in shared key management and
// becomes its admin. The operator may found one for an existing account as admin;
// it has organization management only if that account has.
func (h *Organizations) CreateOrganization(ctx context.Context, by uuid.UUID, isOperator bool, m Meta, name string, admin uuid.UUID) (uuid.UUID, Result, error) {
	if admin == uuid.Nil || !isOperator {
		admin = by
	}
	var mgmt, exists bool
	if err := h.accounts.accounts.Read(ctx, accountStream(admin), func(a *account.Account) error {
		exists, mgmt = a.Registered(), a.HasOrganizationManagement()
		return nil
	}); err != nil {
		return uuid.Nil, Result{}, err
	}
	if !exists {
		return uuid.Nil, Result{}, domain.Errorf(domain.EInvalid, "admin_account_id names no account")
	}
	if !mgmt && !isOperator {
		return uuid.Nil, Result{}, ErrNeedsOrganizationManagement
	}
	id := NewID()
	res, err := h.orgs.Update(ctx, organization.Stream(id), m, func(o *organization.Organization) error {
		return o.Create(id, name, admin, mgmt, h.clock.Now())
	})
	if err != nil {
		return uuid.Nil, Result{}, err
	}
	if created, ok := res.First.(organization.Created); res.Replayed && ok {
		id = created.OrganizationID
	}
	return id, res, nil
}

// Update runs an organization decision: renames, settings, members, modes (the
// domain checks the caller's role).
func (h *Organizations) Update(ctx context.Context, org uuid.UUID, m Meta, decide func(*organization.Organization, time.Time) error) (Result, error) {
	return h.orgs.Update(ctx, organization.Stream(org), m, func(o *organization.Organization) error {
		if !o.Exists() {
			return organization.ErrNotFound
		}
		return decide(o, h.clock.Now())
	})
}

// AddMember adds an existing account to the organization (O4); admins only.
func (h *Organizations) AddMember(ctx context.Context, by, org, member uuid.UUID, role organization.Role, m Meta) (Result, error) {
	ok, err := h.accounts.AccountExists(ctx, member)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, domain.Errorf(domain.EInvalid, "account_id names no account")
	}
	return h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.AddMember(by, member, role, now)
	})
}

// InvitationTTL is how long an invitation link works (O2).
const InvitationTTL = 7 * 24 * time.Hour

// InvitationToken is the token of an invitation's link: derived from the keyring
// and the invitation's id, so the mail process manager can build the link from the
// event, which stores only the token's digest.
func InvitationToken(secrets Secrets, invitationID uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString(secrets.Derive("invitation", invitationID.String()))
}

// Invite invites a person by email (O2); the mail goes out from the event.
func (h *Organizations) Invite(ctx context.Context, by, org uuid.UUID, email string, role organization.Role, m Meta) (uuid.UUID, Result, error) {
	email, err := account.ValidateEmail(email)
	if err != nil {
		return uuid.Nil, Result{}, err
	}
	id := NewID()
	res, err := h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.Invite(by, id, email, role, h.digest(InvitationToken(h.secrets, id)), now.Add(InvitationTTL), now)
	})
	if inv, ok := res.First.(organization.Invited); res.Replayed && ok {
		id = inv.InvitationID
	}
	return id, res, err
}

// AcceptInvitation joins account to the organization of an invitation (O2).
func (h *Organizations) AcceptInvitation(ctx context.Context, org uuid.UUID, token string, member uuid.UUID, m Meta) (Result, error) {
	return h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.AcceptInvitation(h.digest(token), member, now)
	})
}

// InvitationEmail returns the address an invitation was sent to, for a usable token.
func (h *Organizations) InvitationEmail(ctx context.Context, org uuid.UUID, token string) (string, error) {
	var email string
	err := h.read(ctx, org, func(o *organization.Organization) error {
		var err error
		email, _, err = o.Invitation(h.digest(token), h.clock.Now())
		return err
	})
	return email, err
}

// Choice is an organization a new account may join by its email domain (O3).
type Choice struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// JoinByDomain links a new account to the organization of its email domain (O3).
// When several organizations take that domain, it joins none and returns them to
// choose from; JoinChosen completes the choice.
func (h *Organizations) JoinByDomain(ctx context.Context, member uuid.UUID, email string, m Meta) (joined uuid.UUID, choices []Choice, res Result, err error) {
	orgs, err := h.index.ByDomain(ctx, organization.EmailDomain(email))
	if err != nil || len(orgs) == 0 {
		return uuid.Nil, nil, Result{}, err
	}
	// Only those that take self-registration count, one or several (O3): an
	// organization with the domain but self-registration off is no choice at all,
	// and the account is made without it (never made and then refused).
	for _, id := range orgs {
		if err := h.read(ctx, id, func(o *organization.Organization) error {
			if o.TakesByDomain(email) {
				choices = append(choices, Choice{ID: id, Name: o.Name()})
			}
			return nil
		}); err != nil {
			return uuid.Nil, nil, Result{}, err
		}
	}
	if len(choices) != 1 {
		return uuid.Nil, choices, Result{}, nil
	}
	orgs = []uuid.UUID{choices[0].ID}
	res, err = h.orgs.Update(ctx, organization.Stream(orgs[0]), m.sub("join"), func(o *organization.Organization) error {
		return o.JoinByDomain(member, email, h.clock.Now())
	})
	if errors.Is(err, organization.ErrNoSelfRegistration) {
		// Self-registration was switched off since it was read: no link, no error.
		return uuid.Nil, nil, Result{}, nil
	}
	return orgs[0], nil, res, err
}

// JoinChosen joins one of the organizations that take the account's email domain,
// leaving the others of that domain it belongs to: a member may switch between them
// later (O3).
func (h *Organizations) JoinChosen(ctx context.Context, member, org uuid.UUID, m Meta) (Result, error) {
	var email string
	if err := h.accounts.accounts.Read(ctx, accountStream(member), func(a *account.Account) error {
		email = a.Email()
		return nil
	}); err != nil {
		return Result{}, err
	}
	res, err := h.orgs.Update(ctx, organization.Stream(org), m.sub("join"), func(o *organization.Organization) error {
		if !o.Exists() {
			return organization.ErrNotFound
		}
		return o.JoinByDomain(member, email, h.clock.Now())
	})
	if err != nil {
		return Result{}, err
	}
	others, err := h.index.ByDomain(ctx, organization.EmailDomain(email))
	if err != nil {
		return Result{}, err
	}
	for _, other := range others {
		if other == org {
			continue
		}
		left, err := h.orgs.Update(ctx, organization.Stream(other), m.sub("leave/"+other.String()), func(o *organization.Organization) error {
			if r, ok := o.Role(member); !ok || r == organization.RoleAdmin {
				return nil // not a member, or an admin who should leave on purpose
			}
			return o.RemoveMember(member, member, h.clock.Now())
		})
		if err != nil {
			return Result{}, err
		}
		if res.Position.Less(left.Position) {
			res = left // answer once the leaving shows too
		}
	}
	return res, nil
}

// RedeemForAccount redeems an organization-management code for the calling account
// (O6): the code is consumed on its own stream (P2), then the account gets the
// right; a crash between the two is completed by the redemption process manager (P3).
func (h *Organizations) RedeemForAccount(ctx context.Context, by uuid.UUID, m Meta, raw string) (Result, error) {
	norm, err := code.Normalize(raw)
	if err != nil {
		return Result{}, err
	}
	stream := code.StreamName(norm)
	var codeID uuid.UUID
	if err := h.codes.codes.Read(ctx, stream, func(c *code.Code) error {
		if !c.Issued() {
			return code.ErrUnknown
		}
		if c.Product().Target() != code.TargetAccount {
			return code.ErrProductForLock
		}
		codeID = c.ID()
		return nil
	}); err != nil {
		return Result{}, err
	}
	redemption := NewID()
	consumed, err := h.codes.codes.Update(ctx, stream, m.sub("code"), func(c *code.Code) error {
		return c.Redeem(code.AccountTarget(by), redemption, by, h.clock.Now())
	})
	if err != nil {
		return Result{}, err
	}
	if r, ok := consumed.First.(code.Redeemed); consumed.Replayed && ok {
		redemption = r.RedemptionID
	}
	return h.grantManagement(ctx, m, codeID, redemption, by)
}

func (h *Organizations) grantManagement(ctx context.Context, m Meta, codeID, redemption, accountID uuid.UUID) (Result, error) {
	return h.accounts.accounts.Update(ctx, accountStream(accountID), m, func(a *account.Account) error {
		a.GrantOrganizationManagement(codeID, redemption, h.clock.Now())
		return nil
	})
}

// CompleteAccountRedemption grants the benefit of a consumed account code if the
// account lacks it (P3); the redemption process manager calls it.
func (h *Organizations) CompleteAccountRedemption(ctx context.Context, e code.Redeemed) error {
	if e.AccountID == uuid.Nil || e.Product.Kind() != code.KindOrganizationManagement {
		return nil
	}
	m := Meta{Actor: es.ActorOf(es.ActorSystem, "redemptions"), CausationID: e.RedemptionID.String()}
	_, err := h.grantManagement(ctx, m, e.CodeID, e.RedemptionID, e.AccountID)
	return err
}

// SetLockAccessMode chooses organization-wide or on-request access to a lock shared
// with the organization (O5); admins only, and only for a lock the organization
// holds a key to.
func (h *Organizations) SetLockAccessMode(ctx context.Context, by, org, lockID uuid.UUID, mode string, m Meta) (Result, error) {
	if err := h.mustHoldKey(ctx, org, lockID); err != nil {
		return Result{}, err
	}
	return h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.SetLockAccessMode(by, lockID, mode, now)
	})
}

func (h *Organizations) mustHoldKey(ctx context.Context, org, lockID uuid.UUID) error {
	return h.locks.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if !l.HasOrganization(org) {
			return domain.Errorf(domain.ENotFound, "the organization holds no key to that lock")
		}
		return nil
	})
}

// RequestAccess records a member asking for a key to a shared lock (O5).
func (h *Organizations) RequestAccess(ctx context.Context, member, org, lockID uuid.UUID, m Meta) (uuid.UUID, Result, error) {
	if _, ok, err := h.Role(ctx, org, member); err != nil {
		return uuid.Nil, Result{}, err
	} else if !ok {
		return uuid.Nil, Result{}, organization.ErrNotFound
	}
	if err := h.mustHoldKey(ctx, org, lockID); err != nil {
		return uuid.Nil, Result{}, err
	}
	id := NewID()
	res, err := h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.RequestAccess(member, id, lockID, now)
	})
	if r, ok := res.First.(organization.AccessRequested); res.Replayed && ok {
		id = r.RequestID
	}
	return id, res, err
}

// ApproveRequest approves a member's request: the manager issues a phone key on the
// lock for the organization (within its quota and the lock's allowance), then the
// approval is recorded (O5). If a crash came between the two, approving again
// finds the member's key and records the approval.
func (h *Organizations) ApproveRequest(ctx context.Context, by, org, requestID uuid.UUID, m Meta) (uuid.UUID, Result, error) {
	var lockID, member uuid.UUID
	var holder string
	if err := h.read(ctx, org, func(o *organization.Organization) error {
		if r, ok := o.Role(by); !ok || !r.AtLeast(organization.RoleManager) {
			if !ok {
				return organization.ErrNotFound
			}
			return organization.ErrNotManager
		}
		var err error
		lockID, member, err = o.Request(requestID)
		return err
	}); err != nil {
		return uuid.Nil, Result{}, err
	}
	if err := h.accounts.accounts.Read(ctx, accountStream(member), func(a *account.Account) error {
		holder = a.Username()
		return nil
	}); err != nil {
		return uuid.Nil, Result{}, err
	}
	keyID, err := h.phoneKeyFor(ctx, by, org, lockID, member, holder, m.sub("key"))
	if err != nil {
		return uuid.Nil, Result{}, err
	}
	res, err := h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.ApproveRequest(by, requestID, keyID, now)
	})
	return keyID, res, err
}

// phoneKeyFor issues (or finds) the organization's phone key for member on a lock.
func (h *Organizations) phoneKeyFor(ctx context.Context, by, org, lockID, member uuid.UUID, holder string, m Meta) (uuid.UUID, error) {
	issued, err := h.locks.IssueKey(ctx, by, m, IssueKey{LockID: lockID, Organization: org, Type: string(lock.KeyPhone),
		AccountID: member, Terms: lock.KeyTerms{HolderName: holder}})
	if err == nil {
		return issued.KeyID, nil
	}
	if err != lock.ErrPhoneKeyHeld {
		return uuid.Nil, err
	}
	var keyID uuid.UUID
	rerr := h.locks.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		for _, id := range l.KeyIDs() {
			if k := l.Key(id); k.Type == lock.KeyPhone && k.AccountID == member && k.Organization == org {
				keyID = id
			}
		}
		return nil
	})
	if rerr != nil {
		return uuid.Nil, rerr
	}
	if keyID == uuid.Nil {
		return uuid.Nil, err // the member holds a key of the owner's: nothing to approve
	}
	return keyID, nil
}

// DenyRequest refuses a member's request (O5).
func (h *Organizations) DenyRequest(ctx context.Context, by, org, requestID uuid.UUID, m Meta) (Result, error) {
	return h.Update(ctx, org, m, func(o *organization.Organization, now time.Time) error {
		return o.DenyRequest(by, requestID, now)
	})
}

// GrantMemberAccess issues, for an organization-wide lock (O5), the organization's
// phone key to a member who lacks one; the access process manager calls it. A
// refusal by the lock (quota, allowance, management) is returned for the caller
// to report; it is not retried.
//
// cause names the event that called for the key (the member's joining, or the
// mode's change): a redelivered event finds the key it issued.
func (h *Organizations) GrantMemberAccess(ctx context.Context, org, lockID, member uuid.UUID, cause string) (uuid.UUID, error) {
	var holder string
	var registered bool
	if err := h.accounts.accounts.Read(ctx, accountStream(member), func(a *account.Account) error {
		holder, registered = a.Username(), a.Registered()
		return nil
	}); err != nil || !registered {
		return uuid.Nil, err
	}
	admin, err := h.anyAdmin(ctx, org)
	if err != nil || admin == uuid.Nil {
		return uuid.Nil, err
	}
	m := Meta{Actor: es.ActorOf(es.ActorSystem, "organization-access"), CausationID: cause,
		IdempotencyKey: fmt.Sprintf("org-wide/%s/%s/%s/%s", cause, org, lockID, member)}
	return h.phoneKeyFor(ctx, admin, org, lockID, member, holder, m)
}

// RevokeMemberAccess revokes the organization's phone key of a member who left, on
// a shared lock (O5).
func (h *Organizations) RevokeMemberAccess(ctx context.Context, org, lockID, member uuid.UUID) error {
	admin, err := h.anyAdmin(ctx, org)
	if err != nil {
		return err
	}
	_, err = h.locks.locks.Update(ctx, lock.Stream(lockID), Meta{Actor: es.ActorOf(es.ActorSystem, "organization-access")}, func(l *lock.Lock) error {
		for _, id := range l.KeyIDs() {
			if k := l.Key(id); k.Type == lock.KeyPhone && k.AccountID == member && k.Organization == org {
				return l.RevokeKey(lock.Actor{Account: admin, Organization: org}, id, h.clock.Now())
			}
		}
		return nil
	})
	return err
}

func (h *Organizations) anyAdmin(ctx context.Context, org uuid.UUID) (uuid.UUID, error) {
	var admin uuid.UUID
	err := h.read(ctx, org, func(o *organization.Organization) error {
		for id, r := range o.Members() {
			if r == organization.RoleAdmin && (admin == uuid.Nil || id.String() < admin.String()) {
				admin = id
			}
		}
		return nil
	})
	return admin, err
}

package commands

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/organization"
)

// Memberships lists the organizations an account belongs to (the organization
// read model implements it).
type Memberships interface {
	MembershipsOf(ctx context.Context, account uuid.UUID) (map[uuid.UUID]organization.Role, error)
}

// ActivationIndex finds the account of an activation code's digest (A6).
type ActivationIndex interface {
	// AccountByActivation returns the account that was given the code with this
	// digest, and false when none was.
	AccountByActivation(ctx context.Context, digest string) (uuid.UUID, bool, error)
}

// AccountAdmin handles what is done to an account by those who manage it: the
// admins of its organizations (and of the organization that created it, such as a
// reseller) and the operator (A3, A5, A6), and the welcome letters (A6).
type AccountAdmin struct {
	accounts    *Accounts
	orgs        *Organizations
	memberships Memberships
	activations ActivationIndex
}

// NewAccountAdmin returns the handlers.
func NewAccountAdmin(accounts *Accounts, orgs *Organizations, memberships Memberships, activations ActivationIndex) *AccountAdmin {
	if accounts == nil || orgs == nil || memberships == nil || activations == nil {
		panic("commands: nil dependency")
	}
	return &AccountAdmin{accounts: accounts, orgs: orgs, memberships: memberships, activations: activations}
}

// Caller is who runs an account command: an account, and whether it is the
// platform's operator.
type Caller struct {
	ID       uuid.UUID
	Operator bool
}

// AccountInfo is what those who manage an account, and the account itself, see of
// it (A5).
type AccountInfo struct {
	ID       uuid.UUID
	Username string
	Email    string
	Roles    []account.Role
	// AuditOrganizations are the organizations the account audits.
	AuditOrganizations []uuid.UUID
	CreatedBy          uuid.UUID
	OrganizationID     uuid.UUID
	Shared             bool
	Activated          bool
	LockedUntil        time.Time // zero when not locked now
	RegisteredAt       time.Time
}

// manages reports whether by may manage target (a loaded account): the operator,
// an admin of an organization target belongs to, or an admin of the organization
// that created it (a landlord or reseller) (A3, A5). Others get false; the caller
// answers ErrNotFound, so they do not learn that the account exists (E2).
func (h *AccountAdmin) manages(ctx context.Context, by Caller, target uuid.UUID, createdFor uuid.UUID) (bool, error) {
	if by.Operator {
		return true, nil
	}
	if by.ID == uuid.Nil {
		return false, nil
	}
	orgs, err := h.memberships.MembershipsOf(ctx, target)
	if err != nil {
		return false, err
	}
	if createdFor != uuid.Nil {
		if orgs == nil {
			orgs = map[uuid.UUID]organization.Role{}
		}
		orgs[createdFor] = ""
	}
	for org := range orgs {
		role, ok, err := h.orgs.Role(ctx, org, by.ID)
		if err != nil {
			return false, err
		}
		if ok && role == organization.RoleAdmin {
			return true, nil
		}
	}
	return false, nil
}

// load reads an account and checks that by manages it (or, with self, is it). It
// returns account.ErrNotFound otherwise.
func (h *AccountAdmin) load(ctx context.Context, by Caller, id uuid.UUID, self bool) (AccountInfo, error) {
	var info AccountInfo
	if err := h.accounts.accounts.Read(ctx, accountStream(id), func(a *account.Account) error {
		if !a.Registered() {
			return account.ErrNotFound
		}
		now := h.accounts.clock.Now()
		info = AccountInfo{ID: a.ID(), Username: a.Username(), Email: a.Email(), Roles: a.Roles(), AuditOrganizations: a.AuditOrganizations(), CreatedBy: a.CreatedBy(),
			OrganizationID: a.OrganizationID(), Shared: a.Shared(), Activated: a.Activated(), RegisteredAt: a.RegisteredAt()}
		if a.Locked(now) {
			info.LockedUntil = a.LockedUntil()
		}
		return nil
	}); err != nil {
		return AccountInfo{}, err
	}
	if self && by.ID == id {
		return info, nil
	}
	ok, err := h.manages(ctx, by, id, info.OrganizationID)
	if err != nil {
		return AccountInfo{}, err
	}
	if !ok {
		return AccountInfo{}, account.ErrNotFound
	}
	return info, nil
}

// Account returns an account to itself or to whoever manages it (A5); others get
// account.ErrNotFound.
func (h *AccountAdmin) Account(ctx context.Context, by Caller, id uuid.UUID) (AccountInfo, error) {
	return h.load(ctx, by, id, true)
}

// Unlock lifts a lockout at once (A3), for whoever manages the account; others get
// account.ErrNotFound, and the account itself is one of them unless it also manages
// itself. An account that is not locked changes nothing.
func (h *AccountAdmin) Unlock(ctx context.Context, by Caller, m Meta, id uuid.UUID) (Result, error) {
	if _, err := h.load(ctx, by, id, false); err != nil {
		return Result{}, err
	}
	return h.accounts.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		return a.Unlock(by.ID, h.accounts.clock.Now())
	})
}

// ChangeEmail links another email address (A5), for whoever manages the account;
// the account itself gets account.ErrOwnEmail, others account.ErrNotFound.
func (h *AccountAdmin) ChangeEmail(ctx context.Context, by Caller, m Meta, id uuid.UUID, email string) (Result, error) {
	if by.ID == id {
		if _, err := h.load(ctx, by, id, true); err != nil {
			return Result{}, err
		}
		return Result{}, account.ErrOwnEmail
	}
	if _, err := h.load(ctx, by, id, false); err != nil {
		return Result{}, err
	}
	return h.accounts.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		return a.ChangeEmail(by.ID, email, h.accounts.clock.Now())
	})
}

// Resident is a resident's account to create (A6).
type Resident struct {
	Username string
	Email    string // optional
	Shared   bool   // a shared generic account of the organization (A4)
}

// ResidentCreated is what CreateResident reports.
type ResidentCreated struct {
	Result
	AccountID uuid.UUID
	Username  string
}

// CreateResident creates, on behalf of an admin of org (a landlord, or a
// reseller), an account with a one-time activation code for its welcome letter,
// and makes it a member of org (A6). Anyone else gets organization.ErrNotFound
// (not a member) or organization.ErrNotAdmin. The username rules and look-alike
// refusals of a sign-up apply (A1). A retry with the same idempotency key answers
// with the same account.
func (h *AccountAdmin) CreateResident(ctx context.Context, by uuid.UUID, m Meta, org uuid.UUID, r Resident) (ResidentCreated, error) {
	role, ok, err := h.orgs.Role(ctx, org, by)
	if err != nil {
		return ResidentCreated{}, err
	}
	if !ok {
		return ResidentCreated{}, organization.ErrNotFound
	}
	if role != organization.RoleAdmin {
		return ResidentCreated{}, organization.ErrNotAdmin
	}
	username, err := account.ValidateUsername(r.Username)
	if err != nil {
		return ResidentCreated{}, err
	}
	email := strings.TrimSpace(r.Email)
	if email != "" {
		if email, err = account.ValidateEmail(email); err != nil {
			return ResidentCreated{}, err
		}
	}
	activationID := NewID()
	up, err := h.accounts.register(ctx, m, username, func() error { return nil }, func(id uuid.UUID, now time.Time) (*account.Account, error) {
		return account.RegisterResident(id, username, email, r.Shared, by, org, h.activation(activationID, now), now)
	})
	if err != nil {
		return ResidentCreated{}, err
	}
	res, err := h.orgs.AddMember(ctx, by, org, up.AccountID, organization.RoleMember, m.sub("member"))
	switch {
	case errors.Is(err, organization.ErrAlreadyMember): // a retry
		res = up.Result
	case err != nil:
		return ResidentCreated{}, err
	}
	return ResidentCreated{Result: res, AccountID: up.AccountID, Username: up.Username}, nil
}

func (h *AccountAdmin) activation(id uuid.UUID, now time.Time) account.Secret {
	return account.Secret{ID: id, Digest: h.accounts.digest(ActivationCode(h.accounts.secrets, id)), ExpiresAt: now.Add(account.ActivationTTL)}
}

// IssueActivation gives an account an organization created a new activation code
// (A6): the admin's way to reset a shared generic account, which gets no reset
// mail (A4), or to replace a lost letter. Only whoever manages the account may;
// others get account.ErrNotFound; an account that signed up itself gets
// ErrNotResident.
func (h *AccountAdmin) IssueActivation(ctx context.Context, by Caller, m Meta, id uuid.UUID) (Result, error) {
	info, err := h.load(ctx, by, id, false)
	if err != nil {
		return Result{}, err
	}
	if info.OrganizationID == uuid.Nil {
		return Result{}, ErrNotResident
	}
	activationID := NewID()
	return h.accounts.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		now := h.accounts.clock.Now()
		return a.IssueActivation(by.ID, h.activation(activationID, now), now)
	})
}

// ErrNotResident refuses an activation code for an account that signed up itself:
// its owner resets it by mail (A4).
var ErrNotResident = &domain.Error{Code: domain.EForbidden, Message: "only accounts an organization created get activation codes; this one resets its password by mail"}

// Letter is the content of a welcome letter (A6).
type Letter struct {
	Username  string
	Code      string
	ExpiresAt time.Time
}

// errNoLetter answers for a letter that is not the caller's to see, or is used.
var errNoLetter = &domain.Error{Code: domain.ENotFound, Message: "no welcome letter to show: the account is activated, or you did not create it"}

// Letter returns the welcome letter of an account with a usable activation code,
// to the admin who issued that code (A6); anyone else, or after the code is used,
// gets ENotFound.
func (h *AccountAdmin) Letter(ctx context.Context, by uuid.UUID, id uuid.UUID) (Letter, error) {
	var l Letter
	err := h.accounts.accounts.Read(ctx, accountStream(id), func(a *account.Account) error {
		activationID, expires, issuedBy, ok := a.PendingActivation(h.accounts.clock.Now())
		if !ok || by == uuid.Nil || issuedBy != by {
			return errNoLetter
		}
		l = Letter{Username: a.Username(), Code: FormatActivationCode(ActivationCode(h.accounts.secrets, activationID)), ExpiresAt: expires}
		return nil
	})
	return l, err
}

// Activated is what Activate reports.
type Activated struct {
	Result
	AccountID uuid.UUID
	Username  string
}

// Activate sets an account's password with its activation code (A6): once, before
// the code expires, ending every session. A code that is unknown, used or expired
// returns account.ErrActivationUnusable; a password outside the rules their errors.
func (h *AccountAdmin) Activate(ctx context.Context, m Meta, activationCode, password string) (Activated, error) {
	norm, ok := NormalizeActivationCode(activationCode)
	if !ok {
		return Activated{}, account.ErrActivationUnusable
	}
	digest := h.accounts.digest(norm)
	id, found, err := h.activations.AccountByActivation(ctx, digest)
	if err != nil {
		return Activated{}, err
	}
	if !found {
		return Activated{}, account.ErrActivationUnusable
	}
	if err := account.ValidatePassword(password); err != nil {
		return Activated{}, err
	}
	hash, err := h.accounts.passwords.Hash(ctx, password)
	if err != nil {
		return Activated{}, err
	}
	var username string
	m.Actor = es.ActorOf(es.ActorAccount, id.String())
	res, err := h.accounts.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		username = a.Username()
		return a.Activate(digest, hash, h.accounts.clock.Now())
	})
	if err != nil {
		return Activated{}, err
	}
	return Activated{Result: res, AccountID: id, Username: username}, nil
}

// activationAlphabet is the prepaid codes' (P1): no look-alikes (no 0/O, 1/I/L),
// as codes are typed from paper (A6).
const activationAlphabet = code.Alphabet

// activationLength is the characters of a code: 31^16, about 2^79.
const activationLength = 16

// ActivationCode is the activation code of a welcome letter, normalized (no
// groups): derived from the keyring and the activation's id, so the letter can be
// shown again from the event, which stores only the code's digest.
func ActivationCode(secrets Secrets, activationID uuid.UUID) string {
	n := new(big.Int).SetBytes(secrets.Derive("activation", activationID.String())[:16])
	base, digit := big.NewInt(int64(len(activationAlphabet))), new(big.Int)
	b := make([]byte, activationLength)
	for i := range b {
		n.DivMod(n, base, digit)
		b[i] = activationAlphabet[digit.Int64()]
	}
	return string(b)
}

// FormatActivationCode groups a normalized code by four: "ABCD-EFGH-JKMN-PQRS".
func FormatActivationCode(code string) string {
	var parts []string
	for i := 0; i < len(code); i += 4 {
		parts = append(parts, code[i:min(i+4, len(code))])
	}
	return strings.Join(parts, "-")
}

// NormalizeActivationCode reads a code as a person types it: any case, spaces and
// dashes ignored. It returns false for what cannot be a code.
func NormalizeActivationCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
		case strings.ContainsRune(activationAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == activationLength
}

package account

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Lifetimes of the single-use secrets that set a password.
const (
	// ResetTTL is how long a password-reset link works (A4).
	ResetTTL = time.Hour
	// ActivationTTL is how long a welcome letter's activation code works (A6): a
	// printed letter travels by post; an admin can always issue a new one.
	ActivationTTL = 30 * 24 * time.Hour
)

// Event type names are stored forever: never rename, never reuse.
const (
	// PasswordSetType is the stored type of PasswordSet.
	PasswordSetType = "account.password_set"
	// PasswordResetRequestedType is the stored type of PasswordResetRequested.
	PasswordResetRequestedType = "account.password_reset_requested"
	// ActivationIssuedType is the stored type of ActivationIssued.
	ActivationIssuedType = "account.activation_issued"
	// EmailChangedType is the stored type of EmailChanged.
	EmailChangedType = "account.email_changed"
)

// How a password was set. Stored in events: never rename one.
const (
	// ViaChange is the account changing its own password, knowing the current one.
	ViaChange = "change"
	// ViaReset is a password-reset link from the mail (A4).
	ViaReset = "reset"
	// ViaActivation is a welcome letter's activation code (A6).
	ViaActivation = "activation"
)

// PasswordSet records a new password hash (A2, A8: one account, one password for
// every module). The sessions it ends are recorded as SessionEnded right after it.
type PasswordSet struct {
	PasswordHash string    `json:"password_hash"`
	Via          string    `json:"via"`
	SetAt        time.Time `json:"set_at"`
}

// EventType returns PasswordSetType.
func (PasswordSet) EventType() string { return PasswordSetType }

// PasswordResetRequested records a forgotten-password request for an account with
// an email address (A4). Only the digest of the link's token is kept: the mail
// process manager derives the token again from the keyring and ResetID.
type PasswordResetRequested struct {
	ResetID     uuid.UUID `json:"reset_id"`
	TokenDigest string    `json:"token_digest"`
	Email       string    `json:"email"`
	ExpiresAt   time.Time `json:"expires_at"`
	RequestedAt time.Time `json:"requested_at"`
}

// EventType returns PasswordResetRequestedType.
func (PasswordResetRequested) EventType() string { return PasswordResetRequestedType }

// ActivationIssued records a one-time activation code for a welcome letter (A6):
// with it the resident sets a password. Only the code's digest is kept; the letter
// derives the code again from the keyring and ActivationID. A later one replaces
// an unused earlier one (an admin's reset of a shared account, or a lost letter).
type ActivationIssued struct {
	ActivationID uuid.UUID `json:"activation_id"`
	CodeDigest   string    `json:"code_digest"`
	IssuedBy     uuid.UUID `json:"issued_by"`
	ExpiresAt    time.Time `json:"expires_at"`
	IssuedAt     time.Time `json:"issued_at"`
}

// EventType returns ActivationIssuedType.
func (ActivationIssued) EventType() string { return ActivationIssuedType }

// EmailChanged records a new linked email address, set by someone who manages the
// account (A5).
type EmailChanged struct {
	Email     string    `json:"email"`
	ChangedBy uuid.UUID `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
}

// EventType returns EmailChangedType.
func (EmailChanged) EventType() string { return EmailChangedType }

func registerCredentialEvents(r *es.Registry) {
	es.Register[UsernameReleased](r, UsernameReleasedType)
	es.Register[PasswordSet](r, PasswordSetType)
	es.Register[PasswordResetRequested](r, PasswordResetRequestedType)
	es.Register[ActivationIssued](r, ActivationIssuedType)
	es.Register[EmailChanged](r, EmailChangedType)
}

// Errors of password recovery, activation and email changes.
var (
	// ErrResetUnusable refuses a reset link that is unknown, used, replaced or
	// older than ResetTTL (A4).
	ErrResetUnusable = &domain.Error{Code: domain.ENotFound, Message: "this password-reset link is unknown, used or expired: ask for a new one"}
	// ErrNoResetMail refuses a reset by mail for a shared generic account or one
	// without an email address (A4). The command layer answers as if it was sent.
	ErrNoResetMail = &domain.Error{Code: domain.EForbidden, Message: "this account gets no reset mail: its organization's admin resets it"}
	// ErrActivationUnusable refuses an activation code that is unknown, used,
	// replaced or older than ActivationTTL (A6).
	ErrActivationUnusable = &domain.Error{Code: domain.ENotFound, Message: "this activation code is unknown, used or expired: ask the organization that sent the letter for a new one"}
	// ErrOwnEmail refuses an account changing its own email address (A5).
	ErrOwnEmail = &domain.Error{Code: domain.EForbidden, Message: "an account cannot change its own email address: ask your organization's admin"}
	// ErrNotFound is returned for an account that does not exist.
	ErrNotFound = &domain.Error{Code: domain.ENotFound, Message: "account not found"}
)

// Secret is a single-use secret the caller made: its id (stored in the event, so
// the secret can be derived again), the digest under which it is kept, and its
// expiry.
type Secret struct {
	ID        uuid.UUID
	Digest    string
	ExpiresAt time.Time
}

func (s Secret) valid(now time.Time) error {
	if s.ID == uuid.Nil || s.Digest == "" || !now.Before(s.ExpiresAt) {
		return domain.Errorf(domain.EInvalid, "a single-use secret needs an id, a digest and a later expiry")
	}
	return nil
}

// pending is an unused single-use secret.
type pending struct {
	id      uuid.UUID
	digest  string
	expires time.Time
	by      uuid.UUID // who issued it, for an activation code
}

func (p *pending) usable(digest string, now time.Time) bool {
	return p != nil && digest != "" && p.digest == digest && now.Before(p.expires)
}

// RegisterResident creates an account for a resident on behalf of an admin (by)
// of organization org (A6): no password until the activation code is used, an
// optional email, and shared for a generic account of the organization (A4). It
// returns the errors of Register, and EInvalid without by, org or a valid
// activation.
func RegisterResident(id uuid.UUID, username, email string, shared bool, by, org uuid.UUID, activation Secret, now time.Time) (*Account, error) {
	now = now.UTC()
	if id == uuid.Nil || by == uuid.Nil || org == uuid.Nil {
		return nil, domain.Errorf(domain.EInvalid, "a resident's account needs an id, a creator and an organization")
	}
	username, err := ValidateUsername(username)
	if err != nil {
		return nil, err
	}
	if email != "" {
		if email, err = ValidateEmail(email); err != nil {
			return nil, err
		}
	}
	if err := activation.valid(now); err != nil {
		return nil, err
	}
	a := &Account{}
	a.record(Registered{AccountID: id, Username: username, Email: email, CreatedBy: by, OrganizationID: org, Shared: shared, RegisteredAt: now})
	a.record(ActivationIssued{ActivationID: activation.ID, CodeDigest: activation.Digest, IssuedBy: by, ExpiresAt: activation.ExpiresAt.UTC(), IssuedAt: now})
	return a, nil
}

// IssueActivation gives the account a new activation code on behalf of by, who
// manages it (checked by the command layer): the admin's reset path for a shared
// account, or a new letter for one that was lost (A4, A6). The code replaces an
// unused earlier one; the current password works until the code is used.
func (a *Account) IssueActivation(by uuid.UUID, activation Secret, now time.Time) error {
	now = now.UTC()
	if a.id == uuid.Nil {
		return ErrNotFound
	}
	if by == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "an activation code needs the account that issues it")
	}
	if err := activation.valid(now); err != nil {
		return err
	}
	a.record(ActivationIssued{ActivationID: activation.ID, CodeDigest: activation.Digest, IssuedBy: by, ExpiresAt: activation.ExpiresAt.UTC(), IssuedAt: now})
	return nil
}

// Activate sets the first password (or, after IssueActivation, a new one) with the
// activation code whose digest is given (A6), once, and ends every session. It
// returns ErrActivationUnusable for a code that is not the account's pending one
// or has expired, and EInvalid without a hash.
func (a *Account) Activate(codeDigest, passwordHash string, now time.Time) error {
	now = now.UTC()
	if !a.activation.usable(codeDigest, now) {
		return ErrActivationUnusable
	}
	if passwordHash == "" {
		return domain.Errorf(domain.EInvalid, "a password needs a hash")
	}
	a.setPassword(passwordHash, ViaActivation, uuid.Nil, now)
	return nil
}

// RequestPasswordReset records a forgotten-password request (A4) whose link is the
// given secret; it replaces an earlier unused one. It returns ErrNoResetMail for a
// shared generic account or one without an email address (the caller answers as
// if it was sent), and ErrNotFound for no account.
func (a *Account) RequestPasswordReset(reset Secret, now time.Time) error {
	now = now.UTC()
	switch {
	case a.id == uuid.Nil:
		return ErrNotFound
	case a.shared || a.email == "":
		return ErrNoResetMail
	}
	if err := reset.valid(now); err != nil {
		return err
	}
	a.record(PasswordResetRequested{ResetID: reset.ID, TokenDigest: reset.Digest, Email: a.email, ExpiresAt: reset.ExpiresAt.UTC(), RequestedAt: now})
	return nil
}

// ResetPassword sets a new password with the reset link whose token digest is
// given (A4), once, and ends every session. It returns ErrResetUnusable for a link
// that is not the account's pending one or has expired, and EInvalid without a
// hash.
func (a *Account) ResetPassword(tokenDigest, passwordHash string, now time.Time) error {
	now = now.UTC()
	if !a.reset.usable(tokenDigest, now) {
		return ErrResetUnusable
	}
	if passwordHash == "" {
		return domain.Errorf(domain.EInvalid, "a password needs a hash")
	}
	a.setPassword(passwordHash, ViaReset, uuid.Nil, now)
	return nil
}

// ChangePassword sets a new password for an account that proved it knows the
// current one (checked outside the domain), and ends every session but keep, the
// one the change was made in (A8). It returns ErrNotFound for no account and
// EInvalid without a hash.
func (a *Account) ChangePassword(passwordHash string, keep uuid.UUID, now time.Time) error {
	if a.id == uuid.Nil {
		return ErrNotFound
	}
	if passwordHash == "" {
		return domain.Errorf(domain.EInvalid, "a password needs a hash")
	}
	a.setPassword(passwordHash, ViaChange, keep, now.UTC())
	return nil
}

// setPassword records the new hash and ends the sessions but keep. A new password
// also voids a pending reset link and activation code: each was for a password
// that is no longer the one to replace.
func (a *Account) setPassword(hash, via string, keep uuid.UUID, now time.Time) {
	a.record(PasswordSet{PasswordHash: hash, Via: via, SetAt: now})
	for _, s := range a.Sessions() {
		if s.ID != keep && s.ActiveAt(now) {
			a.record(SessionEnded{SessionID: s.ID, EndedAt: now})
		}
	}
}

// ChangeEmail links another email address, on behalf of by, who manages the
// account (checked by the command layer) (A5). The account itself is refused with
// ErrOwnEmail, even when it also manages itself; a bad address gets
// ErrEmailInvalid; the same address records nothing.
func (a *Account) ChangeEmail(by uuid.UUID, email string, now time.Time) error {
	if a.id == uuid.Nil {
		return ErrNotFound
	}
	if by == a.id {
		return ErrOwnEmail
	}
	if by == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "an email change needs the account that makes it")
	}
	email, err := ValidateEmail(email)
	if err != nil {
		return err
	}
	if email == a.email {
		return nil
	}
	a.record(EmailChanged{Email: email, ChangedBy: by, ChangedAt: now.UTC()})
	return nil
}

// Shared reports whether the account is a shared generic account of its
// organization (A4).
func (a *Account) Shared() bool { return a.shared }

// OrganizationID returns the organization the account was created for by one of
// its admins (A6); uuid.Nil for an account that signed up itself.
func (a *Account) OrganizationID() uuid.UUID { return a.organization }

// Activated reports whether the account has a password: always, except for a
// resident's account whose activation code was never used (A6).
func (a *Account) Activated() bool { return a.passwordHash != "" }

// PendingActivation returns the id, expiry and issuer of the activation code that
// is usable at now, and false when there is none (A6).
func (a *Account) PendingActivation(now time.Time) (id uuid.UUID, expires time.Time, issuedBy uuid.UUID, ok bool) {
	if a.activation == nil || !now.Before(a.activation.expires) {
		return uuid.Nil, time.Time{}, uuid.Nil, false
	}
	return a.activation.id, a.activation.expires, a.activation.by, true
}

// applyCredentials applies the events of this file.
func (a *Account) applyCredentials(e es.Event) {
	switch e := e.(type) {
	case PasswordSet:
		a.passwordHash, a.reset, a.activation = e.PasswordHash, nil, nil
	case PasswordResetRequested:
		a.reset = &pending{id: e.ResetID, digest: e.TokenDigest, expires: e.ExpiresAt}
	case ActivationIssued:
		a.activation = &pending{id: e.ActivationID, digest: e.CodeDigest, expires: e.ExpiresAt, by: e.IssuedBy}
	case EmailChanged:
		a.email = e.Email
	}
}

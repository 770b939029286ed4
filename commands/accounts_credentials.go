package commands

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

// EmailIndex finds accounts by their linked email address, for a forgotten
// password asked by email (A4). The projections implement it.
type EmailIndex interface {
	// AccountsByEmail returns the accounts linked to email, matched
	// case-insensitively; none when there are none.
	AccountsByEmail(ctx context.Context, email string) ([]uuid.UUID, error)
}

// ErrWrongPassword refuses a password change whose current password is wrong.
var ErrWrongPassword = &domain.Error{Code: domain.EForbidden, Message: "the current password is wrong"}

// errSessionNotFound answers for a session that is not the caller's or has ended.
var errSessionNotFound = &domain.Error{Code: domain.ENotFound, Message: "session not found"}

// PasswordResetToken is the token of a password-reset link (A4): the account's id
// and 32 bytes derived from the keyring and the reset's id, so the mail process
// manager writes the link from the event, which stores only the token's digest,
// and the link names its account without an index.
func PasswordResetToken(secrets Secrets, accountID, resetID uuid.UUID) string {
	b := append(accountID[:], secrets.Derive("password-reset", resetID.String())[:32]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// resetAccount returns the account a reset token names, and false for a token
// that cannot be one.
func resetAccount(token string) (uuid.UUID, bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != 48 {
		return uuid.Nil, false
	}
	id, err := uuid.FromBytes(b[:16])
	return id, err == nil && id != uuid.Nil
}

// RequestPasswordReset asks for a reset link by username or email (A4). It answers
// nothing, in about the same time, whether or not an account matches: it always
// pays for one password hash (Passwords.Dummy; the work of a login); then it
// records a request on each matching account that has an email address and is
// not a shared generic account, and the mail goes out from the event. An email
// linked to several accounts gets a link for each. The same happens with no match,
// minus the appends: only a store error is returned.
func (h *Accounts) RequestPasswordReset(ctx context.Context, m Meta, usernameOrEmail string, emails EmailIndex) error {
	if err := h.passwords.Dummy(ctx, usernameOrEmail); err != nil {
		return err
	}
	var ids []uuid.UUID
	if s := strings.TrimSpace(usernameOrEmail); strings.Contains(s, "@") {
		email, err := account.ValidateEmail(s)
		if err != nil {
			return nil
		}
		if ids, err = emails.AccountsByEmail(ctx, email); err != nil {
			return err
		}
	} else if name, err := account.ValidateUsername(s); err == nil {
		id, taken, err := h.holder(ctx, h.key(name))
		if err != nil {
			return err
		}
		if taken {
			ids = append(ids, id)
		}
	}
	m.IdempotencyKey = "" // every request is a new link
	m.Actor = es.ActorOf(es.ActorSystem, "password-reset")
	for _, id := range ids {
		resetID := NewID()
		_, err := h.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
			now := h.clock.Now()
			return a.RequestPasswordReset(account.Secret{ID: resetID, Digest: h.digest(PasswordResetToken(h.secrets, id, resetID)),
				ExpiresAt: now.Add(account.ResetTTL)}, now)
		})
		if err != nil && !errors.Is(err, account.ErrNoResetMail) && !errors.Is(err, account.ErrNotFound) {
			return err
		}
	}
	return nil
}

// ResetPassword sets a new password with a reset link's token (A4): once, within
// the hour, ending every session. It returns ErrResetUnusable for a token that is
// not usable, and the password rules' errors.
func (h *Accounts) ResetPassword(ctx context.Context, m Meta, token, password string) (Result, error) {
	id, ok := resetAccount(token)
	if !ok {
		return Result{}, account.ErrResetUnusable
	}
	if err := account.ValidatePassword(password); err != nil {
		return Result{}, err
	}
	exists, err := h.AccountExists(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if !exists {
		return Result{}, account.ErrResetUnusable
	}
	hash, err := h.passwords.Hash(ctx, password)
	if err != nil {
		return Result{}, err
	}
	m.Actor = es.ActorOf(es.ActorAccount, id.String())
	return h.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		return a.ResetPassword(h.digest(token), hash, h.clock.Now())
	})
}

// ChangePassword sets a new password for an account that gives its current one,
// and ends its other sessions (A8); session is the one the change is made in. A
// wrong current password returns ErrWrongPassword.
func (h *Accounts) ChangePassword(ctx context.Context, m Meta, accountID, session uuid.UUID, current, password string) (Result, error) {
	var stored string
	if err := h.accounts.Read(ctx, accountStream(accountID), func(a *account.Account) error {
		stored = a.PasswordHash()
		return nil
	}); err != nil {
		return Result{}, err
	}
	if stored == "" || len(current) > account.MaxPasswordBytes {
		return Result{}, ErrWrongPassword
	}
	ok, err := h.passwords.Verify(ctx, current, stored)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, ErrWrongPassword
	}
	if err := account.ValidatePassword(password); err != nil {
		return Result{}, err
	}
	hash, err := h.passwords.Hash(ctx, password)
	if err != nil {
		return Result{}, err
	}
	return h.accounts.Update(ctx, accountStream(accountID), m, func(a *account.Account) error {
		if a.PasswordHash() != stored {
			return ErrConflict // changed while we verified: the caller tries again
		}
		return a.ChangePassword(hash, session, h.clock.Now())
	})
}

// Sessions returns the account's sessions that have not ended or expired, oldest
// first.
func (h *Accounts) Sessions(ctx context.Context, accountID uuid.UUID) ([]account.Session, error) {
	var out []account.Session
	err := h.accounts.Read(ctx, accountStream(accountID), func(a *account.Account) error {
		now := h.clock.Now()
		for _, s := range a.Sessions() {
			if s.ActiveAt(now) {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, err
}

// EndSession ends one of the account's own sessions. A session that is not the
// account's, has ended or has expired returns ENotFound.
func (h *Accounts) EndSession(ctx context.Context, m Meta, accountID, sessionID uuid.UUID) (Result, error) {
	return h.accounts.Update(ctx, accountStream(accountID), m, func(a *account.Account) error {
		now := h.clock.Now()
		if s, ok := a.Session(sessionID); !ok || !s.ActiveAt(now) {
			return errSessionNotFound
		}
		return a.EndSession(sessionID, now)
	})
}

package account

import (
	"time"

	"sleutel/domain"
)

// Errors of account input (SPEC A1, A2).
var (
	// ErrUsernameInvalid refuses a username outside A1's rules.
	ErrUsernameInvalid = &domain.Error{Code: domain.EInvalid, Message: "a username has 3 to 64 characters: letters, digits, '.', '_' and '-'"}
	// ErrUsernameTaken refuses a username that, or one confusable with it, belongs
	// to another account (A1).
	ErrUsernameTaken = &domain.Error{Code: domain.EConflict, Message: "this username is taken or too similar to an existing one"}
	// ErrEmailInvalid refuses what is not a single plain email address.
	ErrEmailInvalid = &domain.Error{Code: domain.EInvalid, Message: "an email address looks like name@example.com"}
	// ErrPasswordLength refuses a password shorter than 10 or longer than 256
	// characters (or 1024 bytes).
	ErrPasswordLength = &domain.Error{Code: domain.EInvalid, Message: "a password has 10 to 256 characters"}
	// ErrPasswordBlank refuses a password of white space only.
	ErrPasswordBlank = &domain.Error{Code: domain.EInvalid, Message: "a password cannot be only spaces"}
	// ErrUnknownRole refuses a role this platform does not know.
	ErrUnknownRole = &domain.Error{Code: domain.EInvalid, Message: "a role is operator or auditor"}
)

// ErrWrongCredentials refuses a login with a wrong password (A3). The command layer
// returns the same error for an unknown username, so a caller cannot tell the two
// apart.
var ErrWrongCredentials = &domain.Error{Code: domain.EUnauthorized, Message: "wrong username or password"}

// ErrLockedOut matches every *LockedOutError with errors.Is.
var ErrLockedOut = &domain.Error{Code: domain.ELockedOut, Message: "too many failed logins: this account is locked for a while"}

// LockedOutError refuses a login while the account is locked after too many failed
// logins, even with the right password, and tells when the lock ends (A3). Its code
// is domain.ELockedOut and errors.Is(err, ErrLockedOut) holds.
type LockedOutError struct {
	LockedUntil time.Time
}

// Error says until when the account is locked, in RFC 3339 UTC (E3).
func (e *LockedOutError) Error() string {
	return "too many failed logins: this account is locked until " + e.LockedUntil.UTC().Format(time.RFC3339)
}

// Unwrap returns the *domain.Error that carries code ELockedOut and this message,
// for domain.ErrorCode and domain.ErrorMessage.
func (e *LockedOutError) Unwrap() error {
	return &domain.Error{Code: domain.ELockedOut, Message: e.Error()}
}

// Is reports whether target is ErrLockedOut.
func (e *LockedOutError) Is(target error) bool { return target == ErrLockedOut }

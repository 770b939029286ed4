// Package domain holds what every aggregate shares: the error type whose code the
// edges (HTTP, CLI) map to a status, and nothing else.
package domain

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API: never rename one.
const (
	EConflict     = "conflict"
	EInvalid      = "invalid_input"
	ENotFound     = "not_found"
	EForbidden    = "forbidden"
	EUnauthorized = "unauthorized"
	EInternal     = "internal"
	// EManagementInactive: the lock is revoke-only; redeem a management code (L5).
	EManagementInactive = "management_inactive"
	// EKeyLimitReached: the lock's key allowance or the 2,500 cap is used up (L8).
	EKeyLimitReached = "key_limit_reached"
	// ECodeInvalid: a prepaid code is unknown, used, or for another product (P2).
	ECodeInvalid = "code_invalid"
	// EOptionUnavailable: an option cannot be activated in the lock's state (L11).
	EOptionUnavailable = "option_unavailable"
	// ELockedOut: too many failed logins; the account is locked for a while (A3).
	ELockedOut = "locked_out"
)

// Error is a failure a user may be shown. Message is safe to display; it never
// holds secrets.
type Error struct {
	Code    string
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a nil err,
// and EInternal for anything else.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-safe message of err: the *Error's message, or
// "internal error" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

package commands

import (
	"time"

	"github.com/google/uuid"
)

// SignUp creates an account by self sign-up.
type SignUp struct {
	Username string
	Email    string
	Password string
}

// SignedUp is the outcome of SignUp.
type SignedUp struct {
	Result
	AccountID uuid.UUID
	Username  string
}

// LoggedIn is the outcome of a login: the session token, shown this once.
type LoggedIn struct {
	Result
	AccountID uuid.UUID
	Token     string
	ExpiresAt time.Time
}

// IssuedCodes is the outcome of issuing a batch of prepaid codes: the codes, shown
// this once (only their streams' ids are stored).
type IssuedCodes struct {
	Result
	Product string
	Codes   []string
}

package code

import "sleutel/domain"

// Errors of reading a code (SPEC P1). They tell the user to look for a typo; the
// format is public, so they reveal nothing about which codes exist.
var (
	// ErrWrongLength refuses input that does not hold 16 code characters.
	ErrWrongLength = &domain.Error{Code: domain.ECodeInvalid, Message: "a code has 16 characters in 4 groups of 4: check it for typos"}
	// ErrBadCharacter refuses input with a character that no code uses.
	ErrBadCharacter = &domain.Error{Code: domain.ECodeInvalid, Message: "a code holds only the digits 2 to 9 and the letters A to Z without I, L and O: check it for typos"}
	// ErrBadCheck refuses input whose check character does not match: a
	// character was mistyped.
	ErrBadCheck = &domain.Error{Code: domain.ECodeInvalid, Message: "this is not a valid code: check it for typos"}
)

// unknownOrUsed is the one message for a code that was never issued and one that
// was redeemed already, so that a caller learns nothing about who used it or when
// (SPEC P2).
const unknownOrUsed = "this code is unknown or has already been redeemed"

// Errors of redeeming a code (SPEC P2).
var (
	// ErrUnknown refuses a code that was never issued. Its message is ErrUsed's.
	ErrUnknown = &domain.Error{Code: domain.ECodeInvalid, Message: unknownOrUsed}
	// ErrUsed refuses a code that was redeemed already. Its message is ErrUnknown's.
	ErrUsed = &domain.Error{Code: domain.ECodeInvalid, Message: unknownOrUsed}
	// ErrProductForAccount refuses an organization-management code redeemed on a lock.
	ErrProductForAccount = &domain.Error{Code: domain.ECodeInvalid, Message: "this code is for organization management: redeem it on your account, not on a lock"}
	// ErrProductForLock refuses a lock's code (management, shared management,
	// keys) redeemed on an account.
	ErrProductForLock = &domain.Error{Code: domain.ECodeInvalid, Message: "this code is for a lock: redeem it on the lock, not on an account"}
)

// ErrInvalidProduct refuses a product name that is not one of SPEC P1's.
var ErrInvalidProduct = &domain.Error{Code: domain.EInvalid, Message: "a product is management-5y, shared-management-5y, organization-management or keys-N with N from 1 to 2475"}

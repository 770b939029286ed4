package code

import "sleutel/domain"

// Errors of reading a code (SPEC P1). They tell the user to look for a typo; the
// format is public, so they reveal nothing about which codes exist.
var (
	// ErrWrongLength: the input does not hold 16 code characters.
	ErrWrongLength = &domain.Error{Code: domain.ECodeInvalid, Message: "a code has 16 characters in 4 groups of 4: check it for typos"}
	// ErrBadCharacter: the input holds a character that no code uses.
	ErrBadCharacter = &domain.Error{Code: domain.ECodeInvalid, Message: "a code holds only the digits 2 to 9 and the letters A to Z without I, L and O: check it for typos"}
	// ErrBadCheck: the check character does not match, so a character was mistyped.
	ErrBadCheck = &domain.Error{Code: domain.ECodeInvalid, Message: "this is not a valid code: check it for typos"}
)

// unknownOrUsed is the one message for a code that was never issued and one that
// was redeemed already, so that a caller learns nothing about who used it or when
// (SPEC P2).
const unknownOrUsed = "this code is unknown or has already been redeemed"

// Errors of redeeming a code (SPEC P2).
var (
	// ErrUnknown: no code with this stream was ever issued. Its message is ErrUsed's.
	ErrUnknown = &domain.Error{Code: domain.ECodeInvalid, Message: unknownOrUsed}
	// ErrUsed: the code was redeemed already. Its message is ErrUnknown's.
	ErrUsed = &domain.Error{Code: domain.ECodeInvalid, Message: unknownOrUsed}
	// ErrProductForAccount: an organization-management code redeemed on a lock.
	ErrProductForAccount = &domain.Error{Code: domain.ECodeInvalid, Message: "this code is for organization management: redeem it on your account, not on a lock"}
	// ErrProductForLock: a lock's code (management, shared management, keys)
	// redeemed on an account.
	ErrProductForLock = &domain.Error{Code: domain.ECodeInvalid, Message: "this code is for a lock: redeem it on the lock, not on an account"}
)

// ErrInvalidProduct: a product name that is not one of SPEC P1's.
var ErrInvalidProduct = &domain.Error{Code: domain.EInvalid, Message: "a product is management-5y, shared-management-5y, organization-management or keys-N with N from 1 to 2475"}

package lock

import "sleutel/domain"

// Sentinel errors callers branch on. Messages are safe to show.
var (
	ErrNotOwner          = &domain.Error{Code: domain.EForbidden, Message: "only the lock's owner may do this"}
	ErrNotRegistered     = &domain.Error{Code: domain.ENotFound, Message: "lock not found"}
	ErrAlreadyRegistered = &domain.Error{Code: domain.EConflict, Message: "this lock is already registered; its owner must remove it before anyone else can register it"}
	ErrSerialRetired     = &domain.Error{Code: domain.EConflict, Message: "this serial belonged to a lock that was replaced; it can never be registered again"}
	ErrSerialInUse       = &domain.Error{Code: domain.EConflict, Message: "the new serial has been registered before; a replacement needs a serial never registered"}
	ErrKeyNotFound       = &domain.Error{Code: domain.ENotFound, Message: "key not found"}
	ErrKeyRevoked        = &domain.Error{Code: domain.EConflict, Message: "key already revoked"}
	ErrCredentialInUse   = &domain.Error{Code: domain.EConflict, Message: "an active key of this lock already uses that credential"}
	ErrPhoneKeyHeld      = &domain.Error{Code: domain.EConflict, Message: "that account already holds an active phone key for this lock"}
	ErrKeyLimitReached   = &domain.Error{Code: domain.EKeyLimitReached, Message: "every key this lock may hold is in use: revoke a key or redeem a keys code"}
	ErrKeyCapReached     = &domain.Error{Code: domain.EKeyLimitReached, Message: "a lock holds at most 2,500 active keys"}
	ErrAllowanceCapped   = &domain.Error{Code: domain.EOptionUnavailable, Message: "this keys code would take the lock past 2,500 keys"}
	ErrSharedNeedsPaid   = &domain.Error{Code: domain.EOptionUnavailable, Message: "shared management can be activated only while paid management is active (not in the trial): redeem a management code first"}
	ErrNotUseLimited     = &domain.Error{Code: domain.EInvalid, Message: "this key has no use limit"}
)

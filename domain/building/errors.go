package building

import "sleutel/domain"

// Sentinel errors callers branch on. Messages are safe to show.
var (
	// ErrManagementOff refuses a building while the owner has not switched building
	// management on (L13).
	ErrManagementOff = &domain.Error{Code: domain.EForbidden, Message: "building management is off: switch it on first (POST /v1/me/building-management)"}
	// ErrNotFound answers for a building that does not exist or is another's (E2).
	ErrNotFound = &domain.Error{Code: domain.ENotFound, Message: "building not found"}
	// ErrNameTaken refuses a second building of one owner with the same name.
	ErrNameTaken = &domain.Error{Code: domain.EConflict, Message: "you already have a building with this name"}
	// ErrTooManyBuildings refuses a building past MaxBuildings.
	ErrTooManyBuildings = &domain.Error{Code: domain.EConflict, Message: "an owner has at most 1,000 buildings"}
	// ErrBuildingFull refuses a lock past MaxLocks.
	ErrBuildingFull = &domain.Error{Code: domain.EConflict, Message: "a building holds at most 100 locks"}
	// ErrLockNotInBuilding answers for a lock the building does not hold.
	ErrLockNotInBuilding = &domain.Error{Code: domain.ENotFound, Message: "this lock is not in the building"}
	// ErrNoLocks refuses a bulk issue that reaches no lock.
	ErrNoLocks = &domain.Error{Code: domain.EInvalid, Message: "a bulk issue needs at least one lock of the building: add locks first, or name some in lock_ids"}
	// ErrTooManyLocks refuses a bulk issue past MaxLocks locks.
	ErrTooManyLocks = &domain.Error{Code: domain.EInvalid, Message: "one bulk issue reaches at most 100 locks"}
	// ErrDuplicateLock refuses a lock list that names a lock twice.
	ErrDuplicateLock = &domain.Error{Code: domain.EInvalid, Message: "lock_ids names a lock twice"}
	// ErrBulkNotFound answers for a bulk issue the building does not have.
	ErrBulkNotFound = &domain.Error{Code: domain.ENotFound, Message: "bulk issue not found"}
)

// ErrLockNotOwned answers, in a bulk result, for a lock of the building its owner no
// longer owns (removed from the platform, L7): that lock did nothing (E2).
var ErrLockNotOwned = &domain.Error{Code: domain.ENotFound, Message: "this lock is no longer yours: take it out of the building"}

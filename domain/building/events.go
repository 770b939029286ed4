package building

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Event type names are stored forever: never rename, never reuse.
const (
	// CreatedType is the stored type of Created.
	CreatedType = "building.created"
	// LockAddedType is the stored type of LockAdded.
	LockAddedType = "building.lock_added"
	// LockRemovedType is the stored type of LockRemoved.
	LockRemovedType = "building.lock_removed"
	// KeysIssuedType is the stored type of KeysIssued.
	KeysIssuedType = "building.keys_issued"
	// KeysRevokedType is the stored type of KeysRevoked.
	KeysRevokedType = "building.keys_revoked"
)

// Created records that the owner created a building (L13).
type Created struct {
	BuildingID uuid.UUID `json:"building_id"`
	OwnerID    uuid.UUID `json:"owner_id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"created_at"`
}

// LockAdded records that the owner put one of its locks in the building (L13).
type LockAdded struct {
	BuildingID uuid.UUID `json:"building_id"`
	LockID     uuid.UUID `json:"lock_id"`
	AddedAt    time.Time `json:"added_at"`
}

// Reasons a lock leaves a building.
const (
	// ReasonRemoved: the owner took the lock out of the building.
	ReasonRemoved = "removed"
	// ReasonNotOwned: the owner removed the lock from the platform (L7), so it is no
	// longer theirs to group.
	ReasonNotOwned = "lock_not_owned"
)

// LockRemoved records that a lock left the building, for Reason.
type LockRemoved struct {
	BuildingID uuid.UUID `json:"building_id"`
	LockID     uuid.UUID `json:"lock_id"`
	Reason     string    `json:"reason"`
	RemovedAt  time.Time `json:"removed_at"`
}

// KeysIssued records that the owner issued one key on several locks of the
// building in one command, the bulk issue BulkID (L13). It is recorded before the
// locks decide: each lock's own stream then records the key it gave
// (lock.key_issued with this bulk_id) or nothing when it refused, so this event
// names the locks asked, not the keys given. No credential is stored here.
type KeysIssued struct {
	BuildingID uuid.UUID   `json:"building_id"`
	BulkID     uuid.UUID   `json:"bulk_id"`
	LockIDs    []uuid.UUID `json:"lock_ids"`
	KeyType    string      `json:"key_type"`
	HolderName string      `json:"holder_name"`
	IssuedAt   time.Time   `json:"issued_at"`
}

// KeysRevoked records that the owner revoked the key of bulk issue BulkID on the
// locks it was issued on (L13); each lock records its own revocation.
type KeysRevoked struct {
	BuildingID uuid.UUID `json:"building_id"`
	BulkID     uuid.UUID `json:"bulk_id"`
	RevokedAt  time.Time `json:"revoked_at"`
}

// EventType returns CreatedType.
func (Created) EventType() string { return CreatedType }

// EventType returns LockAddedType.
func (LockAdded) EventType() string { return LockAddedType }

// EventType returns LockRemovedType.
func (LockRemoved) EventType() string { return LockRemovedType }

// EventType returns KeysIssuedType.
func (KeysIssued) EventType() string { return KeysIssuedType }

// EventType returns KeysRevokedType.
func (KeysRevoked) EventType() string { return KeysRevokedType }

// RegisterEvents adds this package's events to r. cmd/ and tests call it explicitly.
func RegisterEvents(r *es.Registry) {
	es.Register[Created](r, CreatedType)
	es.Register[LockAdded](r, LockAddedType)
	es.Register[LockRemoved](r, LockRemovedType)
	es.Register[KeysIssued](r, KeysIssuedType)
	es.Register[KeysRevoked](r, KeysRevokedType)
}

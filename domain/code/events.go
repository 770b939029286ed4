package code

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Event type names are stored forever: never rename, never reuse.
const (
	// IssuedType is the stored type of Issued.
	IssuedType = "code.issued"
	// RedeemedType is the stored type of Redeemed.
	RedeemedType = "code.redeemed"
)

// Issued records that the operator (or a reseller) issued a code in a batch (SPEC
// P1). The code itself is not in the payload: its stream id is derived from it.
type Issued struct {
	CodeID   uuid.UUID `json:"code_id"`
	Product  Product   `json:"product"`
	BatchID  uuid.UUID `json:"batch_id"`
	IssuedBy uuid.UUID `json:"issued_by"`
	IssuedAt time.Time `json:"issued_at"`
}

// EventType returns IssuedType.
func (Issued) EventType() string { return IssuedType }

// Redeemed records that a code was consumed for a lock or an account (SPEC P2). It
// carries everything needed to grant the benefit, so that a process manager can
// finish the redemption after a crash (SPEC P3), made idempotent by RedemptionID.
// Exactly one of LockID and AccountID is set.
type Redeemed struct {
	CodeID       uuid.UUID `json:"code_id"`
	Product      Product   `json:"product"`
	RedemptionID uuid.UUID `json:"redemption_id"`
	LockID       uuid.UUID `json:"lock_id,omitzero"`
	AccountID    uuid.UUID `json:"account_id,omitzero"`
	RedeemedBy   uuid.UUID `json:"redeemed_by"`
	RedeemedAt   time.Time `json:"redeemed_at"`
}

// EventType returns RedeemedType.
func (Redeemed) EventType() string { return RedeemedType }

// Target returns the lock or account the code was redeemed on.
func (e Redeemed) Target() Target {
	if e.AccountID != uuid.Nil {
		return AccountTarget(e.AccountID)
	}
	return LockTarget(e.LockID)
}

// RegisterEvents adds this package's events to r. cmd/ and tests call it explicitly.
func RegisterEvents(r *es.Registry) {
	es.Register[Issued](r, IssuedType)
	es.Register[Redeemed](r, RedeemedType)
}

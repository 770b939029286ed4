// Package code holds prepaid codes (SPEC P1–P3): their human-friendly format with a
// check character, their products, and the Code aggregate that is issued once and
// redeemed at most once.
//
// A code's stream is named after a hash of the code (StreamID), so the code is never
// stored. Redeeming appends code.redeemed to that stream with the expected version:
// of two concurrent redemptions exactly one is stored (P2). The benefit is granted on
// the lock or account from that event, so a consumed code always yields it (P3).
package code

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Code guards one prepaid code: issued once, redeemed at most once. State is
// private; change it only via methods.
type Code struct {
	es.Root
	id         uuid.UUID
	product    Product
	batchID    uuid.UUID
	issuedBy   uuid.UUID
	issuedAt   time.Time
	redeemed   bool
	redemption Redemption
}

// Redemption describes how a code was redeemed.
type Redemption struct {
	ID     uuid.UUID
	Target Target
	By     uuid.UUID
	At     time.Time
}

// Issue issues a code with stream id id (StreamID of the normalized code) for
// product in batch batchID, by the account issuedBy. It returns EInvalid when an id
// is missing or the product is zero. Issuing a code twice is refused by the store:
// the command appends to a new stream.
func Issue(id uuid.UUID, product Product, batchID, issuedBy uuid.UUID, now time.Time) (*Code, error) {
	switch {
	case id == uuid.Nil:
		return nil, domain.Errorf(domain.EInvalid, "a code needs an id")
	case product.IsZero():
		return nil, domain.Errorf(domain.EInvalid, "a code needs a product")
	case batchID == uuid.Nil:
		return nil, domain.Errorf(domain.EInvalid, "a code needs a batch")
	case issuedBy == uuid.Nil:
		return nil, domain.Errorf(domain.EInvalid, "a code needs the account that issues it")
	}
	c := &Code{}
	c.record(Issued{CodeID: id, Product: product, BatchID: batchID, IssuedBy: issuedBy, IssuedAt: now.UTC()})
	return c, nil
}

// Rehydrate builds a Code from its stored history. It is for repositories and
// tests only; commands change a Code through its methods.
func Rehydrate(history []es.Event) *Code {
	c := &Code{}
	c.Replay(history...)
	return c
}

// Replay applies stored events and counts them in the version.
func (c *Code) Replay(events ...es.Event) {
	for _, e := range events {
		c.apply(e)
	}
	c.Replayed(len(events))
}

// Redeem consumes the code for target, as redemption redemptionID by the account
// by (SPEC P2). It returns ErrUnknown for a code never issued, ErrUsed for a code
// redeemed already (both with the same message, revealing nothing about who used
// it), ErrProductForAccount or ErrProductForLock when the product is not for that
// kind of target (all three with code ECodeInvalid), and EInvalid for a missing id.
// Repeating the recorded redemption (same redemption id, target and account)
// records nothing and returns nil, so a retried request after a crash can go on to
// grant the benefit (SPEC P3).
func (c *Code) Redeem(target Target, redemptionID, by uuid.UUID, now time.Time) error {
	if err := target.validate(); err != nil {
		return err
	}
	if redemptionID == uuid.Nil || by == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "a redemption needs an id and the account that redeems")
	}
	switch {
	case c.id == uuid.Nil:
		return ErrUnknown
	case c.redeemed:
		r := c.redemption
		if r.ID == redemptionID && r.Target == target && r.By == by {
			return nil
		}
		return ErrUsed
	case c.product.Target() != target.Kind:
		if c.product.Target() == TargetAccount {
			return ErrProductForAccount
		}
		return ErrProductForLock
	}
	e := Redeemed{CodeID: c.id, Product: c.product, RedemptionID: redemptionID, RedeemedBy: by, RedeemedAt: now.UTC()}
	if target.Kind == TargetLock {
		e.LockID = target.ID
	} else {
		e.AccountID = target.ID
	}
	c.record(e)
	return nil
}

// ID returns the code's stream id; uuid.Nil when it was never issued.
func (c *Code) ID() uuid.UUID { return c.id }

// Issued reports whether the code was issued.
func (c *Code) Issued() bool { return c.id != uuid.Nil }

// Product returns what the code buys.
func (c *Code) Product() Product { return c.product }

// BatchID returns the batch the code was issued in.
func (c *Code) BatchID() uuid.UUID { return c.batchID }

// IssuedBy returns the account that issued the code.
func (c *Code) IssuedBy() uuid.UUID { return c.issuedBy }

// IssuedAt returns when the code was issued.
func (c *Code) IssuedAt() time.Time { return c.issuedAt }

// Redeemed reports whether the code was redeemed.
func (c *Code) Redeemed() bool { return c.redeemed }

// Redemption returns how the code was redeemed, and false when it was not.
// Callers must not show it to the user who tries a used code (SPEC P2).
func (c *Code) Redemption() (Redemption, bool) { return c.redemption, c.redeemed }

// apply mutates state from one event. It never validates, fails, or reads a clock.
func (c *Code) apply(e es.Event) {
	switch e := e.(type) {
	case Issued:
		c.id, c.product, c.batchID, c.issuedBy, c.issuedAt = e.CodeID, e.Product, e.BatchID, e.IssuedBy, e.IssuedAt
	case Redeemed:
		c.redeemed = true
		c.redemption = Redemption{ID: e.RedemptionID, Target: e.Target(), By: e.RedeemedBy, At: e.RedeemedAt}
	}
}

func (c *Code) record(e es.Event) {
	c.apply(e)
	c.Record(e)
}

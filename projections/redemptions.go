package projections

import (
	"context"

	"sleutel/domain/code"
	"sleutel/domain/es"
)

// RedemptionCompleter grants a consumed code's benefit if it is not granted yet.
type RedemptionCompleter interface {
	CompleteRedemption(ctx context.Context, e code.Redeemed) error
}

// Redemptions is the process manager of SPEC P3: for every consumed code it makes
// sure the benefit was granted, so a crash between consuming a code and granting
// its benefit is completed when the platform runs again. The command it runs is
// idempotent, so seeing an event twice does no harm.
type Redemptions struct{ complete RedemptionCompleter }

// NewRedemptions returns the process manager.
func NewRedemptions(c RedemptionCompleter) *Redemptions { return &Redemptions{complete: c} }

// Name implements Projection.
func (*Redemptions) Name() string { return "redemptions_v1" }

// Filter implements Filtered.
func (*Redemptions) Filter() es.Filter { return es.Filter{EventTypes: []string{code.RedeemedType}} }

// Handle implements Projection.
func (p *Redemptions) Handle(ctx context.Context, env es.Envelope) error {
	if e, ok := env.Event.(code.Redeemed); ok {
		return p.complete.CompleteRedemption(ctx, e)
	}
	return nil
}

// Package projections holds Sleutel's read models, access index, audit views and
// process managers: everything derived from the event log, rebuildable from it at any
// time (SPEC H2). It declares what a projection is and the stores it needs; infra
// runs projections (infra/bus) and implements their stores.
//
// A projection never logs and never talks to the bus: it returns errors, and the
// runtime retries, stops and reports.
package projections

import (
	"context"
	"fmt"

	"sleutel/domain/es"
)

// Projection turns events into a read model.
//
// Delivery is at-least-once and in log order: after a crash, a restart or a retry
// the same event may arrive again, so Handle must be idempotent (each row remembers
// the stream revision that last wrote it, and writes are conditional on it).
type Projection interface {
	// Name is the checkpoint key: the runtime stores how far the projection has
	// read under this name. Changing it means a full replay, and so does changing
	// the projection's Filter or what Handle writes: version the name
	// ("keys_by_holder_v1" → "keys_by_holder_v2"). See ValidateName.
	Name() string
	// Handle applies one event. It ignores (returns nil for) event types it does
	// not know. An error is retried with backoff; when the retries are spent the
	// projection stops at this event and is reported as failed: no event is ever
	// skipped.
	Handle(ctx context.Context, env es.Envelope) error
}

// Filtered is implemented by a projection that reads only part of the log. The
// runtime subscribes with this filter, so the projection is not woken for events it
// would ignore; its checkpoint still moves past them.
type Filtered interface {
	Filter() es.Filter
}

// Resetter is implemented by a projection that can be rebuilt from position zero.
// Reset deletes everything the projection has written, so that replaying the whole
// log gives the same read model as the live one (SPEC H2).
type Resetter interface {
	Reset(ctx context.Context) error
}

// FilterOf returns p's filter, or the zero Filter (the whole log) when p does not
// declare one.
func FilterOf(p Projection) es.Filter {
	if f, ok := p.(Filtered); ok {
		return f.Filter()
	}
	return es.Filter{}
}

// MaxName is the longest projection name, in bytes.
const MaxName = 100

// ValidateName reports whether name can name a projection: 1 to MaxName bytes of
// lowercase letters, digits and '_', starting with a letter. Names are checkpoint
// keys and log fields, so they stay plain.
func ValidateName(name string) error {
	if name == "" || len(name) > MaxName {
		return fmt.Errorf("projection name must be 1 to %d bytes", MaxName)
	}
	if name[0] < 'a' || name[0] > 'z' {
		return fmt.Errorf("projection name %q must start with a lowercase letter", name)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
		default:
			return fmt.Errorf("projection name %q: only a-z, 0-9 and '_'", name)
		}
	}
	return nil
}

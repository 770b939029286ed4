package es

import "math"

// StreamEnd, as the start of a backwards read, means the stream's last event.
const StreamEnd uint64 = math.MaxUint64

// Subscription delivers the global log in order from a position: first what is
// stored (catch-up), then each event as it is acknowledged (live), with no gap and no
// duplicate where the two meet.
type Subscription interface {
	// Recv blocks until there are events past the last batch, or until the store has
	// scanned further without finding one that passes the filter. It returns ErrClosed
	// after Close and the context's error once the subscription's context ends.
	Recv() (SubscriptionBatch, error)
	// Close ends the subscription. It is safe to call more than once.
	Close() error
}

// SubscriptionBatch is what one Recv returns: events in log order (possibly none
// when all were filtered out) and the position through which the log has been
// scanned, so a consumer can checkpoint past filtered events.
type SubscriptionBatch struct {
	Records []Record
	Through Position
}

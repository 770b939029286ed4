package pebblestore

import (
	"context"
	"fmt"
	"sync"

	"sleutel/domain/es"
)

// subscriptionBatch bounds the events one Recv returns.
const subscriptionBatch = 1024

// Subscribe delivers the log after position after that passes filter: the stored
// part first, then each commit as it becomes durable. Catch-up and live are one loop
// reading the log from the last position delivered up to the durable position, so
// there is no switch-over at which an event could be skipped or repeated.
func (s *Store) Subscribe(ctx context.Context, after es.Position, filter es.Filter) (es.Subscription, error) {
	if err := filter.Validate(); err != nil {
		return nil, fmt.Errorf("subscribe: %w", &InvalidError{err.Error()})
	}
	if s.closed.Load() {
		return nil, fmt.Errorf("subscribe: %w", es.ErrClosed)
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{s: s, ctx: ctx, cancel: cancel, after: after.Commit, through: after.Commit}
	if len(filter.Categories) > 0 || len(filter.EventTypes) > 0 {
		sub.match = matcher(filter)
	}
	return sub, nil
}

// matcher builds a filter over raw stream and type bytes, without allocating.
func matcher(f es.Filter) func(stream, typ []byte) bool {
	cats := make(map[string]struct{}, len(f.Categories))
	for _, c := range f.Categories {
		cats[c] = struct{}{}
	}
	types := make(map[string]struct{}, len(f.EventTypes))
	for _, t := range f.EventTypes {
		types[t] = struct{}{}
	}
	return func(stream, typ []byte) bool {
		if len(cats) > 0 {
			cat := stream
			for i, c := range stream {
				if c == '-' {
					cat = stream[:i]
					break
				}
			}
			_, ok := cats[string(cat)] // no allocation: the compiler optimises map[string(b)]
			return ok
		}
		_, ok := types[string(typ)]
		return ok
	}
}

type subscription struct {
	s       *Store
	ctx     context.Context
	cancel  context.CancelFunc
	match   func(stream, typ []byte) bool
	mu      sync.Mutex // one Recv at a time
	after   uint64     // last position returned in a batch
	through uint64     // last position reported as scanned
}

// Recv implements es.Subscription.
func (sub *subscription) Recv() (es.SubscriptionBatch, error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for {
		wake := sub.s.tail.wait() // before reading durable: a commit after this wakes us
		if err := sub.ctx.Err(); err != nil {
			if sub.s.closed.Load() {
				return es.SubscriptionBatch{}, es.ErrClosed
			}
			return es.SubscriptionBatch{}, err
		}
		if sub.s.closed.Load() {
			return es.SubscriptionBatch{}, es.ErrClosed
		}
		durable := sub.s.durable.Load()
		if sub.after < durable {
			var recs []es.Record
			last := sub.after
			err := sub.s.read(func() error {
				// Scan on past filtered-out events until something matches or the
				// durable end is reached, so a quiet filter costs one batch per wake.
				for len(recs) == 0 && last < durable {
					var err error
					last, err = sub.s.scan(sub.ctx, last, durable, subscriptionBatch,
						func(r es.Record) { recs = append(recs, r) }, sub.match)
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return es.SubscriptionBatch{}, fmt.Errorf("subscription after %d: %w", sub.after, err)
			}
			sub.after = last
			if len(recs) > 0 || last > sub.through {
				sub.through = last
				return es.SubscriptionBatch{Records: recs, Through: es.Pos(last)}, nil
			}
		}
		select {
		case <-wake:
		case <-sub.ctx.Done():
		}
	}
}

// Close implements es.Subscription.
func (sub *subscription) Close() error {
	sub.cancel()
	return nil
}

package esdb

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Subscribe delivers the global log after position after (exclusive; es.Start for
// all of it), filtered by stream category or event type on the server, catch-up then
// live. A dropped subscription is resubscribed from the last position seen, with
// backoff, without the caller noticing. EventStoreDB's own events are left out.
//
// Returns a *domain.Error with code domain.EInvalid for a filter on both categories
// and event types, es.ErrClosed after Close, the context's error when ctx ends, and
// the server's error when the first subscription fails.
func (s *Store) Subscribe(ctx context.Context, after es.Position, filter es.Filter) (es.Subscription, error) {
	if err := validateFilter(filter); err != nil {
		return nil, err
	}
	cctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscribe after %s: %w", after, err)
	}
	defer end()
	sctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	sub := &subscription{
		store: s, parent: ctx, ctx: sctx,
		cancel:  func() { stop(); cancel() },
		filter:  filter,
		server:  serverFilter(filter),
		through: after,
	}
	if err := sub.connect(cctx); err != nil {
		sub.cancel()
		return nil, fmt.Errorf("subscribe after %s: %w", after, s.callErr(cctx, err))
	}
	return sub, nil
}

func validateFilter(f es.Filter) error {
	if err := f.Validate(); err != nil {
		return domain.Errorf(domain.EInvalid, "subscribe: %v", err)
	}
	for _, c := range f.Categories {
		if c == "" || strings.Contains(c, "-") {
			return domain.Errorf(domain.EInvalid, "subscribe: category %q must be non-empty without '-'", c)
		}
	}
	for _, t := range f.EventTypes {
		if err := es.ValidateEventType(t); err != nil {
			return domain.Errorf(domain.EInvalid, "subscribe: %v", err)
		}
	}
	return nil
}

// serverFilter is the server-side form of f: categories become a stream-name regex
// `^(c1|c2)(-|$)`, event types an event-type regex `^(t1|t2)$`, and no filter one
// that leaves out system event types.
func serverFilter(f es.Filter) *esdbclient.SubscriptionFilter {
	quote := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = regexp.QuoteMeta(x)
		}
		return strings.Join(q, "|")
	}
	switch {
	case len(f.Categories) > 0:
		return &esdbclient.SubscriptionFilter{Type: esdbclient.StreamFilterType, Regex: "^(" + quote(f.Categories) + ")(-|$)"}
	case len(f.EventTypes) > 0:
		return &esdbclient.SubscriptionFilter{Type: esdbclient.EventFilterType, Regex: "^(" + quote(f.EventTypes) + ")$"}
	default:
		return esdbclient.ExcludeSystemEventsFilter()
	}
}

// subscription is one es.Subscription over a chain of server subscriptions.
type subscription struct {
	store  *Store
	parent context.Context // the caller's: its end ends the subscription
	ctx    context.Context // ends on Close, on the parent's end and on the store's Close
	cancel func()
	filter es.Filter
	server *esdbclient.SubscriptionFilter
	closed atomic.Bool

	mu       sync.Mutex // one Recv at a time
	inner    *esdbclient.Subscription
	through  es.Position // everything up to here was delivered or filtered out
	failures int         // consecutive failed or dropped subscriptions
	tail     *tailMark
}

// tailMark says that once the event at match has been delivered, Through may jump
// to upTo: nothing between them passes the filter. It lets Through cover filtered-out
// events at the end of the log, which a server-side filter never reports until its
// next checkpoint.
type tailMark struct{ match, upTo es.Position }

// Recv blocks until there are events past the last batch, or until the log has been
// scanned further without an event that passes the filter. It returns es.ErrClosed
// after Close or the store's Close, the caller's context error once that context
// ends, and a server error only when resubscribing cannot succeed (authentication,
// access, a closed connection).
func (sub *subscription) Recv() (es.SubscriptionBatch, error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	for {
		if err := sub.stopped(); err != nil {
			sub.closeInner()
			return es.SubscriptionBatch{}, err
		}
		ctx, end, err := sub.store.begin(sub.ctx)
		if err != nil {
			continue // stopped() names the reason
		}
		batch, ok, err := sub.step(ctx)
		end()
		if err != nil {
			if serr := sub.stopped(); serr != nil {
				err = serr
			}
			return es.SubscriptionBatch{}, err
		}
		if ok {
			return batch, nil
		}
	}
}

// Close ends the subscription. It is safe to call more than once and from another
// goroutine than Recv's.
func (sub *subscription) Close() error {
	sub.closed.Store(true)
	sub.cancel()
	return nil
}

func (sub *subscription) stopped() error {
	switch {
	case sub.closed.Load() || sub.store.isClosed():
		return es.ErrClosed
	case sub.parent.Err() != nil:
		return sub.parent.Err()
	}
	return nil
}

func (sub *subscription) closeInner() {
	if sub.inner != nil {
		_ = sub.inner.Close()
		sub.inner = nil
	}
}

// step handles one message of the server subscription, resubscribing first when
// there is none. ok reports a batch for the caller.
func (sub *subscription) step(ctx context.Context) (batch es.SubscriptionBatch, ok bool, err error) {
	if sub.inner == nil {
		if err := sub.backoff(ctx); err != nil {
			return batch, false, err
		}
		if err := sub.connect(ctx); err != nil {
			if permanent(err) {
				return batch, false, fmt.Errorf("resubscribe after %s: %w", sub.through, err)
			}
			sub.failures++
			return batch, false, nil
		}
	}
	ev := sub.inner.Recv()
	switch {
	case ev.EventAppeared != nil:
		sub.failures = 0
		rec, err := toRecord(ev.EventAppeared)
		if err != nil {
			return batch, false, err
		}
		if !sub.through.Less(rec.Position) {
			return batch, false, nil // already delivered before a resubscription
		}
		sub.through = rec.Position
		if t := sub.tail; t != nil && !rec.Position.Less(t.match) {
			sub.tail = nil
			if sub.through.Less(t.upTo) {
				sub.through = t.upTo
			}
		}
		if isSystem(rec) || !sub.filter.Match(rec.Stream, rec.Type) {
			return es.SubscriptionBatch{Through: sub.through}, true, nil
		}
		return es.SubscriptionBatch{Records: []es.Record{rec}, Through: sub.through}, true, nil
	case ev.CheckPointReached != nil:
		sub.failures = 0
		p := es.Position{Commit: ev.CheckPointReached.Commit, Prepare: ev.CheckPointReached.Prepare}
		if !sub.through.Less(p) {
			return batch, false, nil
		}
		sub.through = p
		return es.SubscriptionBatch{Through: p}, true, nil
	case ev.CaughtUp != nil:
		sub.failures = 0
		return sub.caughtUp(ctx)
	case ev.SubscriptionDropped != nil:
		sub.closeInner()
		sub.tail = nil
		if err := sub.stopped(); err != nil {
			return batch, false, err
		}
		sub.failures++
		return batch, false, nil
	}
	return batch, false, nil // fell behind: nothing to tell
}

// caughtUp looks at the log past Through once the server has caught up: when no
// event there passes the filter, Through moves to its end at once; otherwise it
// moves there after the last event that passes has been delivered. Failures here
// only lose that shortcut.
func (sub *subscription) caughtUp(ctx context.Context) (es.SubscriptionBatch, bool, error) {
	const window = 1000
	var from esdbclient.AllPosition = esdbclient.Start{}
	if !sub.through.IsZero() {
		from = esdbclient.Position{Commit: sub.through.Commit, Prepare: sub.through.Prepare}
	}
	recs, err := sub.store.readAll(ctx, esdbclient.Forwards, from, window+1)
	if err != nil || len(recs) > window {
		return es.SubscriptionBatch{}, false, nil
	}
	var match, upTo es.Position
	for _, r := range recs {
		if !sub.through.Less(r.Position) {
			continue
		}
		upTo = r.Position
		if !isSystem(r) && sub.filter.Match(r.Stream, r.Type) {
			match = r.Position
		}
	}
	switch {
	case upTo.IsZero():
		return es.SubscriptionBatch{}, false, nil
	case match.IsZero():
		sub.through = upTo
		return es.SubscriptionBatch{Through: upTo}, true, nil
	default:
		sub.tail = &tailMark{match: match, upTo: upTo}
		return es.SubscriptionBatch{}, false, nil
	}
}

// connect subscribes from Through. The server starts after the first event at or
// after the position it is given, which skips an event when Through is a checkpoint
// between events; so it is given the last event before Through instead, and events
// up to Through are skipped here.
func (sub *subscription) connect(ctx context.Context) error {
	var from esdbclient.AllPosition = esdbclient.Start{}
	if !sub.through.IsZero() {
		before, err := sub.store.lastPosition(ctx, sub.through, true)
		if err != nil {
			return err
		}
		if !before.IsZero() {
			from = esdbclient.Position{Commit: before.Commit, Prepare: before.Prepare}
		}
	}
	inner, err := sub.store.client.SubscribeToAll(sub.ctx, esdbclient.SubscribeToAllOptions{From: from, Filter: sub.server})
	if err != nil {
		return err
	}
	sub.inner = inner
	return nil
}

// backoff waits before a resubscription: nothing the first time, then twice as
// long each time, from MinBackoff up to MaxBackoff.
func (sub *subscription) backoff(ctx context.Context) error {
	if sub.failures == 0 {
		return nil
	}
	d := sub.store.opts.MinBackoff
	for i := 1; i < sub.failures && d < sub.store.opts.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, sub.store.opts.MaxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// permanent reports errors that resubscribing will not cure.
func permanent(err error) bool {
	for _, c := range []esdbclient.ErrorCode{
		esdbclient.ErrorCodeUnauthenticated, esdbclient.ErrorCodeAccessDenied,
		esdbclient.ErrorCodeConnectionClosed, esdbclient.ErrorCodeUnsupportedFeature,
	} {
		if isCode(err, c) {
			return true
		}
	}
	return false
}

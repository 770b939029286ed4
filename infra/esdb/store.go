// Package esdb is Sleutel's event store on EventStoreDB/KurrentDB, through the
// EventStore-Client-Go v4 gRPC client: appends with optimistic concurrency and
// EventStoreDB's idempotency by event id, stream and $all reads, and filtered $all
// subscriptions that resubscribe by themselves (SPEC H1, H2). Each event's metadata
// carries the SHA-256 link of SPEC H4, computed here, on the client, before the
// append, from the previous event of its stream.
//
// Positions are EventStoreDB's transaction-file positions. On EventStoreDB v20+ an
// append is one implicit transaction of self-committed prepare records, so every
// event's $all position has commit == prepare == the log position of its own
// record, and an append's result is the position of its last event (the server's
// StorageChaser acknowledges the commit at the last prepare's log position; an
// idempotent retry reports the log position of the batch's last event, read back by
// IndexWriter.CheckCommit). Where a server reports no position the adapter reads it
// back.
package esdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// HeadCache is how many streams' last known event (revision and hash) are kept
	// for the hash chain; 0 means 4096.
	HeadCache int
	// AnyRetries bounds the attempts of an es.AnyRevision append that loses races to
	// other writers; 0 means 10.
	AnyRetries int
	// MinBackoff and MaxBackoff bound the wait before a dropped subscription is
	// resubscribed; 0 means 20 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the client library's own log lines; nil discards them.
	Logger esdbclient.LoggingFunc
}

func (o *Options) defaults() {
	if o.HeadCache <= 0 {
		o.HeadCache = 4096
	}
	if o.AnyRetries <= 0 {
		o.AnyRetries = 10
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 20 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Logger == nil {
		o.Logger = esdbclient.NoopLogging()
	}
}

// Store is an event store on EventStoreDB. It is safe for concurrent use.
type Store struct {
	client *esdbclient.Client
	opts   Options
	heads  *headCache

	// life ends when the store closes; every call's context ends with it.
	life context.Context
	kill context.CancelFunc

	mu     sync.RWMutex
	closed bool
	calls  sync.WaitGroup // calls in flight: Close waits for them before closing the client
}

// Open connects to the EventStoreDB named by connString ("esdb://host:2113?tls=false",
// "esdb+discover://…") and checks that it answers a read. It returns an error when
// the string does not parse, or when the server cannot be reached before ctx ends
// (the client's own discovery may give up sooner).
func Open(ctx context.Context, connString string, opts Options) (*Store, error) {
	opts.defaults()
	conf, err := esdbclient.ParseConnectionString(connString)
	if err != nil {
		return nil, fmt.Errorf("open esdb: %w", err)
	}
	conf.Logger = opts.Logger
	client, err := esdbclient.NewClient(conf)
	if err != nil {
		return nil, fmt.Errorf("open esdb: %w", err)
	}
	// The store outlives Open's ctx; it keeps its values, not its deadline.
	life, kill := context.WithCancel(context.WithoutCancel(ctx))
	s := &Store{client: client, opts: opts, heads: newHeadCache(opts.HeadCache), life: life, kill: kill}

	// The client connects on first use; a read proves the server answers.
	ping := make(chan error, 1)
	go func() {
		_, err := s.LastPosition(ctx)
		ping <- err
	}()
	select {
	case err = <-ping:
	case <-ctx.Done():
		err = ctx.Err()
		// Close only after the read has returned: closing the client under a call
		// in flight can make the client send on its closed channel.
		go func() { <-ping; _ = s.Close() }()
		return nil, fmt.Errorf("open esdb: %w", err)
	}
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("open esdb: %w", err)
	}
	return s, nil
}

// closeWait bounds how long Close waits for calls in flight to notice the end.
const closeWait = 10 * time.Second

// Close ends every subscription, waits for calls in flight and closes the
// connection. Calls after Close return es.ErrClosed. It is safe to call more than
// once. It returns an error, and leaves the connection open, when calls are still
// stuck inside the client after closeWait: client v4.1.0 can block a call on its
// internal channel once its reconnection loop has given up, and closing that channel
// under it would panic.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.kill()
	done := make(chan struct{})
	go func() {
		s.calls.Wait()
		close(done)
	}()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-done:
		return s.client.Close()
	case <-t.C:
		return fmt.Errorf("close esdb: calls still blocked in the client after %s; connection left open", closeWait)
	}
}

// begin registers a call and returns its context, which also ends when the store
// closes. The caller must call end.
func (s *Store) begin(ctx context.Context) (context.Context, func(), error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, nil, es.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.calls.Add(1)
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.life, cancel)
	return cctx, func() {
		stop()
		cancel()
		s.calls.Done()
	}, nil
}

// isClosed reports whether Close has been called.
func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Append writes events to stream when expected holds, all or none, and returns the
// revision and position of the last one. Each event's metadata gets its H4 hash,
// chained from the event before it in the stream. A retry of an append whose event
// ids were already written at the expected place writes nothing and returns the
// first result (EventStoreDB's idempotency; for es.AnyRevision only best effort, as
// in EventStoreDB itself).
//
// Returns a *es.ConcurrencyError (errors.Is es.ErrConcurrency) when expected fails,
// a *domain.Error with code domain.EInvalid for bad input, es.ErrClosed after Close,
// and the context's error when ctx ends.
func (s *Store) Append(ctx context.Context, stream string, expected es.ExpectedRevision, events ...es.EventData) (es.AppendResult, error) {
	if err := validateAppend(stream, events); err != nil {
		return es.AppendResult{}, err
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return es.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	defer end()
	if expected.IsAny() {
		return s.appendAny(ctx, stream, events)
	}
	if expected.IsNoStream() {
		// A retried creation with other content would be accepted by the server
		// (idempotency looks at ids only), so the hashes computed here are not
		// remembered: the next append reads the stream's head.
		return s.appendAt(ctx, stream, expected, nil, events, false)
	}
	n, _ := expected.Revision()
	prev, ok := s.heads.get(stream)
	if ok && prev.rev == n {
		return s.appendAt(ctx, stream, expected, &prev, events, true)
	}
	// Not cached: read event n and whatever follows it. Events after n mean this
	// is an idempotent retry or a conflict; the server decides which, and the
	// hashes computed here are then not remembered.
	recs, err := s.readStream(ctx, stream, esdbclient.Forwards, esdbclient.Revision(n), 2)
	if err != nil {
		return es.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	if len(recs) == 0 || recs[0].Revision != n {
		// Event n does not exist, so the server could only refuse: say so without
		// sending events whose chain could not be computed.
		last, exists, err := s.readHead(ctx, stream)
		if err != nil {
			return es.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
		}
		return es.AppendResult{}, &es.ConcurrencyError{Stream: stream, Expected: expected, Actual: last.rev, Exists: exists}
	}
	head := streamHead{rev: n, hash: recs[0].Hash}
	return s.appendAt(ctx, stream, expected, &head, events, len(recs) == 1)
}

// appendAny resolves the stream's head and appends exactly after it, so the chain
// holds even though the caller accepted any revision. It retries on conflict up to
// AnyRetries times.
func (s *Store) appendAny(ctx context.Context, stream string, events []es.EventData) (es.AppendResult, error) {
	var lastErr error
	for range s.opts.AnyRetries {
		head, ok := s.heads.get(stream)
		exists := ok
		if !ok {
			var err error
			head, exists, err = s.readHead(ctx, stream)
			if err != nil {
				return es.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
			}
		}
		exp, prev := es.NoStream(), (*streamHead)(nil)
		if exists {
			exp, prev = es.Exact(head.rev), &head
		}
		res, err := s.appendAt(ctx, stream, exp, prev, events, true)
		if errors.Is(err, es.ErrConcurrency) {
			lastErr = err
			continue // appendAt dropped the stale head
		}
		return res, err
	}
	var ce *es.ConcurrencyError
	if errors.As(lastErr, &ce) {
		return es.AppendResult{}, &es.ConcurrencyError{Stream: stream, Expected: es.AnyRevision(), Actual: ce.Actual, Exists: ce.Exists}
	}
	return es.AppendResult{}, lastErr
}

// appendAt sends events with an exact expectation (expected is NoStream or Exact):
// prev is the event before them (nil for a new stream). remember says whether the
// hashes computed here may become the cached head on success: only when the stream
// was known to end at prev, so a success means these very events were written.
func (s *Store) appendAt(ctx context.Context, stream string, expected es.ExpectedRevision, prev *streamHead, events []es.EventData, remember bool) (es.AppendResult, error) {
	first, link := uint64(0), es.Hash{}
	if prev != nil {
		first, link = prev.rev+1, prev.hash
	}
	data := make([]esdbclient.EventData, len(events))
	for i, e := range events {
		link = es.ChainHash(link, stream, first+uint64(i), e.ID, e.Type, e.Data, e.Metadata)
		meta, err := encodeMetadata(e.Metadata, link)
		if err != nil {
			return es.AppendResult{}, fmt.Errorf("append %s: event %s: %w", stream, e.ID, err)
		}
		data[i] = esdbclient.EventData{EventID: e.ID, EventType: e.Type, ContentType: esdbclient.ContentTypeJson, Data: e.Data, Metadata: meta}
	}
	var exp esdbclient.ExpectedRevision = esdbclient.NoStream{}
	if n, ok := expected.Revision(); ok {
		exp = esdbclient.StreamRevision{Value: n}
	}
	wr, err := s.client.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: exp}, data...)
	if err != nil {
		if isCode(err, esdbclient.ErrorCodeWrongExpectedVersion) {
			s.heads.drop(stream)
			return es.AppendResult{}, s.concurrencyError(ctx, stream, expected, err)
		}
		if msg, ok := invalidArgument(err); ok {
			return es.AppendResult{}, domain.Errorf(domain.EInvalid, "append %s: %s", stream, msg)
		}
		return es.AppendResult{}, fmt.Errorf("append %s: %w", stream, s.callErr(ctx, err))
	}
	last := first + uint64(len(events)) - 1
	if wr.NextExpectedVersion != last {
		s.heads.drop(stream)
		return es.AppendResult{}, fmt.Errorf("append %s: server reports revision %d, want %d", stream, wr.NextExpectedVersion, last)
	}
	pos := es.Position{Commit: wr.CommitPosition, Prepare: wr.PreparePosition}
	if pos.IsZero() {
		// Older servers answer some idempotent writes without a position: read the
		// last event's own position back.
		recs, err := s.readStream(ctx, stream, esdbclient.Forwards, esdbclient.Revision(last), 1)
		if err != nil {
			return es.AppendResult{}, fmt.Errorf("append %s: read back revision %d: %w", stream, last, err)
		}
		if len(recs) == 0 {
			return es.AppendResult{}, fmt.Errorf("append %s: revision %d not found after a successful append", stream, last)
		}
		pos = recs[0].Position
	}
	if remember {
		s.heads.put(stream, streamHead{rev: last, hash: link})
	}
	return es.AppendResult{NextRevision: last, Position: pos}, nil
}

// validateAppend checks everything the server would otherwise see first.
func validateAppend(stream string, events []es.EventData) error {
	invalid := func(format string, args ...any) error {
		return domain.Errorf(domain.EInvalid, "append %s: %s", stream, fmt.Sprintf(format, args...))
	}
	if err := es.ValidateStream(stream); err != nil {
		return domain.Errorf(domain.EInvalid, "append: %v", err)
	}
	if len(events) == 0 {
		return invalid("no events")
	}
	seen := make(map[uuid.UUID]bool, len(events))
	for i, e := range events {
		switch {
		case e.ID == uuid.Nil:
			return invalid("event %d has no id", i)
		case seen[e.ID]:
			return invalid("event id %s appears twice", e.ID)
		case !json.Valid(e.Data):
			return invalid("event %s: payload is not valid JSON", e.ID)
		}
		if err := es.ValidateEventType(e.Type); err != nil {
			return invalid("event %s: %v", e.ID, err)
		}
		seen[e.ID] = true
	}
	return nil
}

// ReadStream returns up to limit events of stream from revision from onwards. A
// missing stream reads as empty. Returns es.ErrClosed after Close and the context's
// error when ctx ends.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	defer end()
	recs, err := s.readStream(ctx, stream, esdbclient.Forwards, esdbclient.Revision(from), uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("read %s from %d: %w", stream, from, err)
	}
	return recs, nil
}

// ReadStreamBackwards returns up to limit events from revision from (es.StreamEnd
// for the last) towards the first. A missing stream reads as empty. Returns
// es.ErrClosed after Close and the context's error when ctx ends.
func (s *Store) ReadStreamBackwards(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s backwards: %w", stream, err)
	}
	defer end()
	var start esdbclient.StreamPosition = esdbclient.End{}
	if from != es.StreamEnd {
		start = esdbclient.Revision(from)
	}
	recs, err := s.readStream(ctx, stream, esdbclient.Backwards, start, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("read %s backwards: %w", stream, err)
	}
	return recs, nil
}

// StreamRevision returns the revision of stream's last event, and false when the
// stream has none. Returns es.ErrClosed after Close and the context's error when
// ctx ends.
func (s *Store) StreamRevision(ctx context.Context, stream string) (uint64, bool, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("revision of %s: %w", stream, err)
	}
	defer end()
	head, ok, err := s.readHead(ctx, stream)
	if err != nil {
		return 0, false, fmt.Errorf("revision of %s: %w", stream, err)
	}
	return head.rev, ok, nil
}

// readHead reads stream's last event, and remembers it.
func (s *Store) readHead(ctx context.Context, stream string) (streamHead, bool, error) {
	recs, err := s.readStream(ctx, stream, esdbclient.Backwards, esdbclient.End{}, 1)
	if err != nil || len(recs) == 0 {
		return streamHead{}, false, err
	}
	return streamHead{rev: recs[0].Revision, hash: recs[0].Hash}, true, nil
}

// readStream drains one stream read. It tells the end of the read (io.EOF), a
// missing stream (empty, not an error) and real failures apart on every Recv, and
// remembers the newest event it saw for the hash chain.
func (s *Store) readStream(ctx context.Context, stream string, dir esdbclient.Direction, from esdbclient.StreamPosition, count uint64) ([]es.Record, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdbclient.ReadStreamOptions{Direction: dir, From: from}, count)
	if err != nil {
		return nil, s.callErr(ctx, err)
	}
	defer rs.Close()
	var out []es.Record
	for {
		ev, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF):
			s.rememberNewest(stream, out)
			return out, nil
		case isCode(err, esdbclient.ErrorCodeResourceNotFound):
			return nil, nil
		case err != nil:
			return nil, s.callErr(ctx, err)
		}
		rec, err := toRecord(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

func (s *Store) rememberNewest(stream string, recs []es.Record) {
	var newest *es.Record
	for i := range recs {
		if recs[i].Stream == stream && (newest == nil || recs[i].Revision > newest.Revision) {
			newest = &recs[i]
		}
	}
	if newest != nil {
		s.heads.put(stream, streamHead{rev: newest.Revision, hash: newest.Hash})
	}
}

// readAllBatch is the page size of $all reads that skip system events.
const readAllBatch = 256

// ReadAll returns up to limit events of the global log after position after
// (exclusive), in order. EventStoreDB's own events (streams or types starting with
// '$') are left out. Returns es.ErrClosed after Close and the context's error when
// ctx ends.
func (s *Store) ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("read $all after %s: %w", after, err)
	}
	defer end()
	var out []es.Record
	floor := after
	for len(out) < limit {
		// A read from a position includes the event at it: ask for one more.
		want := min(limit-len(out), readAllBatch) + 1
		var from esdbclient.AllPosition = esdbclient.Start{}
		if !floor.IsZero() {
			from = esdbclient.Position{Commit: floor.Commit, Prepare: floor.Prepare}
		}
		page, err := s.readAll(ctx, esdbclient.Forwards, from, uint64(want))
		if err != nil {
			return nil, fmt.Errorf("read $all after %s: %w", after, err)
		}
		for _, r := range page {
			if !floor.Less(r.Position) {
				continue
			}
			floor = r.Position
			if !isSystem(r) && len(out) < limit {
				out = append(out, r)
			}
		}
		if len(page) < want {
			break // the end of the log
		}
	}
	return out, nil
}

// LastPosition returns the position of the last event that is not EventStoreDB's
// own (es.Start for a log without one). Returns es.ErrClosed after Close and the
// context's error when ctx ends.
func (s *Store) LastPosition(ctx context.Context) (es.Position, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return es.Position{}, fmt.Errorf("last position: %w", err)
	}
	defer end()
	pos, err := s.lastPosition(ctx, es.Position{}, false)
	if err != nil {
		return es.Position{}, fmt.Errorf("last position: %w", err)
	}
	return pos, nil
}

// lastPosition walks $all backwards from before (the end when zero) to the first
// event that passes: any event when anyEvent, else one that is not a system event.
func (s *Store) lastPosition(ctx context.Context, before es.Position, anyEvent bool) (es.Position, error) {
	var from esdbclient.AllPosition = esdbclient.End{}
	if !before.IsZero() {
		from = esdbclient.Position{Commit: before.Commit, Prepare: before.Prepare}
	}
	for {
		count := uint64(64)
		if anyEvent {
			count = 1
		}
		page, err := s.readAll(ctx, esdbclient.Backwards, from, count)
		if err != nil {
			return es.Position{}, err
		}
		for _, r := range page {
			if anyEvent || !isSystem(r) {
				return r.Position, nil
			}
		}
		if uint64(len(page)) < count {
			return es.Start, nil
		}
		p := page[len(page)-1].Position
		from = esdbclient.Position{Commit: p.Commit, Prepare: p.Prepare} // backwards reads exclude it
	}
}

func (s *Store) readAll(ctx context.Context, dir esdbclient.Direction, from esdbclient.AllPosition, count uint64) ([]es.Record, error) {
	rs, err := s.client.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: dir, From: from}, count)
	if err != nil {
		return nil, s.callErr(ctx, err)
	}
	defer rs.Close()
	var out []es.Record
	for {
		ev, err := rs.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return out, nil
		case err != nil:
			return nil, s.callErr(ctx, err)
		}
		rec, err := toRecord(ev)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

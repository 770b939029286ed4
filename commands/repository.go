package commands

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Aggregate is what a Repository needs of an aggregate (es.Root provides most).
type Aggregate interface {
	Version() uint64
	Changes() []es.Event
	Committed()
	Replay(events ...es.Event)
}

// maxAttempts bounds the load–decide–append loop on concurrency conflicts.
const maxAttempts = 3

// recentIDs bounds the event ids a cached aggregate remembers for idempotent retries.
const recentIDs = 4096

// Repository loads, caches and saves aggregates of one kind.
//
// Aggregates stay in memory after use (an LRU of Capacity entries), so a command on
// a busy lock costs one append, not a reload of its history: the cached version is
// validated by the append's expected revision, and only a conflict (another node
// wrote) or a failed append makes the repository read the stream again. Commands on
// one aggregate are serialized on this node by the entry's mutex.
type Repository[T Aggregate] struct {
	store    EventStore
	registry *es.Registry
	blank    func(stream string) T
	capacity int

	mu      sync.Mutex
	entries map[string]*entry[T]
	lru     *list.List // of stream names, most recent at the front
}

// idRef places a recent event in its stream and in the log.
type idRef struct {
	rev uint64
	pos es.Position
}

type entry[T Aggregate] struct {
	mu     sync.Mutex
	agg    T
	loaded bool
	ids    map[uuid.UUID]idRef // recent event ids of the stream
	last   es.Position         // position of the stream's last event known here
	order  []uuid.UUID         // ids in arrival order, for bounding
	elem   *list.Element
	users  int // goroutines holding or waiting for mu: never evicted while > 0
}

// NewRepository returns a Repository; blank returns an empty aggregate for a stream.
func NewRepository[T Aggregate](store EventStore, registry *es.Registry, blank func(stream string) T, capacity int) *Repository[T] {
	if store == nil || registry == nil || blank == nil {
		panic("commands: nil dependency")
	}
	if capacity <= 0 {
		capacity = 10_000
	}
	return &Repository[T]{store: store, registry: registry, blank: blank, capacity: capacity,
		entries: make(map[string]*entry[T]), lru: list.New()}
}

// acquire returns stream's entry, locked.
func (r *Repository[T]) acquire(stream string) *entry[T] {
	r.mu.Lock()
	e := r.entries[stream]
	if e == nil {
		e = &entry[T]{ids: make(map[uuid.UUID]idRef)}
		e.elem = r.lru.PushFront(stream)
		r.entries[stream] = e
		r.evict()
	} else {
		r.lru.MoveToFront(e.elem)
	}
	e.users++
	r.mu.Unlock()
	e.mu.Lock()
	return e
}

func (r *Repository[T]) release(e *entry[T]) {
	e.mu.Unlock()
	r.mu.Lock()
	e.users--
	r.mu.Unlock()
}

// evict drops the least recently used idle entries over capacity. r.mu is held.
func (r *Repository[T]) evict() {
	for el := r.lru.Back(); el != nil && r.lru.Len() > r.capacity; {
		prev := el.Prev()
		stream := el.Value.(string)
		if e := r.entries[stream]; e.users == 0 {
			r.lru.Remove(el)
			delete(r.entries, stream)
		}
		el = prev
	}
}

// Forget drops stream from the cache (tests and tooling).
func (r *Repository[T]) Forget(stream string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.entries[stream]; e != nil && e.users == 0 {
		r.lru.Remove(e.elem)
		delete(r.entries, stream)
	}
}

// load reads stream from the revision after what e holds and replays it.
func (r *Repository[T]) load(ctx context.Context, stream string, e *entry[T]) error {
	if !e.loaded {
		e.agg, e.loaded = r.blank(stream), true
		clear(e.ids)
		e.order = e.order[:0]
		e.last = es.Start
	}
	for {
		recs, err := r.store.ReadStream(ctx, stream, e.agg.Version(), 4096)
		if err != nil {
			e.loaded = false
			return fmt.Errorf("load %s: %w", stream, err)
		}
		if len(recs) == 0 {
			return nil
		}
		events := make([]es.Event, len(recs))
		for i, rec := range recs {
			env, err := r.registry.Envelope(rec)
			if err != nil {
				e.loaded = false
				return fmt.Errorf("load %s: %w", stream, err)
			}
			events[i] = env.Event
			e.remember(rec.ID, rec.Revision, rec.Position)
		}
		e.agg.Replay(events...)
	}
}

func (e *entry[T]) remember(id uuid.UUID, rev uint64, pos es.Position) {
	e.ids[id] = idRef{rev: rev, pos: pos}
	if e.last.Less(pos) {
		e.last = pos
	}
	e.order = append(e.order, id)
	if len(e.order) > 2*recentIDs {
		for _, old := range e.order[:len(e.order)-recentIDs] {
			delete(e.ids, old)
		}
		e.order = append(e.order[:0], e.order[len(e.order)-recentIDs:]...)
	}
}

// eventID returns the id of the i-th event a command appends: derived from the
// idempotency key when there is one, so a retried command is recognised.
func eventID(meta Meta, i int) uuid.UUID {
	return meta.derivedID(fmt.Sprintf("event/%d", i))
}

// replayed reports whether meta's command already stands in e's stream, and if so
// returns its result with its first event.
func (r *Repository[T]) replayed(ctx context.Context, stream string, e *entry[T], meta Meta) (Result, bool, error) {
	if meta.IdempotencyKey == "" {
		return Result{}, false, nil
	}
	ref, done := e.ids[eventID(meta, 0)]
	if !done {
		return Result{}, false, nil
	}
	recs, err := r.store.ReadStream(ctx, stream, ref.rev, 1)
	if err != nil {
		return Result{}, true, fmt.Errorf("replay %s: %w", stream, err)
	}
	res := Result{Position: e.last, Stream: stream, Replayed: true}
	if len(recs) == 1 {
		env, err := r.registry.Envelope(recs[0])
		if err != nil {
			return Result{}, true, err
		}
		res.First = env.Event
	}
	return res, true, nil
}

// Done reports whether meta's command already stands in stream (an idempotent
// retry), with its result.
func (r *Repository[T]) Done(ctx context.Context, stream string, meta Meta) (Result, bool, error) {
	e := r.acquire(stream)
	defer r.release(e)
	if !e.loaded {
		if err := r.load(ctx, stream, e); err != nil {
			return Result{}, false, err
		}
	}
	return r.replayed(ctx, stream, e, meta)
}

// Update runs decide on stream's aggregate and appends what it recorded, with the
// aggregate's version as the expected revision. On a conflict it catches up and
// decides again, at most maxAttempts times, then returns ErrConflict. A decide that
// records nothing appends nothing. When meta carries an idempotency key whose
// command already stands in the stream, Update returns its position and does not
// decide again.
func (r *Repository[T]) Update(ctx context.Context, stream string, meta Meta, decide func(T) error) (Result, error) {
	e := r.acquire(stream)
	defer r.release(e)
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if !e.loaded {
			if err := r.load(ctx, stream, e); err != nil {
				return Result{}, err
			}
		}
		if res, done, err := r.replayed(ctx, stream, e, meta); done || err != nil {
			return res, err
		}
		var refusal error
		if err := decide(e.agg); err != nil {
			var keep *keepChanges
			if !errors.As(err, &keep) {
				if len(e.agg.Changes()) > 0 {
					e.loaded = false // a decision that failed half-way leaves the state dirty
				}
				return Result{}, err
			}
			refusal = keep.err
		}
		changes := e.agg.Changes()
		if len(changes) == 0 {
			// Nothing to append: the answer rests on the stream as it stands, so a
			// query after it waits for that (read-your-writes holds for no-ops too).
			return Result{Position: e.last, Stream: stream}, refusal
		}
		data := make([]es.EventData, len(changes))
		for i, ev := range changes {
			d, err := r.registry.Encode(eventID(meta, i), ev, meta.metadata())
			if err != nil {
				e.loaded = false
				return Result{}, fmt.Errorf("update %s: %w", stream, err)
			}
			data[i] = d
		}
		res, err := r.store.Append(ctx, stream, es.AfterVersion(e.agg.Version()), data...)
		switch {
		case err == nil:
			first := e.agg.Version()
			e.agg.Committed()
			for i, d := range data {
				e.remember(d.ID, first+uint64(i), res.Position) // the batch's last position: enough to wait on
			}
			return Result{Position: res.Position, Stream: stream}, refusal
		case errors.Is(err, es.ErrConcurrency):
			// Another writer moved the stream: rebuild from the store and decide again.
			e.loaded = false
			continue
		default:
			e.loaded = false
			return Result{}, fmt.Errorf("update %s: %w", stream, err)
		}
	}
	return Result{}, ErrConflict
}

// keepChanges marks a refusal whose recorded events must still be stored, such as
// a failed login that counts towards a lockout (A3).
type keepChanges struct{ err error }

func (k *keepChanges) Error() string { return k.err.Error() }
func (k *keepChanges) Unwrap() error { return k.err }

// KeepChanges wraps a decision's error so that Update stores what the decision
// recorded and then returns err.
func KeepChanges(err error) error { return &keepChanges{err: err} }

// Read runs view on stream's aggregate under its lock, without changing it.
func (r *Repository[T]) Read(ctx context.Context, stream string, view func(T) error) error {
	e := r.acquire(stream)
	defer r.release(e)
	if !e.loaded {
		if err := r.load(ctx, stream, e); err != nil {
			return err
		}
	}
	return view(e.agg)
}

// ErrExists is returned by Create for a stream that already has events.
var ErrExists = errors.New("stream exists")

// Create appends the first events of a new stream, built by build, expecting no
// stream. It returns ErrExists (wrapped) when the stream has events, unless they are
// this same command retried with its idempotency key.
func (r *Repository[T]) Create(ctx context.Context, stream string, meta Meta, build func() (T, error)) (Result, error) {
	e := r.acquire(stream)
	defer r.release(e)
	if !e.loaded {
		if err := r.load(ctx, stream, e); err != nil {
			return Result{}, err
		}
	}
	if e.agg.Version() > 0 {
		if res, done, err := r.replayed(ctx, stream, e, meta); done || err != nil {
			return res, err
		}
		return Result{}, fmt.Errorf("create %s: %w", stream, ErrExists)
	}
	agg, err := build()
	if err != nil {
		return Result{}, err
	}
	changes := agg.Changes()
	data := make([]es.EventData, len(changes))
	for i, ev := range changes {
		if data[i], err = r.registry.Encode(eventID(meta, i), ev, meta.metadata()); err != nil {
			return Result{}, fmt.Errorf("create %s: %w", stream, err)
		}
	}
	res, err := r.store.Append(ctx, stream, es.NoStream(), data...)
	if err != nil {
		e.loaded = false
		if errors.Is(err, es.ErrConcurrency) {
			return Result{}, fmt.Errorf("create %s: %w", stream, ErrExists)
		}
		return Result{}, fmt.Errorf("create %s: %w", stream, err)
	}
	agg.Committed()
	e.agg = agg
	for i, d := range data {
		e.remember(d.ID, uint64(i), res.Position)
	}
	return Result{Position: res.Position, Stream: stream}, nil
}

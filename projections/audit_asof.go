package projections

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/audit"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// AccessAsOf answers who could open a lock at a past moment (SPEC H3) from the
// lock's own stream, never from today's read models. Each lock's stream is folded
// once into an audit.Timeline and kept in memory; a question reads only the events
// stored since (one short read when there are none), so a lock with 20,000 events
// is not decoded again for every question. The memory is bounded: past
// MaxEvents cached events, the least recently asked locks are dropped and fold
// again when next asked.
type AccessAsOf struct {
	log       AuditLog
	registry  *es.Registry
	locations func(string) (*time.Location, error)
	max       int

	mu     sync.Mutex
	tick   uint64
	events int
	cache  map[uuid.UUID]*asOfEntry
}

type asOfEntry struct {
	mu   sync.RWMutex
	tl   *audit.Timeline
	used uint64 // AccessAsOf.tick at the last question; guarded by AccessAsOf.mu
	held int    // events counted in AccessAsOf.events; guarded by AccessAsOf.mu
}

// DefaultAsOfEvents bounds the events AccessAsOf keeps folded: a few hundred
// bytes each at most (a key's state after each of its changes), so some 200 MB.
const DefaultAsOfEvents = 500_000

// NewAccessAsOf returns the service over the log; registry decodes the events,
// locations resolves the locks' time zones. maxEvents bounds the cache
// (DefaultAsOfEvents when 0).
func NewAccessAsOf(log AuditLog, registry *es.Registry, locations func(string) (*time.Location, error), maxEvents int) *AccessAsOf {
	if maxEvents <= 0 {
		maxEvents = DefaultAsOfEvents
	}
	return &AccessAsOf{log: log, registry: registry, locations: locations, max: maxEvents, cache: make(map[uuid.UUID]*asOfEntry)}
}

// AsOfAnswer is the lock and its keys at a moment; More is true when keys remain
// after those returned (ask again with KeyQuery.After set to the last one).
type AsOfAnswer struct {
	Lock audit.Access
	Keys []audit.KeyAccess
	More bool
	// TenureStart is when the tenure current after the stream's last event began
	// (the zero time for a lock never registered), and Tenure its number.
	Tenure      int
	TenureStart time.Time
}

// At answers for lock lockID at moment at. It returns ErrLockNotFound for a lock
// whose stream holds nothing.
func (x *AccessAsOf) At(ctx context.Context, lockID uuid.UUID, at time.Time, q audit.KeyQuery) (AsOfAnswer, error) {
	e := x.entry(lockID)
	if err := x.catchUp(ctx, lockID, e); err != nil {
		return AsOfAnswer{}, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.tl.Next() == 0 {
		return AsOfAnswer{}, ErrLockNotFound
	}
	var a AsOfAnswer
	a.Lock, a.Keys, a.More = e.tl.At(at, x.locations, q)
	a.Tenure, a.TenureStart = e.tl.Tenure()
	return a, nil
}

func (x *AccessAsOf) entry(id uuid.UUID) *asOfEntry {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.tick++
	e := x.cache[id]
	if e == nil {
		e = &asOfEntry{tl: audit.NewTimeline(id)}
		x.cache[id] = e
	}
	e.used = x.tick
	return e
}

// catchUp folds in the events stored since the timeline was last brought up to date.
func (x *AccessAsOf) catchUp(ctx context.Context, id uuid.UUID, e *asOfEntry) error {
	const page = 4096
	stream := lock.Stream(id)
	for {
		e.mu.RLock()
		next := e.tl.Next()
		e.mu.RUnlock()
		recs, err := x.log.ReadStream(ctx, stream, next, page)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			return nil
		}
		envs := make([]es.Envelope, len(recs))
		for i, r := range recs {
			if envs[i], err = x.registry.Envelope(r); err != nil {
				return err
			}
		}
		e.mu.Lock()
		if e.tl.Next() == next { // else another question folded them in meanwhile
			for _, env := range envs {
				if err := e.tl.Add(env); err != nil {
					e.mu.Unlock()
					return fmt.Errorf("access as of: %w", err)
				}
			}
		}
		held := int(e.tl.Next())
		e.mu.Unlock()
		x.account(id, e, held)
		if len(recs) < page {
			return nil
		}
	}
}

// account records how many events e holds, and drops the least recently asked
// timelines while the cache holds more than its bound.
func (x *AccessAsOf) account(id uuid.UUID, e *asOfEntry, held int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cache[id] != e {
		return // dropped meanwhile
	}
	x.events += held - e.held
	e.held = held
	for x.events > x.max && len(x.cache) > 1 {
		var oldest uuid.UUID
		var used uint64 = ^uint64(0)
		for k, v := range x.cache {
			if k != id && v.used < used {
				oldest, used = k, v.used
			}
		}
		x.events -= x.cache[oldest].held
		delete(x.cache, oldest)
	}
}

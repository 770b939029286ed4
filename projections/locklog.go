package projections

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
)

// LogEntry is one line of a lock's event log (L14).
type LogEntry struct {
	Position   es.Position     `json:"position"`
	Type       string          `json:"type"`
	OccurredAt time.Time       `json:"occurred_at"` // at the door for device reports
	RecordedAt time.Time       `json:"recorded_at"`
	Actor      string          `json:"actor,omitempty"`
	KeyID      *uuid.UUID      `json:"key_id,omitempty"`
	Details    json.RawMessage `json:"details"`
}

// LockLog keeps each lock's event log: every management event of the lock and every
// report of its device (L14). Entries are kept per ownership (tenure), so an owner
// sees only what happened since they registered the lock (E2).
type LockLog struct {
	kv    KV
	locks *memo[uuid.UUID, logState] // what the projection last wrote of each lock
	// The event being written, and its write bound to it once: a projection
	// applies one event at a time, and a replay applies a million (each
	// allocating both was a tenth of a replay's allocations).
	w     logWrite
	write func(Batch) error
	key   []byte // the entry's key, reused
	row   []byte // and its stored form (appendBinary)
	// The revision markers, when the KV takes them once in a while
	// (MarkerDeferrer); nil when each is written with its event.
	markers *pendingMarkers
}

// logState is what LockLog remembers of a lock: the last revision it applied of
// each of the lock's streams, and the lock's current tenure.
type logState struct {
	rev    [2]uint64 // of the management stream, of the report stream
	known  [2]bool   // whether rev is known; if not, the store's marker is read
	tenure uint32
	marker [2]markerSlot // the streams' pending markers, when deferred
}

// NewLockLog returns the projection.
func NewLockLog(kv KV) *LockLog {
	p := &LockLog{kv: kv, locks: newMemo[uuid.UUID, logState](100_000)}
	p.write = p.w.write
	p.markers = deferMarkers(kv, guard(lockLog))
	return p
}

// lockLog is the projection's name; _v1 kept its entries as JSON (see
// appendBinary).
const lockLog = "lock_log_v2"

// Name implements Projection.
func (*LockLog) Name() string { return lockLog }

// Filter implements Filtered.
func (*LockLog) Filter() es.Filter {
	return es.Filter{Categories: []string{lock.Category, report.Category}}
}

// Reset implements Resetter.
func (p *LockLog) Reset(ctx context.Context) error {
	p.locks.clear()
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(lockLog)) })
}

func tenureKey(lockID uuid.UUID) []byte { return key(lockLog, "tenure", lockID.String()) }

func entryPrefix(lockID uuid.UUID, tenure uint32) []byte {
	var t [4]byte
	binary.BigEndian.PutUint32(t[:], tenure)
	return append(key(lockLog, "ev", lockID.String(), string(t[:])), '/')
}

// redacted returns what the log shows of an event: its payload, without the
// digests of credentials and device tokens, which no view ever shows.
func redacted(env es.Envelope) (json.RawMessage, error) {
	switch e := env.Event.(type) {
	case lock.KeyIssued:
		e.CredentialDigest = ""
		return appendKeyIssuedJSON(nil, e)
	case lock.Registered:
		e.DeviceTokenDigest = ""
		return json.Marshal(e)
	case lock.DeviceTokenRotated:
		e.DeviceTokenDigest = ""
		return json.Marshal(e)
	}
	return env.Data, nil
}

// Handle implements Projection.
func (p *LockLog) Handle(ctx context.Context, env es.Envelope) error {
	lockID, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	w := &p.w
	defer func() { *w = logWrite{} }() // it holds the envelope's strings and payload
	*w = logWrite{p: p, stream: env.Stream, rev: env.Revision, lockID: lockID,
		entry: LogEntry{Position: env.Position, Type: env.Type, OccurredAt: env.RecordedAt, RecordedAt: env.RecordedAt, Actor: env.Metadata.Actor}}
	switch e := env.Event.(type) {
	case report.Recorded:
		w.entry.OccurredAt = e.OccurredAt
		if e.KeyID != uuid.Nil {
			w.key = e.KeyID
			w.entry.KeyID = &w.key
		}
	case lock.KeyIssued:
		w.key = e.KeyID
		w.entry.KeyID = &w.key
	case lock.KeyChanged:
		w.key = e.KeyID
		w.entry.KeyID = &w.key
	case lock.KeyRevoked:
		w.key = e.KeyID
		w.entry.KeyID = &w.key
	case lock.KeyUsed:
		w.key = e.KeyID
		w.entry.KeyID = &w.key
	case lock.Registered:
		w.registered = true
	}
	details, err := redacted(env)
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", lockLog, env.Stream, env.Revision, err)
	}
	w.entry.Details = details
	s := 0 // which of the lock's streams
	if strings.HasPrefix(env.Stream, report.Category+"-") {
		s = 1
	}
	m, remembered := p.locks.get(lockID)
	state := m.val
	if state.known[s] && env.Revision <= state.rev[s] {
		return nil // seen before (at-least-once delivery)
	}
	w.known, w.tenureKnown, w.tenure = state.known[s], remembered, state.tenure
	if err := p.kv.Write(ctx, p.write); err != nil {
		return fmt.Errorf("%s %s/%d: %w", lockLog, env.Stream, env.Revision, err)
	}
	if w.applied {
		state.rev[s], state.known[s], state.tenure = env.Revision, true, w.tenure
		if p.markers != nil {
			p.markers.note(&state.marker[s], env.Stream, env.Revision)
		}
		p.locks.put(lockID, 0, state)
	}
	return nil
}

// logWrite is one event's entry on its way into the log.
type logWrite struct {
	p           *LockLog
	stream      string
	rev         uint64
	lockID      uuid.UUID
	key         uuid.UUID // the key the event is about, if any
	registered  bool      // the event starts a tenure
	known       bool      // the projection remembers the stream's revision
	tenureKnown bool      // and the lock's tenure, which is then tenure
	entry       LogEntry
	tenure      uint32 // the lock's tenure, once write has run
	applied     bool   // set by write
}

func (w *logWrite) write(b Batch) error {
	if w.known {
		if w.p.markers == nil { // else noted once applied
			if err := guard(lockLog).setRevision(b, w.stream, w.rev); err != nil {
				return err
			}
		}
	} else if fresh, err := guard(lockLog).fresh(b, es.Envelope{Record: es.Record{Stream: w.stream, Revision: w.rev}}); err != nil || !fresh {
		return err
	}
	if !w.tenureKnown {
		raw, err := b.Get(tenureKey(w.lockID))
		if err != nil {
			return err
		}
		if len(raw) == 4 {
			w.tenure = binary.BigEndian.Uint32(raw)
		}
	}
	if w.registered {
		w.tenure++
		if err := b.Set(tenureKey(w.lockID), binary.BigEndian.AppendUint32(nil, w.tenure)); err != nil {
			return err
		}
	}
	w.applied = true
	// Key and row are built in buffers reused from event to event: the batch
	// copies them.
	w.p.key = appendEntryKey(w.p.key[:0], w.lockID, w.tenure, w.entry.Position)
	w.p.row = w.entry.appendBinary(w.p.row[:0])
	return setOnce(b, w.p.key, w.p.row)
}

// appendEntryKey appends the key of a log entry, entryPrefix then posKey, to b.
func appendEntryKey(b []byte, lockID uuid.UUID, tenure uint32, pos es.Position) []byte {
	const prefix = lockLog + "/ev/"
	start := len(b)
	b = slices.Grow(b, len(prefix)+36+1+4+1+16)[:start+len(prefix)+36+1+4+1+16]
	n := start + copy(b[start:], prefix)
	hexID(b[n:n+36], lockID)
	n += 36
	b[n] = '/'
	binary.BigEndian.PutUint32(b[n+1:], tenure)
	b[n+5] = '/'
	binary.BigEndian.PutUint64(b[n+6:], pos.Commit)
	binary.BigEndian.PutUint64(b[n+14:], pos.Prepare)
	return b
}

// LogFilter narrows a log listing; zero values mean any.
type LogFilter struct {
	Types []string
	Since time.Time // occurred at or after
	Until time.Time // occurred before
}

// LockLogQueries reads lock event logs.
type LockLogQueries struct {
	kv    KV
	locks *LockQueries
}

// NewLockLogQueries returns the queries over kv.
func NewLockLogQueries(kv KV, locks *LockQueries) *LockLogQueries {
	return &LockLogQueries{kv: kv, locks: locks}
}

// Events returns the lock's log as its owner may see it, newest first, before the
// position before (es.Start for the newest); next is the cursor of the following
// page, or es.Start.
func (q *LockLogQueries) Events(ctx context.Context, account, lockID uuid.UUID, f LogFilter, before es.Position, limit int) (out []LogEntry, next es.Position, err error) {
	if _, err := q.locks.Lock(ctx, account, lockID); err != nil {
		return nil, es.Start, err
	}
	var tenure uint32
	if raw, err := q.kv.Get(ctx, tenureKey(lockID)); err != nil {
		return nil, es.Start, err
	} else if len(raw) == 4 {
		tenure = binary.BigEndian.Uint32(raw)
	}
	prefix := entryPrefix(lockID, tenure)
	bound := before // entries at or after bound are behind us
	for len(out) <= limit {
		var start []byte
		if !bound.IsZero() {
			start = append(slices.Clone(prefix), posKey(bound)...)
		}
		pairs, err := q.kv.Scan(ctx, prefix, start, 512, true)
		if err != nil {
			return nil, es.Start, err
		}
		scanned := 0
		for _, p := range pairs {
			e, err := decodeLogEntry(p.Value)
			if err != nil {
				return nil, es.Start, err
			}
			if !bound.IsZero() && !e.Position.Less(bound) {
				continue
			}
			scanned++
			bound = e.Position
			if f.match(&e) {
				out = append(out, e)
			}
		}
		if scanned == 0 {
			break
		}
	}
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].Position
	}
	return out, next, nil
}

func (f LogFilter) match(e *LogEntry) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, e.Type) {
		return false
	}
	if !f.Since.IsZero() && e.OccurredAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.OccurredAt.Before(f.Until) {
		return false
	}
	return true
}

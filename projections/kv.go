package projections

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"sleutel/domain/es"
)

// KV is the durable key-value store the read models live in. Keys are bytes that
// sort as the read models need; values are JSON.
type KV interface {
	// Get returns the value at key, or nil when there is none.
	Get(ctx context.Context, key []byte) ([]byte, error)
	// Scan returns up to limit pairs whose keys start with prefix, from the key
	// start (inclusive; nil for the first or, in reverse, the last) in key order or
	// in reverse.
	Scan(ctx context.Context, prefix, start []byte, limit int, reverse bool) ([]Pair, error)
	// Write runs fn on a batch and applies what it wrote atomically, or nothing
	// when fn fails.
	Write(ctx context.Context, fn func(Batch) error) error
}

// Pair is one key and value of a Scan.
type Pair struct {
	Key, Value []byte
}

// Batch collects writes. Its Get sees the batch's own writes and returns a value
// of the caller's own. Set copies key and value: the caller may reuse them once
// it returns.
type Batch interface {
	Get(key []byte) ([]byte, error)
	Set(key, value []byte) error
	Delete(key []byte) error
	// DeletePrefix removes every key starting with prefix.
	DeletePrefix(prefix []byte) error
}

// key joins parts with '/' into a store key.
func key(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p...)
	}
	return b
}

// posKey renders a position so keys sort in log order.
func posKey(p es.Position) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], p.Commit)
	binary.BigEndian.PutUint64(b[8:], p.Prepare)
	return string(b[:])
}

func getJSON(b Batch, k []byte, v any) (bool, error) {
	raw, err := b.Get(k)
	if err != nil || raw == nil {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

// lazySetter is implemented by batches that encode a value only when they must: a
// replay's write-back buffer keeps the last write to each key, so a row rewritten
// by every event of a long stream is encoded once.
type lazySetter interface {
	SetJSON(key []byte, v any) error
}

// jsonAppender is implemented by rows that encode themselves without reflection.
// appendJSON must append exactly what json.Marshal returns for the row (each is
// held to it by a test): AppendJSON uses it instead of json.Marshal, which would
// also pass the output through its compaction and HTML escaping again.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// AppendJSON appends v encoded as json.Marshal(v) would encode it, without
// reflection for the rows that encode themselves (a replay writes millions).
func AppendJSON(b []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(b)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, raw...), nil
}

// onceSetter is implemented by batches that take a row written once more cheaply
// than Set: a replay's write-back buffer files it without looking its key up,
// since nothing rewrites or reads it.
type onceSetter interface {
	// SetOnce writes value at key, which no other write of the projection's
	// names and which it never reads back while applying events (a log entry,
	// one per event, keyed by its position). It copies key and value: the
	// caller may reuse them once it returns.
	SetOnce(key, value []byte) error
}

// setOnce writes a row written once (see onceSetter), copying key and value
// (Set on a store's batch copies both).
func setOnce(b Batch, k, v []byte) error {
	if o, ok := b.(onceSetter); ok {
		return o.SetOnce(k, v)
	}
	return b.Set(k, v)
}

// setJSON writes v as JSON at k, copying k. v must not change after the call: a
// lazy batch may encode it later.
func setJSON(b Batch, k []byte, v any) error {
	if l, ok := b.(lazySetter); ok {
		return l.SetJSON(k, v)
	}
	raw, err := AppendJSON(nil, v)
	if err != nil {
		return err
	}
	return b.Set(k, raw)
}

func readJSON(ctx context.Context, kv KV, k []byte, v any) (bool, error) {
	raw, err := kv.Get(ctx, k)
	if err != nil || raw == nil {
		return false, err
	}
	return true, json.Unmarshal(raw, v)
}

// guard makes a projection idempotent per stream: it remembers, in the same batch
// as the rows, the last revision of each stream it applied, and skips an event it
// has seen (at-least-once delivery, after a crash or a retry).
type guard string

// fresh reports whether env is past what the projection applied of its stream, and
// records it as applied.
func (g guard) fresh(b Batch, env es.Envelope) (bool, error) {
	buf := markerBuffers.Get().(*[]byte)
	defer markerBuffers.Put(buf)
	*buf = g.appendMarkerKey((*buf)[:0], env.Stream)
	raw, err := b.Get(*buf)
	if err != nil {
		return false, err
	}
	if raw != nil {
		if len(raw) != 8 {
			return false, fmt.Errorf("%s: bad revision marker for %s", g, env.Stream)
		}
		if env.Revision <= binary.BigEndian.Uint64(raw) {
			return false, nil
		}
	}
	return true, g.setMarker(b, buf, env.Revision)
}

// markerBuffers hold the keys and values of revision markers on their way into a
// batch, which copies them: a projection writes one for every event it applies,
// and a replay applies millions.
var markerBuffers = sync.Pool{New: func() any { return new([]byte) }}

// appendMarkerKey appends the key of the revision marker of stream
// (key(g, "rev", stream)) to b.
func (g guard) appendMarkerKey(b []byte, stream string) []byte {
	b = append(b, g...)
	b = append(b, "/rev/"...)
	return append(b, stream...)
}

// setMarker writes rev as the marker at the key in *buf, using the room after it.
func (g guard) setMarker(b Batch, buf *[]byte, rev uint64) error {
	k := *buf
	n := len(k)
	*buf = binary.BigEndian.AppendUint64(k, rev)
	return b.Set((*buf)[:n], (*buf)[n:])
}

// MarkerDeferrer is implemented by KVs that let a projection write its revision
// markers once in a while rather than with every event: a replay's write-back
// buffer, whose store is whole only at the end (a failed replay starts again), so
// a stream's marker written then guards it as well as one written with each
// event. The KV runs flush before its writes are whole, and before it reads or
// writes the store past what it buffers. A projection that defers must apply
// each event at most once by what it remembers (a replay reads the log once, in
// order): a marker it reads from the store may be older than what it applied.
type MarkerDeferrer interface {
	DeferMarkers(flush func(Batch) error)
}

// pendingMarkers are the revision markers a projection has deferred (see
// MarkerDeferrer): the last revision applied of each stream since they were last
// written. A stream's place in the list is kept in the projection's memory of it
// (markerSlot), so noting one more event costs no lookup: the lock log notes a
// million a replay, and writing each to the buffer, a lookup of its 60-byte key,
// was 0.29 CPU-s of a replay.
type pendingMarkers struct {
	gen  uint32 // of the list; a slot of another generation is empty
	list []pendingMarker
}

type pendingMarker struct {
	stream string
	rev    uint64
}

// markerSlot is where a stream's pending marker is, if its gen is the list's.
type markerSlot struct {
	gen uint32
	i   int32
}

// note records that the projection applied stream through rev. A stream noted
// twice in one generation, as when the projection forgot it in between, is
// written twice, in order: the later revision wins.
func (m *pendingMarkers) note(slot *markerSlot, stream string, rev uint64) {
	if m.gen == 0 {
		m.gen = 1
	}
	if slot.gen == m.gen {
		m.list[slot.i].rev = rev
		return
	}
	*slot = markerSlot{gen: m.gen, i: int32(len(m.list))}
	// A copy: the name may share an allocation with a page of envelopes, which
	// the list would keep (a replay's owned strings).
	m.list = append(m.list, pendingMarker{stream: strings.Clone(stream), rev: rev})
}

// deferMarkers returns the pending markers of g's projection when kv takes them
// once in a while (MarkerDeferrer), and nil when each is written with its event.
func deferMarkers(kv KV, g guard) *pendingMarkers {
	d, ok := kv.(MarkerDeferrer)
	if !ok {
		return nil
	}
	m := new(pendingMarkers)
	d.DeferMarkers(func(b Batch) error { return m.write(g, b) })
	return m
}

// write writes the pending markers to b, and starts a new list.
func (m *pendingMarkers) write(g guard, b Batch) error {
	for _, p := range m.list {
		if err := g.setRevision(b, p.stream, p.rev); err != nil {
			return err
		}
	}
	clear(m.list) // let go of the streams' names
	m.list = m.list[:0]
	m.gen++
	return nil
}

// memo is a bounded write-through cache of what a projection itself wrote: its
// last applied revision per stream and a value per key. A projection is the only
// writer of its keys and applies events one at a time, so what it remembers is what
// the store holds; entries are recorded only after their batch committed.
type memo[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	m   map[K]memoEntry[V]
}

type memoEntry[V any] struct {
	rev    uint64
	val    V
	marker markerSlot // the stream's pending marker, when the projection defers them
}

func newMemo[K comparable, V any](max int) *memo[K, V] {
	return &memo[K, V]{max: max, m: make(map[K]memoEntry[V])}
}

func (c *memo[K, V]) get(k K) (memoEntry[V], bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	return e, ok
}

func (c *memo[K, V]) put(k K, rev uint64, v V) { c.set(k, memoEntry[V]{rev: rev, val: v}) }

func (c *memo[K, V]) set(k K, e memoEntry[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m) // bounded; entries reload from the store on next use
	}
	c.m[k] = e
}

// applied records that the projection applied k's stream through rev, leaving v,
// and notes its marker in markers when they are deferred (not nil). was is the
// entry get returned, if any.
func (c *memo[K, V]) applied(k K, was memoEntry[V], rev uint64, v V, markers *pendingMarkers, stream string) {
	e := memoEntry[V]{rev: rev, val: v, marker: was.marker}
	if markers != nil {
		markers.note(&e.marker, stream, rev)
	}
	c.set(k, e)
}

func (c *memo[K, V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// setRevision records, in the batch, the stream revision a projection applied.
func (g guard) setRevision(b Batch, stream string, rev uint64) error {
	buf := markerBuffers.Get().(*[]byte)
	defer markerBuffers.Put(buf)
	*buf = g.appendMarkerKey((*buf)[:0], stream)
	return g.setMarker(b, buf, rev)
}

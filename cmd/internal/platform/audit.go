package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/infra/esdb"
	"sleutel/infra/httpapi"
	"sleutel/infra/pebblestore"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// auditAPI wires the audit API (SPEC H2, H3): the history and the actor index,
// which a question waits for until it has applied the log as it stands, and
// access as of a past moment, from the locks' own streams.
func (m *Main) auditAPI(registry *es.Registry, locations func(string) (*time.Location, error)) httpapi.AuditConfig {
	ready := func(ctx context.Context) error {
		last, err := m.Events.LastPosition(ctx)
		if err != nil {
			return err
		}
		wait, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := m.Runtime.WaitFor(wait, ActorIndexName, last); err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return &domain.Error{Code: domain.EInternal, Message: "the actor index is late: try again"}
			}
			return err
		}
		return nil
	}
	return httpapi.AuditConfig{
		Audit: projections.NewAuditQueries(m.Events, m.Read, ready),
		AsOf:  projections.NewAccessAsOf(m.Events, registry, locations, 0),
	}
}

// ActorIndexName is the name of the projection indexing events by actor.
var ActorIndexName = projections.NewActorIndex(nil).Name()

// auditProjections are the projections a replay rebuilds: every read model.
func auditProjections(kv projections.KV) []projections.Projection {
	return append(readModelProjections(kv), projections.NewActorIndex(kv))
}

// ReadModelProjections returns the projections a replay rebuilds, every read
// model, writing to kv (for tools that replay in their own way).
func ReadModelProjections(kv projections.KV) []projections.Projection { return auditProjections(kv) }

// ProjectionNames returns the names of the read models a replay rebuilds.
func ProjectionNames() []string {
	var names []string
	for _, p := range auditProjections(nil) {
		names = append(names, p.Name())
	}
	return names
}

// Log is what the audit commands read of an event store.
type Log interface {
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error)
	LastPosition(ctx context.Context) (es.Position, error)
	Close() error
}

// ErrDataDirInUse explains why a data directory a running sleuteld holds cannot
// be read.
var ErrDataDirInUse = errors.New("the data directory is in use by a running sleuteld: " +
	"its embedded store (Pebble) locks the directory for reading too, so nothing else can open it while sleuteld runs. " +
	"Stop sleuteld (Ctrl-C or SIGTERM: it closes its stores cleanly), run this command, and start sleuteld again; " +
	"or run the command on an atomic filesystem snapshot of the whole data directory (LVM, ZFS, btrfs), which opens as after a crash " +
	"(a plain copy while sleuteld runs is not safe). A platform on EventStoreDB (--store esdb://…) can be read while it runs")

// inUse reports whether err is Pebble's refusal of a locked directory.
func inUse(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EWOULDBLOCK) ||
		err != nil && strings.Contains(err.Error(), "lock held by current process")
}

// IsEventStoreURL reports whether store names EventStoreDB rather than the
// embedded store.
func IsEventStoreURL(store string) bool {
	return strings.HasPrefix(store, "esdb://") || strings.HasPrefix(store, "esdb+discover://") || strings.HasPrefix(store, "kurrentdb://")
}

// ScanOptions are the embedded store's options for the audit commands, which read
// the whole log once, in order: read-only, and with a small block cache. A block is
// read once; a large cache would only hold memory that every block read must
// fault in afresh (128 MiB of it were 200 MB more resident memory for a replay of
// a million events, and a fresh page costs this kind of virtual machine about
// 12 µs: `sleutel bench audit` prints the figure as fresh_page).
func ScanOptions() pebblestore.Options {
	return pebblestore.Options{ReadOnly: true, CacheBytes: 8 << 20}
}

// OpenLog opens the event log for reading: EventStoreDB when store is an esdb://
// connection string, else the embedded store in dataDir, read-only. It returns an
// error wrapping ErrDataDirInUse when sleuteld holds the directory.
func OpenLog(ctx context.Context, dataDir, store string) (Log, error) {
	if IsEventStoreURL(store) {
		return esdb.Open(ctx, store, esdb.Options{})
	}
	if store != "" {
		return nil, fmt.Errorf("--store %q: use an esdb:// connection string, or leave it empty for the embedded store", store)
	}
	s, err := pebblestore.Open(filepath.Join(dataDir, "events"), ScanOptions())
	if inUse(err) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrDataDirInUse)
	}
	return s, err
}

// OpenReadModels opens the live read models in dataDir, read-only. It returns an
// error wrapping ErrDataDirInUse when sleuteld holds the directory.
func OpenReadModels(dataDir string) (*readstore.Store, error) {
	s, err := readstore.OpenReadOnly(filepath.Join(dataDir, "readmodels"))
	if inUse(err) {
		return nil, fmt.Errorf("%s: %w", dataDir, ErrDataDirInUse)
	}
	return s, err
}

// ReplayOptions tune ReplayReadModels.
type ReplayOptions struct {
	// Through stops each named projection at a position (its live checkpoint, to
	// compare with a live store that has not applied the whole log); a projection
	// not named reads the whole log.
	Through map[string]es.Position
	// Progress, when set, is called after each page with the events read so far
	// and the position reached.
	Progress func(read uint64, at es.Position)
	// BatchEvents is how many events each projection applies per table it adds to
	// the read store; 16,384 when 0.
	BatchEvents int
}

// ReplayStats is what a replay did.
type ReplayStats struct {
	Events uint64 // events read from the log
	Last   es.Position
	Sync   time.Duration // the final sync, which makes the rebuilt store durable
}

// readPage is how many events the replay reads at a time (a variable for the
// tests, which page small histories). The pages on their way to the slowest
// projection are most of what a replay holds in memory: 1,024 rather than 4,096
// was 90 MB less resident memory and a sixth fewer page faults for a million
// events, and no slower.
var readPage = 1024

// page is one read of the log on its way through the replay. Read from the
// embedded store, its records' strings and payloads live in arena, which the page
// keeps from one read to the next: once every projection has applied it, it goes
// back to the reader. A replay of a million events allocates a quarter less for it
// (1.9 GB against 2.5) and collects 14 times instead of 18. So nothing a
// projection keeps may point into it: the decoders give each envelope strings of
// its own (see owned), and a projection reads the payload only while it applies
// the event (the tests make a released page garbage, and compare).
type page struct {
	recs    []es.Record
	arena   []byte
	envs    []es.Envelope
	wants   []uint64      // which projections apply each envelope: bit i for the i-th
	decoded chan struct{} // closed once envs and wants are filled
	err     error
	pending atomic.Int32 // projections yet to apply the page
	free    chan *page   // where the page goes once applied; nil when not reused
}

// applied records that one more projection is done with the page, and hands it
// back to the reader after the last one.
func (p *page) applied() {
	if p.free == nil || p.pending.Add(-1) != 0 {
		return
	}
	if poisonReleasedPages { // the tests: a string or payload kept from the page reads as garbage
		for i := range p.arena {
			p.arena[i] = 0xA5
		}
	}
	clear(p.envs) // let go of the decoded events
	select {
	case p.free <- p:
	default:
	}
}

// poisonReleasedPages makes a released page's memory garbage (set by the tests).
var poisonReleasedPages = false

// pageReader is a log that reads into memory handed back to it
// (pebblestore.Store.ReadAllInto).
type pageReader interface {
	ReadAllInto(ctx context.Context, after es.Position, recs []es.Record, arena []byte, limit int) ([]es.Record, []byte, error)
}

// owned gives the envelopes strings of their own where they point into a reused
// page, all in one allocation for the page (a replay made a million of them, one
// an envelope). A projection that kept one of them would keep the page's strings
// alive, not the page. The payloads stay in the page (env.Data): a projection
// reads one only while it applies the event.
func owned(envs []es.Envelope) {
	n := 0
	for i := range envs {
		env := &envs[i]
		md := &env.Metadata
		n += len(env.Stream) + len(env.Type) + len(md.Actor) + len(md.CorrelationID) + len(md.CausationID)
	}
	var b strings.Builder
	b.Grow(n)
	for i := range envs {
		env := &envs[i]
		md := &env.Metadata
		b.WriteString(env.Stream)
		b.WriteString(env.Type)
		b.WriteString(md.Actor)
		b.WriteString(md.CorrelationID)
		b.WriteString(md.CausationID)
	}
	all := b.String()
	cut := func(s *string) {
		n := len(*s)
		*s, all = all[:n], all[n:]
	}
	for i := range envs {
		env := &envs[i]
		md := &env.Metadata
		cut(&env.Stream)
		cut(&env.Type)
		cut(&md.Actor)
		cut(&md.CorrelationID)
		cut(&md.CausationID)
		if md.Extra != nil {
			extra := make(map[string]string, len(md.Extra))
			for k, v := range md.Extra {
				extra[strings.Clone(k)] = strings.Clone(v)
			}
			md.Extra = extra
		}
	}
}

// ReplayReadModels rebuilds every read model from position zero into the read store
// at dir, which should be new (SPEC H2), and gives the same rows the live
// projections write: the projections are the very ones the platform runs, fed the
// same events in the same order.
//
// It is built for speed on every core: one goroutine reads the log a page at a
// time; the pages are decoded on all cores, in parallel; and each projection runs
// on its own goroutine (their keys never overlap) against a write-back buffer of
// its own: its writes land in memory, where it reads them back, and go to Pebble
// thousands of events at a time, each key once however often it changed (a lock's
// row is rewritten by every event of the lock), as a table sorted and built by
// another goroutine while the projection goes on, and added to the store whole
// (readstore.Ingest: no memtable). The new store is written without a write-ahead
// log: a replay that fails starts again.
func ReplayReadModels(ctx context.Context, log interface {
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
}, dir string, opts ReplayOptions) (ReplayStats, error) {
	return replay(ctx, log, dir, auditProjections, opts)
}

func replay(ctx context.Context, log interface {
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
}, dir string, build func(projections.KV) []projections.Projection, opts ReplayOptions) (ReplayStats, error) {
	if opts.BatchEvents <= 0 {
		opts.BatchEvents = 16_384
	}
	store, err := readstore.OpenBulk(dir)
	if err != nil {
		return ReplayStats{}, err
	}
	defer store.Close()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	registry := Registry()

	// Read, in order; decode on every core; hand each page, in order, to every projection.
	workers := runtime.GOMAXPROCS(0)
	// Which projections apply an event is decided once, as it is decoded: a
	// projection then looks only at the events it applies, not at every envelope
	// of every page (es.Filter.Match, for each of seven projections and a million
	// events, was 0.21 CPU-s on their goroutines, and is 0.06 on the decoders').
	var filters []es.Filter
	for _, p := range build(nil) {
		filters = append(filters, projections.FilterOf(p))
	}
	n := len(filters)
	if n > 64 {
		return ReplayStats{}, fmt.Errorf("replay: %d projections, more than the 64 a replay runs", n)
	}
	decode := make(chan *page, 2*workers)
	ordered := make(chan *page, 2*workers)
	free := make(chan *page, 4*n+4*workers) // as many as can be on their way
	var stats ReplayStats
	go func() {
		defer close(decode)
		defer close(ordered)
		after := es.Start
		into, reuse := log.(pageReader)
		if s, ok := log.(interface{ Cursor() *pebblestore.Cursor }); ok { // page after page through one iterator
			cur := s.Cursor()
			defer cur.Close()
			into = cur
		}
		for ctx.Err() == nil {
			var p *page
			select {
			case p = <-free:
			default:
				p = &page{}
			}
			var err error
			if reuse {
				p.recs, p.arena, err = into.ReadAllInto(ctx, after, p.recs, p.arena, readPage)
				p.free = free
			} else {
				p.recs, err = log.ReadAll(ctx, after, readPage)
			}
			if err != nil {
				cancel(fmt.Errorf("replay: read after %s: %w", after, err))
				return
			}
			if len(p.recs) == 0 {
				return
			}
			p.envs = slices.Grow(p.envs[:0], len(p.recs))[:len(p.recs)]
			p.wants = slices.Grow(p.wants[:0], len(p.recs))[:len(p.recs)]
			p.decoded, p.err = make(chan struct{}), nil
			p.pending.Store(int32(n))
			after = p.recs[len(p.recs)-1].Position
			select {
			case decode <- p:
			case <-ctx.Done():
				return
			}
			select {
			case ordered <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	var decoders sync.WaitGroup
	for range workers {
		decoders.Add(1)
		go func() {
			defer decoders.Done()
			for p := range decode {
				for i := range p.recs {
					if p.envs[i], p.err = registry.Envelope(p.recs[i]); p.err != nil {
						break // a page that failed is never reused: its error may point into it
					}
					var wants uint64
					for j, f := range filters {
						if f.Match(p.recs[i].Stream, p.recs[i].Type) {
							wants |= 1 << j
						}
					}
					p.wants[i] = wants
				}
				if p.free != nil && p.err == nil {
					owned(p.envs)
				}
				close(p.decoded)
			}
		}()
	}

	feeds := make([]chan *page, n)
	var appliers sync.WaitGroup
	// A store that held nothing as the replay began answers for the keys no
	// buffer wrote (see overlayKV.written).
	some, err := store.Scan(ctx, nil, nil, 1, false)
	if err != nil {
		return ReplayStats{}, err
	}
	for i := range n {
		feeds[i] = make(chan *page, 4)
		kv := newOverlayKV(store)
		if len(some) == 0 {
			kv.written = make(map[uint64]struct{})
		}
		p := build(kv)[i]
		through, bounded := opts.Through[p.Name()]
		appliers.Add(1)
		go func() {
			defer appliers.Done()
			if err := applyFeed(ctx, kv, p, 1<<i, through, bounded, feeds[i], opts.BatchEvents); err != nil {
				cancel(err)
				for range feeds[i] { // let the dispatcher finish
				}
			}
		}()
	}
	var read atomic.Uint64
	for p := range ordered {
		select {
		case <-p.decoded:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if p.err != nil {
			cancel(fmt.Errorf("replay: %w", p.err))
			break
		}
		// What the page says is read before the projections have it: the last
		// to apply it hands it back to the reader.
		total, last := read.Add(uint64(len(p.recs))), p.recs[len(p.recs)-1].Position
		for _, f := range feeds {
			f <- p
		}
		stats.Events, stats.Last = total, last
		if opts.Progress != nil {
			opts.Progress(total, last)
		}
	}
	for _, f := range feeds {
		close(f)
	}
	appliers.Wait()
	for range ordered { // the reader may be blocked on a send after a failure
	}
	decoders.Wait()
	if err := context.Cause(ctx); err != nil {
		return stats, err
	}
	start := time.Now()
	err = store.FlushMemTables()
	stats.Sync = time.Since(start)
	return stats, err
}

// applyFeed runs one projection over the pages it is fed, handing its buffer to
// the store every batchEvents events.
func applyFeed(ctx context.Context, kv *overlayKV, p projections.Projection, bit uint64, through es.Position, bounded bool,
	feed <-chan *page, batchEvents int) (err error) {
	kv.ctx = ctx
	defer func() { // no write may outlive the replay's store
		if werr := kv.wait(); err == nil {
			err = werr
		}
		kv.release()
	}()
	applied := 0
	for pg := range feed {
		if err := applyPage(ctx, kv, p, bit, through, bounded, pg, batchEvents, &applied); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return kv.flush(true)
}

// applyPage applies the events of one page that the projection, bit in the
// page's wants, applies, and releases the page (see page) once applied.
func applyPage(ctx context.Context, kv *overlayKV, p projections.Projection, bit uint64, through es.Position, bounded bool,
	pg *page, batchEvents int, applied *int) error {
	for i, wants := range pg.wants {
		if wants&bit == 0 {
			continue
		}
		env := &pg.envs[i]
		if bounded && through.Less(env.Position) {
			continue
		}
		if err := p.Handle(ctx, *env); err != nil { // the page is not reused: err may point into it
			return fmt.Errorf("replay %s at %s: %w", p.Name(), env.Position, err)
		}
		if *applied++; *applied%batchEvents == 0 {
			if err := kv.flush(false); err != nil {
				return err
			}
		}
	}
	pg.applied()
	return nil
}

// overlayKV is the KV a projection writes to during a replay: a write-back buffer
// over the store. Writes land in memory, last one winning, and reads see them;
// flush hands them to another goroutine, which writes them to the store in key
// order as one table (readstore.Ingest) while the projection goes on into a new
// buffer. Reads look in the buffer, then in the one being written, then in the
// store. Only its projection's goroutine uses it.
type overlayKV struct {
	ctx      context.Context
	store    *readstore.Store
	index    map[string]int32                // key → its row in rows
	rows     []overlayRow                    // the buffer, in the order keys were first written
	values   valueArena                      // the values of rows Set or written once
	keys     valueArena                      // the keys of the rows, apart from their values
	inflight *overlayWrite                   // the previous buffer, being written; nil when none
	spare    *overlayWrite                   // a written buffer, to reuse
	markers  []func(projections.Batch) error // write a projection's deferred markers (DeferMarkers)
	// When set, the store held no key when the replay began, and written holds
	// the hash of every key this buffer has written to it since (but rows written
	// once, which nothing reads back): a key whose hash is not there is in no
	// table, and Get answers so without asking the store (a hash shared by two
	// keys only costs a read). The tens of thousands of first sightings of a
	// stream or a row in a replay each cost a point read through the
	// projection's tables, fifty-odd for the lock log. Hashes, not the keys:
	// with the keys, a fresh replay of a million events peaked at 399-412 MB
	// resident rather than 374-392 (3 alternating pairs).
	written map[uint64]struct{}
}

// valueArena holds keys and values of a buffer in large chunks, reused from buffer
// to buffer, and from replay to replay (arenaChunks).
type valueArena struct {
	used [][]byte // the last one is being filled
	free [][]byte
}

const (
	arenaChunk = 1 << 20
	arenaSlack = 4 << 10 // a value is started in a new chunk when less is left
)

// copy returns parts, one after the other, in the arena.
func (a *valueArena) copy(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > arenaSlack { // a large row: an array of its own
		return slices.Concat(parts...)
	}
	cur := a.chunk()
	start := len(cur)
	for _, p := range parts {
		cur = append(cur, p...)
	}
	a.used[len(a.used)-1] = cur
	return cur[start:len(cur):len(cur)]
}

// chunk returns the chunk being filled, which has room for arenaSlack bytes.
func (a *valueArena) chunk() []byte {
	n := len(a.used)
	if n == 0 || cap(a.used[n-1])-len(a.used[n-1]) < arenaSlack {
		var c []byte
		if f := len(a.free); f > 0 {
			c, a.free = a.free[f-1], a.free[:f-1]
		} else {
			c = arenaChunks.get()
		}
		a.used = append(a.used, c)
		n++
	}
	return a.used[n-1]
}

// reset makes every chunk free again, once no row refers to them.
func (a *valueArena) reset() {
	for _, c := range a.used {
		a.free = append(a.free, c[:0])
	}
	clear(a.used)
	a.used = a.used[:0]
}

// release hands every chunk back to arenaChunks, once no row refers to them.
func (a *valueArena) release() {
	arenaChunks.put(a.used)
	arenaChunks.put(a.free)
	*a = valueArena{}
}

func newOverlayKV(store *readstore.Store) *overlayKV {
	return &overlayKV{store: store, index: make(map[string]int32)}
}

// writtenSeed seeds the hashes of overlayKV.written.
var writtenSeed = maphash.MakeSeed()

// overlayRow is the last write to a key.
type overlayRow struct {
	key string
	v   []byte
	obj any // a value to encode as JSON when it is read or written (see SetJSON)
	del bool
}

// bytes returns the row's value, encoding it if it is still an object.
func (r *overlayRow) bytes() ([]byte, error) {
	if r.obj != nil {
		return projections.AppendJSON(nil, r.obj)
	}
	return r.v, nil
}

// overlayWrite is a buffer on its way to the store. Its index and rows are only
// read until done is closed.
type overlayWrite struct {
	index   map[string]int32
	rows    []overlayRow
	values  valueArena
	keys    valueArena
	order   []sortedKey // rows in key order
	scratch []byte      // the encoding of the row being written
	done    chan struct{}
	err     error
}

type sortedKey struct {
	key string
	row int32
}

// Get implements projections.KV. It returns a value of the caller's own, as the
// store does: a row's value may live in an arena that a later buffer reuses.
func (k *overlayKV) Get(ctx context.Context, key []byte) ([]byte, error) {
	if i, ok := k.index[string(key)]; ok {
		r := &k.rows[i]
		if r.del {
			return nil, nil
		}
		if r.obj != nil { // encode once: it may be read again
			raw, err := projections.AppendJSON(nil, r.obj)
			if err != nil {
				return nil, err
			}
			r.v, r.obj = raw, nil
		}
		return bytes.Clone(r.v), nil
	}
	if w := k.inflight; w != nil {
		if i, ok := w.index[string(key)]; ok {
			r := &w.rows[i]
			if r.del {
				return nil, nil
			}
			v, err := r.bytes()
			return bytes.Clone(v), err
		}
	}
	if k.written != nil {
		if _, ok := k.written[maphash.Bytes(writtenSeed, key)]; !ok {
			return nil, nil
		}
	}
	return k.store.Get(ctx, key)
}

// Scan implements projections.KV, over the store with the buffer written to it.
func (k *overlayKV) Scan(ctx context.Context, prefix, start []byte, limit int, reverse bool) ([]projections.Pair, error) {
	if err := k.sync(); err != nil {
		return nil, err
	}
	return k.store.Scan(ctx, prefix, start, limit, reverse)
}

// Write implements projections.KV: fn writes to the buffer. A failing fn leaves
// what it wrote, which is harmless here: a failure ends the replay.
func (k *overlayKV) Write(ctx context.Context, fn func(projections.Batch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(overlayBatch{k})
}

// put makes r the last write to its key. A new key is copied into the keys'
// arena, which the index refers to as well: both let go of it when the buffer is
// written (see wait).
func (k *overlayKV) put(key []byte, r overlayRow) {
	if i, ok := k.index[string(key)]; ok {
		r.key = k.rows[i].key
		k.rows[i] = r
		return
	}
	owned := k.keys.copy(key)
	r.key = unsafe.String(unsafe.SliceData(owned), len(owned))
	k.index[r.key] = int32(len(k.rows))
	k.rows = append(k.rows, r)
}

// DeferMarkers implements projections.MarkerDeferrer: flush runs before the last
// buffer is written, and before the store is read or written past the buffer
// (sync). A replay's store is whole only once its last buffer is written: the
// markers need not be in any before. Each stream's marker is then written once a
// replay, not once a buffer: the lock log's 16,002 streams have an event in most
// of its buffers of 16,384 events, and it wrote 930 k markers in 58 buffers.
func (k *overlayKV) DeferMarkers(flush func(projections.Batch) error) {
	k.markers = append(k.markers, flush)
}

// flush hands the buffer to a goroutine that writes it to the store, once the
// previous one is written, and starts a new buffer. With markers, the deferred
// revision markers are written to the buffer first.
func (k *overlayKV) flush(markers bool) error {
	for i := 0; markers && i < len(k.markers); i++ {
		if err := k.markers[i](overlayBatch{k}); err != nil {
			return err
		}
	}
	if err := k.wait(); err != nil {
		return err
	}
	if len(k.rows) == 0 {
		return nil
	}
	w := k.spare
	if w == nil {
		w = &overlayWrite{index: make(map[string]int32, len(k.index))}
	}
	k.spare = nil
	w.index, k.index = k.index, w.index
	w.rows, k.rows = k.rows, w.rows[:0]
	w.values, k.values = k.values, w.values
	w.keys, k.keys = k.keys, w.keys
	w.done, w.err = make(chan struct{}), nil
	k.inflight = w
	go func() {
		defer close(w.done)
		w.err = w.write(k.ctx, k.store)
	}()
	return nil
}

// wait waits until the buffer being written is written, and returns what failed.
func (k *overlayKV) wait() error {
	w := k.inflight
	if w == nil {
		return nil
	}
	<-w.done
	k.inflight = nil
	if k.written != nil && w.err == nil {
		for key := range w.index {
			k.written[maphash.String(writtenSeed, key)] = struct{}{}
		}
	}
	clear(w.index)
	clear(w.rows) // let go of the rows' values
	w.values.reset()
	w.keys.reset()
	k.spare = w
	return w.err
}

// release lets go of the buffers, once the last is written, and hands their
// arenas' chunks back for the next replay.
func (k *overlayKV) release() {
	clear(k.index)
	clear(k.rows)
	k.values.release()
	k.keys.release()
	if w := k.spare; w != nil {
		w.values.release()
		w.keys.release()
		k.spare = nil
	}
}

// sync writes the buffer to the store and waits until it is written.
func (k *overlayKV) sync() error {
	if err := k.flush(true); err != nil {
		return err
	}
	return k.wait()
}

// write writes the rows to the store as one table, in key order.
func (w *overlayWrite) write(ctx context.Context, store *readstore.Store) error {
	w.sortRows()
	return store.Ingest(ctx, func(set func(k, v []byte) error, del func(k []byte) error) error {
		for _, o := range w.order {
			r := &w.rows[o.row]
			key := unsafe.Slice(unsafe.StringData(o.key), len(o.key)) // the table copies it
			var err error
			switch {
			case r.del:
				err = del(key)
			case r.obj != nil:
				if w.scratch, err = projections.AppendJSON(w.scratch[:0], r.obj); err == nil {
					err = set(key, w.scratch)
				}
			default:
				err = set(key, r.v)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// sortRows fills w.order with the rows in key order. Whole keys in 24-byte
// elements, by slices.SortFunc: BenchmarkOverlaySort measured 16-byte elements
// (the key as a pointer and a length) at 5% faster, and a sort eight key bytes at
// a time, each read once into its element, at no faster; neither was kept.
func (w *overlayWrite) sortRows() {
	w.order = w.order[:0]
	for i := range w.rows {
		w.order = append(w.order, sortedKey{key: w.rows[i].key, row: int32(i)})
	}
	slices.SortFunc(w.order, func(a, b sortedKey) int { return strings.Compare(a.key, b.key) })
}

// overlayBatch is the projections.Batch over an overlayKV's buffer.
type overlayBatch struct{ k *overlayKV }

// Get reads the buffer, then the store.
func (b overlayBatch) Get(key []byte) ([]byte, error) { return b.k.Get(b.k.ctx, key) }

// Set buffers a write; the last one to a key wins. It copies the value into the
// buffer's arena, as a store's batch copies it: a projection may build its values
// in a buffer of its own (the revision markers do).
func (b overlayBatch) Set(key, value []byte) error {
	b.k.put(key, overlayRow{v: b.k.values.copy(value)})
	return nil
}

// SetJSON buffers a value to encode only if it is read or is still the last write
// to its key when the buffer is written.
func (b overlayBatch) SetJSON(key []byte, v any) error {
	b.k.put(key, overlayRow{obj: v})
	return nil
}

// SetOnce buffers a row written once, which nothing reads back nor rewrites: no
// lookup in the index. Key and value are copied into
// the buffer's arenas, whose memory serves buffer after buffer: the garbage
// collector never sees them (a replay writes two million such rows). The keys
// have an arena of their own: sorting them, and the table's writer comparing each
// with the one before, read them and not the values between them.
func (b overlayBatch) SetOnce(key, value []byte) error {
	b.k.setOnce(b.k.keys.copy(key), b.k.values.copy(value))
	return nil
}

// setOnce files a row written once, whose key and value the buffer owns.
func (k *overlayKV) setOnce(key, value []byte) {
	k.rows = append(k.rows, overlayRow{key: unsafe.String(unsafe.SliceData(key), len(key)), v: value})
}

// Delete buffers a deletion.
func (b overlayBatch) Delete(key []byte) error {
	b.k.put(key, overlayRow{del: true})
	return nil
}

// DeletePrefix writes the buffer, then deletes the range in the store: what was
// buffered before it is gone, what comes after it stays.
func (b overlayBatch) DeletePrefix(prefix []byte) error {
	if err := b.k.sync(); err != nil {
		return err
	}
	return b.k.store.Write(b.k.ctx, func(w projections.Batch) error { return w.DeletePrefix(prefix) })
}

// CompareProjections compares the rows of the named projections in two read
// stores (every key under "<name>/"). It returns "" when they are identical and a
// description of the first difference otherwise.
func CompareProjections(ctx context.Context, a, b *readstore.Store, names []string) (string, error) {
	for _, name := range names {
		prefix := []byte(name + "/")
		var start []byte
		for {
			pa, err := a.Scan(ctx, prefix, start, 1024, false)
			if err != nil {
				return "", err
			}
			pb, err := b.Scan(ctx, prefix, start, 1024, false)
			if err != nil {
				return "", err
			}
			for i := 0; i < len(pa) || i < len(pb); i++ {
				switch {
				case i >= len(pa):
					return fmt.Sprintf("%s: only the second has %q", name, pb[i].Key), nil
				case i >= len(pb):
					return fmt.Sprintf("%s: only the first has %q", name, pa[i].Key), nil
				case !bytes.Equal(pa[i].Key, pb[i].Key):
					return fmt.Sprintf("%s: keys differ: %q and %q", name, pa[i].Key, pb[i].Key), nil
				case !bytes.Equal(pa[i].Value, pb[i].Value):
					return fmt.Sprintf("%s: %q differs:\n%s\n%s", name, pa[i].Key, pa[i].Value, pb[i].Value), nil
				}
			}
			if len(pa) < 1024 {
				break
			}
			start = append(bytes.Clone(pa[len(pa)-1].Key), 0)
		}
	}
	return "", nil
}

// Checkpoints returns the live read models' checkpoints, by projection name.
func Checkpoints(ctx context.Context, live *readstore.Store, names []string) (map[string]es.Position, error) {
	out := make(map[string]es.Position, len(names))
	for _, n := range names {
		pos, err := live.LoadCheckpoint(ctx, n)
		if err != nil {
			return nil, err
		}
		out[n] = pos
	}
	return out, nil
}

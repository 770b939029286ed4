// Package audit is the audit trail's own logic (SPEC H2–H5), pure like the rest of
// the domain: a hash-chain check that hashes on every core, the export format that
// verifies on its own, and a lock's access as its stream stood at any past moment.
package audit

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"sleutel/domain/es"
)

// Checker verifies a history fed to it in global order, with the rules of
// es.Verifier: each event's stored hash follows from its own content and the stored
// hash of the event before it in its stream, each stream's revisions run on without
// a gap, and positions strictly increase. It names the same first broken link.
//
// Because every record carries its stored hash, the hash of record n does not wait
// for record n-1 to be checked: the order and revision rules run as records are
// added (cheap, one map lookup each), and the SHA-256 work runs on worker
// goroutines, a batch at a time. The first break in feed order wins, wherever it
// was found.
type Checker struct {
	heads  map[string]*head // one lookup a record: the head is updated in place
	last   es.Position
	seq    uint64 // records added
	broken bool   // an order or revision break was found: nothing more is added
	dense  bool   // positions are 1, 2, 3 … with no gap (RequireDense)

	batch   job
	size    int
	jobs    chan job
	workers sync.WaitGroup

	mu    sync.Mutex
	first *failure // the earliest break found so far, by feed order
	stop  atomic.Uint64

	prevPool sync.Pool // *[]es.Hash: AddPage's, reused
}

type head struct {
	rev      uint64
	hash     es.Hash
	anchored bool // rev and hash come from an export's prev_hash, no event seen yet
}

// job is a run of records to hash, each with the stored hash it must follow. The
// records are the caller's own (Add keeps the pointer): a page of a million-event
// log is not copied a second time.
type job struct {
	start   uint64       // feed index of its first record
	recs    []*es.Record // from Add, or
	page    []es.Record  // from AddPage
	prevs   []es.Hash
	release func() // AddPage's, called once the job is done with
}

// record returns the job's i-th record.
func (j *job) record(i int) *es.Record {
	if j.page != nil {
		return &j.page[i]
	}
	return j.recs[i]
}

// len returns how many records the job holds.
func (j *job) len() int { return len(j.recs) + len(j.page) }

type failure struct {
	seq  uint64
	link *es.BrokenLink
}

// CheckerBatch is how many records the Checker hashes as one unit of work.
const CheckerBatch = 2048

// NewChecker returns a Checker hashing on workers goroutines (GOMAXPROCS when 0).
// Close must be called to release them.
func NewChecker(workers int) *Checker {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	c := &Checker{heads: make(map[string]*head), size: CheckerBatch, jobs: make(chan job, 2*workers)}
	c.stop.Store(^uint64(0))
	c.workers.Add(workers)
	for range workers {
		go c.work()
	}
	return c
}

// Anchor declares that stream's next event follows prev at revision rev+1 (so the
// stream starts mid-way, as in a partial export). It must come before any event of
// the stream; it returns an error otherwise, and when a first revision (rev+1 = 0
// is impossible) is anchored to a non-zero hash.
func (c *Checker) Anchor(stream string, rev uint64, prev es.Hash) error {
	if _, seen := c.heads[stream]; seen {
		return fmt.Errorf("stream %s is anchored after its first event", stream)
	}
	c.heads[stream] = &head{rev: rev, hash: prev, anchored: true}
	return nil
}

// RequireDense declares that the history holds every position from 1 on, as the
// embedded store writes it (each append takes the positions after the last; a
// failed write stops the store): a missing position is then a broken link, named
// at the event after the gap. This finds an event cut from the end of its stream,
// which no chain can show (the shorter chain is whole); only the last event of the
// whole log stays out of its reach. Not for EventStoreDB, whose positions are
// offsets, nor for an export of part of the log. Call it before the first Add.
func (c *Checker) RequireDense() { c.dense = true }

// Add checks the next record's place in the order and its stream, and queues its
// hash. It returns false once a break is known (the rest of the history cannot
// change which link broke first), so a caller may stop reading. The Checker keeps
// r until Close: neither it nor its Data may change afterwards.
func (c *Checker) Add(r *es.Record) bool {
	seq := c.seq
	prev, ok := c.check(r)
	if !ok {
		return false
	}
	if len(c.batch.recs) == 0 {
		c.batch = job{start: seq, recs: make([]*es.Record, 0, c.size), prevs: make([]es.Hash, 0, c.size)}
	}
	c.batch.recs = append(c.batch.recs, r)
	c.batch.prevs = append(c.batch.prevs, prev)
	if len(c.batch.recs) == c.size {
		c.flush()
	}
	return true
}

// AddPage adds recs, the next records in feed order, as Add adds each, and hashes
// them as one unit of work; release is called once none of them is needed any more
// (they are hashed, or a break before them is known), so the caller may then reuse
// recs and whatever their fields point into. It returns false as Add does; the
// records before a break found in recs are hashed all the same.
func (c *Checker) AddPage(recs []es.Record, release func()) bool {
	c.flush() // the records Add queued come first
	j := job{start: c.seq, page: recs, release: release}
	if p, _ := c.prevPool.Get().(*[]es.Hash); p != nil {
		j.prevs = (*p)[:0]
	}
	ok := true
	for i := range recs {
		prev, good := c.check(&recs[i])
		if !good {
			j.page, ok = recs[:i], false
			break
		}
		j.prevs = append(j.prevs, prev)
	}
	c.jobs <- j
	return ok
}

// check decides the next record's place in the order and in its stream, counting
// it, and returns the stored hash it must follow; false once a break is known.
func (c *Checker) check(r *es.Record) (es.Hash, bool) {
	if c.broken || c.seq >= c.stop.Load() {
		return es.Hash{}, false
	}
	seq := c.seq
	c.seq++
	fail := func(format string, args ...any) (es.Hash, bool) {
		c.fail(seq, r, fmt.Sprintf(format, args...))
		c.broken = true
		return es.Hash{}, false
	}
	if seq > 0 && !c.last.Less(r.Position) {
		return fail("position %s does not follow %s", r.Position, c.last)
	}
	if c.dense && r.Position != es.Pos(c.last.Commit+1) {
		if seq == 0 {
			return fail("the log starts at position %s: the events before it are missing", r.Position)
		}
		return fail("position %s follows %s: the events between them are missing", r.Position, c.last)
	}
	h := c.heads[r.Stream]
	seen := h != nil
	var prev es.Hash
	switch {
	case !seen && r.Revision != 0:
		return fail("stream starts at revision %d, want 0", r.Revision)
	case seen && h.anchored && r.Revision != h.rev+1:
		return fail("stream starts at revision %d, but its prev_hash is anchored for revision %d", r.Revision, h.rev+1)
	case seen && r.Revision != h.rev+1:
		return fail("revision follows %d", h.rev)
	case seen:
		prev = h.hash
	}
	if h == nil {
		h = new(head)
		// The map keeps its own copy of the name: AddPage's records may point
		// into memory their caller reuses.
		c.heads[strings.Clone(r.Stream)] = h
	}
	*h = head{rev: r.Revision, hash: r.Hash}
	c.last = r.Position
	return prev, true
}

// Reject records a break at r, the next record in feed order, found by the caller
// (an export's misplaced prev_hash). Add then refuses everything.
func (c *Checker) Reject(r *es.Record, reason string) {
	if c.broken || c.seq >= c.stop.Load() {
		return
	}
	c.fail(c.seq, r, reason)
	c.seq++
	c.broken = true
}

func (c *Checker) flush() {
	if len(c.batch.recs) > 0 {
		c.jobs <- c.batch
		c.batch = job{}
	}
}

func (c *Checker) work() {
	defer c.workers.Done()
	for j := range c.jobs {
		c.hash(&j)
		if j.release != nil {
			c.prevPool.Put(&j.prevs)
			j.release()
		}
	}
}

// hash checks each record of j against its content and the stored hash before it.
func (c *Checker) hash(j *job) {
	if j.start >= c.stop.Load() {
		return // a break before this batch is already known
	}
	for i := range j.len() {
		r := j.record(i)
		if want := es.HashRecord(j.prevs[i], r); want != r.Hash {
			c.fail(j.start+uint64(i), r, fmt.Sprintf("hash %s does not match its content and chain (want %s)", r.Hash, want))
			return
		}
	}
}

// fail records a break at feed index seq unless an earlier one is known.
func (c *Checker) fail(seq uint64, r *es.Record, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first != nil && c.first.seq <= seq {
		return
	}
	// A copy of the stream's name: AddPage's records may point into memory their
	// caller reuses once they are released.
	c.first = &failure{seq: seq, link: &es.BrokenLink{Stream: strings.Clone(r.Stream), Revision: r.Revision, Position: r.Position,
		EventID: r.ID.String(), Reason: reason}}
	c.stop.Store(seq)
}

// Close waits for the hashing to finish and returns the first broken link in feed
// order as an *es.BrokenLink, or nil when everything added verifies. Call it once.
func (c *Checker) Close() error {
	c.flush()
	close(c.jobs)
	c.workers.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first != nil {
		return c.first.link
	}
	return nil
}

// Events returns how many records were added.
func (c *Checker) Events() uint64 { return c.seq }

// Streams returns how many streams were seen (anchored ones included).
func (c *Checker) Streams() int { return len(c.heads) }

// Last returns the position of the last record added.
func (c *Checker) Last() es.Position { return c.last }

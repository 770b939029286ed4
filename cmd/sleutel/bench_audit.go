package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"sleutel/cmd/internal/platform"
	"sleutel/domain/account"
	"sleutel/domain/audit"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/infra/pebblestore"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

type auditBenchConfig struct {
	events    int // the history's size
	locks     int // ordinary locks
	hotKeys   int // active keys on the hot lock at the end
	hotEvents int // events in the hot lock's stream
	samples   int // as_of questions timed
	dir       string
	log       io.Writer // progress lines; nil for none
	profile   string    // write a CPU profile of each measurement to PREFIX.<name>.pprof
	trace     string    // write an execution trace of each measurement to PREFIX.<name>.trace
	memory    string    // write the heap profile before and after each measurement to PREFIX.<name>.{before,after}.pprof
	only      []string  // the measurements to run (after generate); all when empty
	history   string    // keep the generated history here, and reuse it when it is already there
	replays   int       // how many times replay is measured (one line each); 1 when 0
}

// runs reports whether the measurement name was asked for.
func (cfg auditBenchConfig) runs(name string) bool {
	return len(cfg.only) == 0 || slices.Contains(cfg.only, name)
}

// hotLockFile is where a kept history records its hot lock, for as_of.
const hotLockFile = "hot-lock.json"

type hotLockRecord struct {
	ID     uuid.UUID `json:"id"`
	Events int       `json:"events"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
}

var defaultAuditBench = auditBenchConfig{events: 1_000_000, locks: 8_000, hotKeys: lock.MaxActiveKeys, hotEvents: 20_000, samples: 2_000}

// benchAudit builds a history of domain events through the aggregates, written
// straight to a fresh embedded store, and prints the audit figures of issue 5, one
// JSON object a line.
func benchAudit(ctx context.Context, w io.Writer, cfg auditBenchConfig) error {
	defer debug.SetGCPercent(debug.SetGCPercent(auditGCPercent))
	base, err := os.MkdirTemp(cfg.dir, "sleutel-bench-audit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	progress := func(format string, args ...any) {
		if cfg.log != nil {
			fmt.Fprintf(cfg.log, "bench audit: "+format+"\n", args...)
		}
	}

	clock := &simClock{}
	clock.set(time.Date(2025, 1, 6, 7, 0, 0, 0, time.UTC))
	events := filepath.Join(base, "events")
	reuse := false
	if cfg.history != "" {
		events = filepath.Join(cfg.history, "events")
		_, err := os.Stat(filepath.Join(cfg.history, hotLockFile))
		reuse = err == nil
	}
	s, err := pebblestore.Open(events, pebblestore.Options{Now: clock.now})
	if err != nil {
		return err
	}
	defer func() { // s is reopened below
		if s != nil {
			s.Close()
		}
	}()
	var hot *genLock
	if reuse {
		raw, err := os.ReadFile(filepath.Join(cfg.history, hotLockFile))
		if err != nil {
			return err
		}
		var rec hotLockRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("%s: %w", hotLockFile, err)
		}
		hot = &genLock{id: rec.ID, events: rec.Events, first: rec.First, last: rec.Last}
		progress("reusing the history in %s", events)
	} else {
		progress("building %d events through the aggregates (%d locks, a hot lock with %d keys and %d events)", cfg.events, cfg.locks, cfg.hotKeys, cfg.hotEvents)
		start := time.Now()
		g := newAuditGen(s, clock, cfg)
		if hot, err = g.run(ctx); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		el := time.Since(start).Seconds()
		if err := emit(w, result{Name: "generate", EventsPerS: round(float64(g.written.Load()) / el), Events: int(g.written.Load()), Seconds: round(el),
			Note: fmt.Sprintf("%d locks, %d accounts; through lock, code, account and report aggregates; appended in group commits", g.lockCount, len(g.accounts))}); err != nil {
			return err
		}
		if cfg.history != "" {
			raw, err := json.Marshal(hotLockRecord{ID: hot.id, Events: hot.events, First: hot.first, Last: hot.last})
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(cfg.history, hotLockFile), raw, 0o644); err != nil {
				return err
			}
		}
	}
	// Measured as the audit commands read it (platform.OpenLog), but for as_of,
	// which the platform answers from its own store.
	reopen := func(opts pebblestore.Options) error {
		err := s.Close()
		s = nil
		if err != nil {
			return err
		}
		s, err = pebblestore.Open(events, opts)
		return err
	}
	if err := reopen(platform.ScanOptions()); err != nil {
		return err
	}
	for _, huge := range []bool{false, true} {
		if err := emit(w, freshPage(huge)); err != nil {
			return err
		}
	}
	// Baseline: reading the whole log, decoding every record.
	readAllRate, n, err := timeReadAll(ctx, s)
	if err != nil {
		return err
	}
	if err := emit(w, result{Name: "read_all", EventsPerS: round(readAllRate), Events: n, Note: "baseline: the store's ReadAll over the whole log, 4,096 a page"}); err != nil {
		return err
	}
	if cfg.runs("verify") {
		if err := benchVerify(ctx, w, s, readAllRate, cfg, progress); err != nil {
			return err
		}
	}
	if cfg.runs("replay") {
		for i := range max(cfg.replays, 1) {
			if err := benchReplay(ctx, w, s, filepath.Join(base, fmt.Sprintf("replayed-%d", i)), readAllRate, i == 0, cfg, progress); err != nil {
				return err
			}
		}
	}
	if cfg.runs("as_of") {
		// as_of: who could open the hot lock at random moments of its life.
		if err := reopen(pebblestore.Options{ReadOnly: true}); err != nil {
			return err
		}
		progress("as_of on lock %s", hot.id)
		stop := cfg.startProfile("as_of")
		r, err := benchAsOf(ctx, s, hot, cfg.samples)
		stop()
		if err != nil {
			return fmt.Errorf("as_of: %w", err)
		}
		if err := emit(w, r); err != nil {
			return err
		}
	}
	if cfg.runs("export") {
		if err := reopen(platform.ScanOptions()); err != nil {
			return err
		}
		return benchExport(ctx, w, s, filepath.Join(base, "export.jsonl"), readAllRate, cfg, progress)
	}
	return nil
}

// freshPage is the machine's cost of a fresh page of memory (see freshPageCost),
// against which a measurement's page faults can be weighed; with huge, of memory
// backed by huge pages, as the heap's first bytes are (adviseHeap).
func freshPage(huge bool) result {
	name := "fresh_page"
	note := "baseline: the first write to each page of 64 MiB of fresh memory; a replay pays it for every page its heap grows by (page_faults)"
	if huge {
		name = "fresh_huge_page"
		note = fmt.Sprintf("the same, advised to be backed by huge pages; the heap's first %d MiB are (a page fault there brings in 2 MiB)", heapAdvised>>20)
	}
	per, err := freshPageCost(huge)
	if err != nil {
		return result{Name: name, Note: "not measured here: " + err.Error()}
	}
	return result{Name: name, USPerPage: round(float64(per.Nanoseconds()) / 1e3), Note: note}
}

// benchVerify measures the check of every hash chain and the global order.
func benchVerify(ctx context.Context, w io.Writer, s *pebblestore.Store, readAllRate float64, cfg auditBenchConfig, progress func(string, ...any)) error {
	progress("verify")
	stop := cfg.startProfile("verify")
	start := time.Now()
	sum, err := verifyLog(ctx, s, 0, true)
	stop()
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	el := time.Since(start).Seconds()
	rate := float64(sum.Events) / el
	return emit(w, result{Name: "verify", EventsPerS: round(rate), RatioToReadAll: round(rate / readAllRate), Events: int(sum.Events), Seconds: round(el),
		Note: fmt.Sprintf("%d streams; SHA-256 on %d goroutines while one reads; %s", sum.Streams, runtime.GOMAXPROCS(0), goals(goal{rate >= 1_000_000, "≥ 1,000,000 events/s"}))})
}

// benchReplay measures the replay of every read model from position zero into
// dir, and, when compare is set, the one-event-per-batch way for comparison.
func benchReplay(ctx context.Context, w io.Writer, s *pebblestore.Store, dir string, readAllRate float64, compare bool, cfg auditBenchConfig, progress func(string, ...any)) error {
	progress("replay")
	defer debug.SetGCPercent(debug.SetGCPercent(replayGCPercent)) // as sleutel audit replay runs
	stop := cfg.startProfile("replay")
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	alloc := mem.TotalAlloc
	_, faults := memoryUse()
	start, cpu := time.Now(), cpuTime()
	stats, err := platform.ReplayReadModels(ctx, s, dir, platform.ReplayOptions{})
	stop()
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	el, cpuS := time.Since(start).Seconds(), (cpuTime() - cpu).Seconds()
	runtime.ReadMemStats(&mem)
	rss, faultsAfter := memoryUse()
	rate := float64(stats.Events) / el
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	note := fmt.Sprintf("%d read models; ", len(platform.ProjectionNames()))
	if compare {
		const singleEvents = 100_000
		progress("replay, one event per batch on one goroutine (as platform.Replay did), over the first %d events", singleEvents)
		single, err := replayOneByOne(ctx, s, dir+"-single", singleEvents)
		if err != nil {
			return fmt.Errorf("replay one by one: %w", err)
		}
		if err := os.RemoveAll(dir + "-single"); err != nil {
			return err
		}
		note += fmt.Sprintf("one event per read-store batch on one goroutine (platform.Replay before) does %.0f events/s on the first %d; ", single, singleEvents)
	}
	return emit(w, result{Name: "replay", EventsPerS: round(rate), RatioToReadAll: round(rate / readAllRate), Events: int(stats.Events), Seconds: round(el), CPUSeconds: round(cpuS),
		SyncSeconds: round(stats.Sync.Seconds()), AllocMB: round(float64(mem.TotalAlloc-alloc) / 1e6), MaxRSSMB: round(float64(rss) / 1e6), PageFaults: faultsAfter - faults,
		Note: note + goals(goal{rate >= 300_000, "≥ 300,000 events/s"})})
}

// benchExport measures the export of the whole log as JSON lines to a file at
// path, then the check of that file on its own.
func benchExport(ctx context.Context, w io.Writer, s *pebblestore.Store, path string, readAllRate float64, cfg auditBenchConfig, progress func(string, ...any)) error {
	progress("export")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	stop := cfg.startProfile("export")
	start := time.Now()
	written, err := exportLog(ctx, s, f, audit.JSONLines, audit.Selection{}, time.Now())
	stop()
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	el := time.Since(start).Seconds()
	rate := float64(written) / el
	st, _ := os.Stat(path)
	if err := emit(w, result{Name: "export", EventsPerS: round(rate), RatioToReadAll: round(rate / readAllRate), Events: int(written), Seconds: round(el),
		Note: fmt.Sprintf("JSON lines to a file, %.0f MB", float64(st.Size())/1e6)}); err != nil {
		return err
	}
	f, err = os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start = time.Now()
	sum, err := audit.VerifyExport(f, 0)
	if err != nil {
		return fmt.Errorf("verify the export: %w", err)
	}
	el = time.Since(start).Seconds()
	return emit(w, result{Name: "export_verify", EventsPerS: round(float64(sum.Events) / el), Events: int(sum.Events), Seconds: round(el),
		Note: "the export file verified on its own"})
}

// startProfile starts a CPU profile of the measurement name when asked to, and
// returns what stops it.
func (cfg auditBenchConfig) startProfile(name string) func() {
	var stops []func()
	record := func(prefix, ext string, start func(io.Writer) error, stop func()) {
		if prefix == "" {
			return
		}
		f, err := os.Create(prefix + "." + name + ext)
		if err != nil {
			return
		}
		if err := start(f); err != nil {
			f.Close()
			return
		}
		stops = append(stops, func() { stop(); f.Close() })
	}
	record(cfg.profile, ".pprof", pprof.StartCPUProfile, pprof.StopCPUProfile)
	record(cfg.trace, ".trace", trace.Start, trace.Stop)
	heap := func(w io.Writer) error { return pprof.Lookup("allocs").WriteTo(w, 0) }
	record(cfg.memory, ".before.pprof", heap, func() {})
	if cfg.memory != "" { // what the measurement allocated: go tool pprof -diff_base before.pprof after.pprof
		stops = append(stops, func() {
			if f, err := os.Create(cfg.memory + "." + name + ".after.pprof"); err == nil {
				heap(f)
				f.Close()
			}
		})
	}
	return func() {
		for _, stop := range stops {
			stop()
		}
	}
}

func timeReadAll(ctx context.Context, s *pebblestore.Store) (float64, int, error) {
	start := time.Now()
	n := 0
	for after := es.Start; ; {
		recs, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			return 0, 0, err
		}
		if len(recs) == 0 {
			break
		}
		n += len(recs)
		after = recs[len(recs)-1].Position
	}
	return float64(n) / time.Since(start).Seconds(), n, nil
}

// replayOneByOne is the replay as platform.Replay did it before: one goroutine,
// each event applied by each projection in a read-store batch of its own. It
// replays the first n events and returns events/s.
func replayOneByOne(ctx context.Context, s *pebblestore.Store, dir string, n int) (float64, error) {
	kv, err := readstore.Open(dir)
	if err != nil {
		return 0, err
	}
	defer kv.Close()
	registry := platform.Registry()
	projs := platform.ReadModelProjections(kv)
	start := time.Now()
	done := 0
	for after := es.Start; done < n; {
		recs, err := s.ReadAll(ctx, after, min(4096, n-done))
		if err != nil || len(recs) == 0 {
			return 0, err
		}
		for _, r := range recs {
			env, err := registry.Envelope(r)
			if err != nil {
				return 0, err
			}
			for _, p := range projs {
				if projections.FilterOf(p).Match(r.Stream, r.Type) {
					if err := p.Handle(ctx, env); err != nil {
						return 0, err
					}
				}
			}
		}
		done += len(recs)
		after = recs[len(recs)-1].Position
	}
	return float64(done) / time.Since(start).Seconds(), nil
}

func benchAsOf(ctx context.Context, s *pebblestore.Store, hot *genLock, samples int) (result, error) {
	asOf := projections.NewAccessAsOf(s, platform.Registry(), platform.Locations(), 0)
	first, last := hot.first, hot.last
	start := time.Now()
	a, err := asOf.At(ctx, hot.id, last, audit.KeyQuery{})
	if err != nil {
		return result{}, err
	}
	cold := time.Since(start)
	if a.Lock.Events < 20_000 && hot.events >= 20_000 {
		return result{}, fmt.Errorf("the hot lock's stream holds %d events at its last moment", a.Lock.Events)
	}
	active := 0
	for _, k := range a.Keys {
		if k.CouldOpen || k.Reason == lock.AccessOutside || k.Reason == lock.AccessNotYetValid || k.Reason == lock.AccessExpired || k.Reason == lock.AccessUsedUp {
			active++
		}
	}
	rnd := mrand.New(mrand.NewPCG(3, 5))
	var lat latencies
	span := last.Sub(first)
	keys := 0
	for range samples {
		at := first.Add(time.Duration(rnd.Int64N(int64(span) + 1)))
		t0 := time.Now()
		ans, err := asOf.At(ctx, hot.id, at, audit.KeyQuery{})
		if err != nil {
			return result{}, err
		}
		lat = append(lat, time.Since(t0))
		keys += len(ans.Keys)
	}
	p99 := lat.percentile(0.99)
	return result{Name: "as_of", P50us: round(lat.percentile(0.5)), P99us: round(p99), Ops: samples,
		Note: fmt.Sprintf("lock with %d events and %d active keys (%d keys ever issued) at its end; every key evaluated per question (%d on average); "+
			"the first question folded the stream in %.1f ms, every later one reads only the events stored since; %s",
			a.Lock.Events, active, len(a.Keys), keys/max(samples, 1), float64(cold.Microseconds())/1e3, goals(goal{p99 <= 20_000, "p99 ≤ 20 ms"}))}, nil
}

// simClock is the generator's clock: the aggregates decide at its time and the
// store records at it, so the history spans months, as a real one would.
type simClock struct{ ns atomic.Int64 }

func (c *simClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *simClock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *simClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// auditGen drives the aggregates as the commands would, and appends what they
// record: one append per command, partitioned by stream over writers so each
// stream's appends keep their order while the store group-commits them.
type auditGen struct {
	s        *pebblestore.Store
	clock    *simClock
	cfg      auditBenchConfig
	reg      *es.Registry
	rnd      *mrand.Rand
	loc      *time.Location
	operator uuid.UUID
	batch    uuid.UUID // the operator's batch of codes
	accounts []*genAccount
	locks    []*genLock
	hot      *genLock

	lockCount int
	codes     int
	emitted   int // events handed to the writers
	written   atomic.Int64
	queues    []chan genAppend
	wg        sync.WaitGroup
	failed    atomic.Pointer[error]
}

type genAppend struct {
	stream   string
	expected es.ExpectedRevision
	events   []es.EventData
}

type genAccount struct {
	id      uuid.UUID
	agg     *account.Account
	stream  string
	actor   string
	holding map[uuid.UUID]bool // locks on which it holds a phone key
}

type genLock struct {
	id      uuid.UUID
	agg     *lock.Lock
	owner   *genAccount
	reports *report.Log
	keys    []uuid.UUID // active keys, in no order
	nextRep int
	events  int
	first   time.Time
	last    time.Time
}

func newAuditGen(s *pebblestore.Store, clock *simClock, cfg auditBenchConfig) *auditGen {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		loc = time.UTC
	}
	g := &auditGen{s: s, clock: clock, cfg: cfg, reg: platform.Registry(), rnd: mrand.New(mrand.NewPCG(42, 7)), loc: loc,
		operator: uuid.New(), batch: uuid.New()}
	g.queues = make([]chan genAppend, 32)
	for i := range g.queues {
		g.queues[i] = make(chan genAppend, 256)
		g.wg.Add(1)
		go g.writer(g.queues[i])
	}
	return g
}

func (g *auditGen) writer(q chan genAppend) {
	defer g.wg.Done()
	ctx := context.Background()
	for a := range q {
		if g.failed.Load() != nil {
			continue
		}
		if _, err := g.s.Append(ctx, a.stream, a.expected, a.events...); err != nil {
			err = fmt.Errorf("append %s: %w", a.stream, err)
			g.failed.CompareAndSwap(nil, &err)
			continue
		}
		g.written.Add(int64(len(a.events)))
	}
}

// aggregate is what every aggregate shares through es.Root.
type aggregate interface {
	Version() uint64
	Changes() []es.Event
	Committed()
}

// record appends the aggregate's new events to stream, caused by actor.
func (g *auditGen) record(stream string, agg aggregate, actor string) error {
	changes := agg.Changes()
	if len(changes) == 0 {
		return nil
	}
	md := es.Metadata{Actor: actor, CorrelationID: uuid.Must(uuid.NewV7()).String()}
	evs := make([]es.EventData, len(changes))
	for i, e := range changes {
		d, err := g.reg.Encode(uuid.Must(uuid.NewV7()), e, md)
		if err != nil {
			return err
		}
		evs[i] = d
	}
	h := fnv.New32a()
	h.Write([]byte(stream))
	g.queues[h.Sum32()%uint32(len(g.queues))] <- genAppend{stream: stream, expected: es.AfterVersion(agg.Version()), events: evs}
	agg.Committed()
	g.emitted += len(evs)
	return nil
}

func (g *auditGen) tick() { g.clock.advance(time.Duration(1+g.rnd.IntN(20)) * time.Second) }

// run builds the history and returns the hot lock.
func (g *auditGen) run(ctx context.Context) (*genLock, error) {
	defer func() {
		for _, q := range g.queues {
			close(q)
		}
		g.wg.Wait()
	}()
	nAccounts := max(g.cfg.locks/4, 10)
	for i := range nAccounts {
		if err := g.newAccount(i); err != nil {
			return nil, err
		}
	}
	var err error
	if g.hot, err = g.newLock(g.accounts[0], code.MaxKeys); err != nil {
		return nil, err
	}
	for range g.cfg.locks {
		if _, err := g.newLock(g.accounts[g.rnd.IntN(len(g.accounts))], 0); err != nil {
			return nil, err
		}
	}
	// The hot lock's keys, then a life: keys issued, changed, used and revoked,
	// device reports, logins, freezes, spread over every lock and over months.
	for len(g.hot.keys) < g.cfg.hotKeys {
		if err := g.issue(g.hot); err != nil {
			return nil, err
		}
	}
	hotShare := float64(g.cfg.hotEvents-g.hot.events) / float64(max(g.cfg.events-g.emitted, 1))
	for g.emitted < g.cfg.events {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if f := g.failed.Load(); f != nil {
			return nil, *f
		}
		g.tick()
		var err error
		if g.hot.events < g.cfg.hotEvents && g.rnd.Float64() < hotShare {
			err = g.hotOp()
		} else {
			err = g.op(g.locks[1+g.rnd.IntN(len(g.locks)-1)])
		}
		if err != nil {
			return nil, err
		}
	}
	for g.hot.events < g.cfg.hotEvents || len(g.hot.keys) < g.cfg.hotKeys {
		var err error
		if len(g.hot.keys) < g.cfg.hotKeys {
			err = g.issue(g.hot)
		} else {
			err = g.hotOp()
		}
		if err != nil {
			return nil, err
		}
		g.tick()
	}
	return g.hot, nil
}

func (g *auditGen) newAccount(i int) error {
	id := uuid.Must(uuid.NewV7())
	name := fmt.Sprintf("owner%05d", i)
	res := account.RehydrateReservation(nil)
	if err := res.Reserve(name, id); err != nil {
		return err
	}
	if err := g.record(account.UsernameStream(name), res, es.ActorOf(es.ActorSystem, "signup")); err != nil {
		return err
	}
	salt, sum := make([]byte, 16), make([]byte, 32)
	_, _ = rand.Read(salt)
	_, _ = rand.Read(sum)
	hash := "$argon2id$v=19$m=65536,t=3,p=2$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(sum)
	a, err := account.Register(id, name, name+"@example.org", hash, nil, uuid.Nil, g.clock.now())
	if err != nil {
		return err
	}
	acc := &genAccount{id: id, agg: a, stream: es.StreamName("account", id), actor: es.ActorOf(es.ActorAccount, id.String()), holding: map[uuid.UUID]bool{}}
	g.accounts = append(g.accounts, acc)
	g.tick()
	return g.record(acc.stream, a, acc.actor)
}

// newLock registers a lock for owner, and redeems a management code on it (and a
// keys code of extraKeys when set).
func (g *auditGen) newLock(owner *genAccount, extraKeys int) (*genLock, error) {
	g.tick()
	id := uuid.Must(uuid.NewV7())
	serial := fmt.Sprintf("BA-%07d", g.lockCount)
	g.lockCount++
	l := lock.New()
	if err := l.Register(id, serial, owner.id, "Door "+serial, "Europe/Amsterdam", randomHex(32), g.clock.now()); err != nil {
		return nil, err
	}
	sr := lock.NewSerial()
	if err := sr.Assign(serial, id, g.clock.now()); err != nil {
		return nil, err
	}
	if err := g.record(lock.SerialStream(serial), sr, owner.actor); err != nil {
		return nil, err
	}
	gl := &genLock{id: id, agg: l, owner: owner, reports: report.New(id), first: g.clock.now()}
	g.locks = append(g.locks, gl)
	if err := g.recordLock(gl, owner.actor); err != nil {
		return nil, err
	}
	if err := g.redeem(gl, code.ManagementProduct(), lock.Benefit{Kind: lock.BenefitManagement}); err != nil {
		return nil, err
	}
	if extraKeys > 0 {
		p, err := code.KeysProduct(extraKeys)
		if err != nil {
			return nil, err
		}
		if err := g.redeem(gl, p, lock.Benefit{Kind: lock.BenefitKeys, Keys: extraKeys}); err != nil {
			return nil, err
		}
	}
	return gl, nil
}

func (g *auditGen) recordLock(gl *genLock, actor string) error {
	gl.events += len(gl.agg.Changes())
	gl.last = g.clock.now()
	return g.record(lock.Stream(gl.id), gl.agg, actor)
}

// redeem issues a code (the operator) and redeems it on the lock (its owner); the
// benefit follows as the redemption process manager grants it.
func (g *auditGen) redeem(gl *genLock, p code.Product, b lock.Benefit) error {
	g.tick()
	normalized := fmt.Sprintf("BENCH%09d", g.codes)
	g.codes++
	stream := code.StreamName(normalized)
	c, err := code.Issue(code.StreamID(normalized), p, g.batch, g.operator, g.clock.now())
	if err == nil {
		err = g.record(stream, c, es.ActorOf(es.ActorAccount, g.operator.String()))
	}
	if err != nil {
		return err
	}
	g.tick()
	redemption := uuid.Must(uuid.NewV7())
	if err := gl.agg.CheckRedemption(gl.owner.id, b, g.clock.now()); err != nil {
		return err
	}
	if err := c.Redeem(code.LockTarget(gl.id), redemption, gl.owner.id, g.clock.now()); err != nil {
		return err
	}
	if err := g.record(stream, c, gl.owner.actor); err != nil {
		return err
	}
	gl.agg.ApplyCode(c.ID(), redemption, b, g.clock.now())
	return g.recordLock(gl, es.ActorOf(es.ActorSystem, "redemptions"))
}

var weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// terms returns a holder's key terms: some with a schedule, a validity window or
// a use limit.
func (g *auditGen) terms(t lock.KeyType) lock.KeyTerms {
	k := lock.KeyTerms{HolderName: fmt.Sprintf("Holder %d", g.rnd.IntN(100_000))}
	switch g.rnd.IntN(6) {
	case 0:
		from := 6*60 + g.rnd.IntN(4)*60
		k.Schedule = lock.Schedule{{Days: weekdays[:1+g.rnd.IntN(5)], From: from, Until: from + 8*60}}
	case 1:
		from := g.clock.now().Add(-time.Hour)
		until := from.Add(time.Duration(1+g.rnd.IntN(90)) * 24 * time.Hour)
		k.ValidFrom, k.ValidUntil = &from, &until
	case 2:
		if t == lock.KeyCode {
			k.MaxUses = 1 + g.rnd.IntN(20)
		}
	}
	return k
}

func (g *auditGen) issue(gl *genLock) error {
	g.tick()
	types := []lock.KeyType{lock.KeyCode, lock.KeyTag, lock.KeyRemote, lock.KeyPhone}
	t := types[g.rnd.IntN(len(types))]
	req := lock.KeyRequest{KeyID: uuid.Must(uuid.NewV7()), Type: t}
	if t == lock.KeyPhone {
		holder := g.accounts[g.rnd.IntN(len(g.accounts))]
		if holder.holding[gl.id] {
			t, req.Type = lock.KeyTag, lock.KeyTag
		} else {
			req.AccountID = holder.id
			holder.holding[gl.id] = true
		}
	}
	if t != lock.KeyPhone {
		req.CredentialDigest = randomHex(32)
		if t == lock.KeyTag || t == lock.KeyRemote {
			req.CredentialHint = lock.CredentialHint(t, randomHex(4))
		}
	}
	req.Terms = g.terms(t)
	if err := gl.agg.IssueKey(lock.Owner(gl.owner.id), req, g.clock.now()); err != nil {
		return err
	}
	gl.keys = append(gl.keys, req.KeyID)
	return g.recordLock(gl, gl.owner.actor)
}

func (g *auditGen) revoke(gl *genLock) error {
	i := g.rnd.IntN(len(gl.keys))
	id := gl.keys[i]
	gl.keys[i] = gl.keys[len(gl.keys)-1]
	gl.keys = gl.keys[:len(gl.keys)-1]
	if k := gl.agg.Key(id); k != nil && k.Type == lock.KeyPhone {
		for _, a := range g.accounts {
			if a.id == k.AccountID {
				delete(a.holding, gl.id)
			}
		}
	}
	if err := gl.agg.RevokeKey(lock.Owner(gl.owner.id), id, g.clock.now()); err != nil {
		return err
	}
	return g.recordLock(gl, gl.owner.actor)
}

func (g *auditGen) change(gl *genLock) error {
	id := gl.keys[g.rnd.IntN(len(gl.keys))]
	k := gl.agg.Key(id)
	terms := g.terms(k.Type)
	if terms.MaxUses != 0 && terms.MaxUses < k.Uses {
		terms.MaxUses = k.Uses
	}
	if err := gl.agg.ChangeKey(lock.Owner(gl.owner.id), id, terms, g.clock.now()); err != nil {
		return err
	}
	return g.recordLock(gl, gl.owner.actor)
}

// use lets a use-limited code key open the door, if one can now.
func (g *auditGen) use(gl *genLock) error {
	loc := g.loc
	for range 4 {
		id := gl.keys[g.rnd.IntN(len(gl.keys))]
		k := gl.agg.Key(id)
		if k.MaxUses == 0 {
			continue
		}
		if ok, _ := k.Opens(g.clock.now(), loc); ok && !gl.agg.Frozen() {
			if err := gl.agg.UseKey(id, g.clock.now(), loc); err != nil {
				return err
			}
			return g.recordLock(gl, es.ActorOf(es.ActorDevice, gl.id.String()))
		}
	}
	return nil
}

func (g *auditGen) reportBatch(gl *genLock) error {
	now := g.clock.now()
	n := 1 + g.rnd.IntN(8)
	reps := make([]report.Report, 0, n)
	for i := range n {
		r := report.Report{ID: fmt.Sprintf("r%d", gl.nextRep), OccurredAt: now.Add(-time.Duration(n-i) * time.Minute)}
		gl.nextRep++
		switch x := g.rnd.IntN(10); {
		case x < 7 && len(gl.keys) > 0:
			r.Type, r.KeyID = report.AccessGranted, gl.keys[g.rnd.IntN(len(gl.keys))]
		case x < 8:
			r.Type = report.AccessDenied
		case x < 9:
			pct := 20 + g.rnd.IntN(80)
			r.Type, r.BatteryPercent = report.Battery, &pct
		default:
			r.Type = report.Tamper
		}
		reps = append(reps, r)
	}
	if err := gl.reports.Record(reps, now); err != nil {
		return err
	}
	return g.record(report.Stream(gl.id), gl.reports, es.ActorOf(es.ActorDevice, gl.id.String()))
}

func (g *auditGen) login(a *genAccount) error {
	now := g.clock.now()
	if err := a.agg.Authenticate(true, account.SessionStart{ID: uuid.Must(uuid.NewV7()), TokenDigest: randomHex(32), ExpiresAt: now.Add(24 * time.Hour)}, now); err != nil {
		return err
	}
	return g.record(a.stream, a.agg, a.actor)
}

// op is one thing that happens on an ordinary lock.
func (g *auditGen) op(gl *genLock) error {
	x := g.rnd.IntN(100)
	switch {
	case x < 45:
		return g.reportBatch(gl)
	case x < 65:
		if len(gl.keys) < gl.agg.KeyAllowance() {
			return g.issue(gl)
		}
		return g.revoke(gl)
	case x < 75 && len(gl.keys) > 0:
		return g.change(gl)
	case x < 85 && len(gl.keys) > 0:
		return g.revoke(gl)
	case x < 88 && len(gl.keys) > 0:
		return g.use(gl)
	case x < 90:
		if gl.agg.Frozen() {
			_ = gl.agg.Unfreeze(gl.owner.id, g.clock.now())
		} else {
			_ = gl.agg.Freeze(gl.owner.id, g.clock.now())
		}
		return g.recordLock(gl, gl.owner.actor)
	default:
		return g.login(gl.owner)
	}
}

// hotOp is one change on the hot lock: its keys turn over while it keeps its
// 2,500, and it freezes now and then.
func (g *auditGen) hotOp() error {
	h := g.hot
	x := g.rnd.IntN(100)
	switch {
	case x < 40 && len(h.keys) >= g.cfg.hotKeys:
		return g.revoke(h)
	case x < 80 && len(h.keys) < g.cfg.hotKeys:
		return g.issue(h)
	case x < 92:
		return g.change(h)
	case x < 98:
		return g.use(h)
	default:
		if h.agg.Frozen() {
			_ = h.agg.Unfreeze(h.owner.id, g.clock.now())
		} else {
			_ = h.agg.Freeze(h.owner.id, g.clock.now())
		}
		return g.recordLock(h, h.owner.actor)
	}
}

package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"sleutel/domain/es"
	"sleutel/infra/bus"
	"sleutel/infra/pebblestore"
	"sleutel/projections"
)

const happenedType = "test.happened"

// happened is the test event: payload only.
type happened struct {
	N int `json:"n"`
}

func (happened) EventType() string { return happenedType }

func registry() *es.Registry {
	r := es.NewRegistry()
	es.Register[happened](r, happenedType)
	return r
}

// row is a line of the test read model: the sum of one stream's events, with the
// revision that last wrote it.
type row struct {
	Revision uint64
	Sum      int
	Count    int
}

// summer is a test projection: an idempotent in-memory read model of per-stream
// sums. fail, when set, can refuse an event.
type summer struct {
	name   string
	filter es.Filter
	fail   atomic.Pointer[func(es.Envelope) error]

	mu      sync.Mutex
	rows    map[string]row
	handled []es.Position // every event Handle applied, in order
}

var (
	_ projections.Projection = (*summer)(nil)
	_ projections.Filtered   = (*summer)(nil)
	_ projections.Resetter   = (*summer)(nil)
)

func newSummer(name string, f es.Filter) *summer {
	return &summer{name: name, filter: f, rows: make(map[string]row)}
}

func (s *summer) Name() string      { return s.name }
func (s *summer) Filter() es.Filter { return s.filter }

func (s *summer) failWith(f func(es.Envelope) error) { s.fail.Store(&f) }

func (s *summer) Handle(ctx context.Context, env es.Envelope) error {
	if f := s.fail.Load(); f != nil && *f != nil {
		if err := (*f)(env); err != nil {
			return err
		}
	}
	e, ok := env.Event.(happened)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, seen := s.rows[env.Stream]
	if seen && env.Revision <= r.Revision {
		return nil // already applied
	}
	s.rows[env.Stream] = row{Revision: env.Revision, Sum: r.Sum + e.N, Count: r.Count + 1}
	s.handled = append(s.handled, env.Position)
	return nil
}

func (s *summer) Reset(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.rows)
	s.handled = nil
	return nil
}

func (s *summer) snapshot() map[string]row {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]row, len(s.rows))
	for k, v := range s.rows {
		out[k] = v
	}
	return out
}

func (s *summer) applied() []es.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]es.Position(nil), s.handled...)
}

// runtime starts a Runtime over store with ps, and closes it when the test ends.
func runtime(t *testing.T, store *pebblestore.Store, logger *zap.Logger, ps ...projections.Projection) *bus.Runtime {
	t.Helper()
	rt, err := bus.NewRuntime(bus.RuntimeConfig{
		Log: store, Checkpoints: store, Registry: registry(), Logger: logger,
		Retry: bus.RetryConfig{MaxRetries: 2, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond},
	})
	require.NoError(t, err)
	for _, p := range ps {
		require.NoError(t, rt.Register(p), "Register(%s)", p.Name())
	}
	errc := make(chan error, 1)
	go func() { errc <- rt.Run(t.Context()) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			require.NoError(t, rt.Close())
			require.NoError(t, <-errc, "Run")
		})
	}
	t.Cleanup(stop)
	return rt
}

func waitFor(t *testing.T, rt *bus.Runtime, name string, pos es.Position) {
	t.Helper()
	require.NoError(t, rt.WaitFor(ctxT(t), name, pos), "WaitFor(%s, %s)", name, pos)
}

func statusOf(t *testing.T, rt *bus.Runtime, name string) bus.Status {
	t.Helper()
	for _, s := range rt.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %s", name)
	return bus.Status{}
}

// TestRuntime_ReplayEqualsLive: a projection fed live, while events are written, and
// the same projection rebuilt from position zero, and a new one replaying the whole
// log, hold the same read model (SPEC H2).
func TestRuntime_ReplayEqualsLive(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("replay")
	live := newSummer("sums_live", es.Filter{Categories: []string{cat}})
	rt := runtime(t, store, nil, live)

	streams := []string{es.StreamName(cat, uuid.New()), es.StreamName(cat, uuid.New()), es.StreamName(cat, uuid.New())}
	var last es.Position
	for i := range 30 {
		pos := appendN(t, store, streams[i%3], i*10, 1+i%4)
		last = pos[len(pos)-1]
	}
	waitFor(t, rt, "sums_live", last)
	want := live.snapshot()
	require.Len(t, want, 3)

	require.NoError(t, rt.Rebuild(ctxT(t), "sums_live"))
	waitFor(t, rt, "sums_live", last)
	require.Equal(t, want, live.snapshot(), "rebuilt from zero")

	fresh := newSummer("sums_fresh", es.Filter{Categories: []string{cat}})
	rt2 := runtime(t, store, nil, fresh)
	waitFor(t, rt2, "sums_fresh", last)
	require.Equal(t, want, fresh.snapshot(), "a new projection replaying the log")
}

// TestRuntime_FailingProjectionStopsAndReports: a projection that cannot handle an
// event stops before it, reports it once, and skips nothing; another goes on.
func TestRuntime_FailingProjectionStopsAndReports(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	core, logs := observer.New(zapcore.DebugLevel)
	cat := newCategory("fail")
	good := newSummer("good", es.Filter{Categories: []string{cat}})
	bad := newSummer("bad", es.Filter{Categories: []string{cat}})
	boom := errors.New("read model unavailable")
	bad.failWith(func(env es.Envelope) error {
		if env.Event.(happened).N == 3 {
			return boom
		}
		return nil
	})
	stream := es.StreamName(cat, uuid.New())
	pos := appendN(t, store, stream, 0, 6) // n = 0 … 5; n = 3 fails
	rt := runtime(t, store, zap.New(core), good, bad)

	waitFor(t, rt, "good", pos[5])
	err := rt.WaitFor(ctxT(t), "bad", pos[5])
	require.ErrorIs(t, err, bus.ErrProjectionFailed)
	require.ErrorIs(t, err, boom)
	var pe *bus.ProjectionError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, pos[3], pe.Position, "the failing event")

	st := statusOf(t, rt, "bad")
	require.Equal(t, bus.StateFailed, st.State)
	require.ErrorIs(t, st.Err, boom)
	require.Equal(t, pos[2], st.Position, "stopped just before the failing event")
	require.Equal(t, pos[:3], bad.applied(), "nothing after the failing event was applied")
	require.Equal(t, bus.StateRunning, statusOf(t, rt, "good").State)

	more := appendN(t, store, stream, 6, 2)
	waitFor(t, rt, "good", more[1])
	require.Equal(t, pos[:3], bad.applied(), "a failed projection stays stopped")
	require.NoError(t, rt.WaitFor(ctxT(t), "bad", pos[1]), "positions it reached are still reached")

	require.NoError(t, rt.Close())
	cp, err := store.LoadCheckpoint(ctxT(t), "bad")
	require.NoError(t, err)
	require.Equal(t, pos[2], cp, "the checkpoint stays before the failing event")

	errs := logs.FilterLevelExact(zapcore.ErrorLevel).All()
	require.Len(t, errs, 1, "one error line for the failure: %v", errs)
	require.Equal(t, "bad", errs[0].ContextMap()["projection"])
	require.Equal(t, pos[3].String(), errs[0].ContextMap()["position"])
	require.Len(t, logs.FilterMessage("projection failed to handle an event, retrying").All(), 2, "a warning per retry")
	for _, e := range logs.All() {
		for k, v := range e.ContextMap() {
			require.NotContains(t, fmt.Sprint(v), `"n":`, "log field %s of %q holds a payload", k, e.Message)
		}
	}
}

// TestRuntime_RecoveryResumesAtTheFailedEvent: once the cause is fixed, a restart
// (in process, or of the whole runtime) starts with the event that failed.
func TestRuntime_RecoveryResumesAtTheFailedEvent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := openStoreAt(t, dir)
	cat := newCategory("recover")
	p := newSummer("recovering", es.Filter{Categories: []string{cat}})
	var broken atomic.Bool
	broken.Store(true)
	p.failWith(func(env es.Envelope) error {
		if broken.Load() && env.Event.(happened).N >= 2 {
			return errors.New("broken")
		}
		return nil
	})
	pos := appendN(t, store, es.StreamName(cat, uuid.New()), 0, 4)

	rt := runtime(t, store, nil, p)
	require.ErrorIs(t, rt.WaitFor(ctxT(t), "recovering", pos[3]), bus.ErrProjectionFailed)
	require.NoError(t, rt.Restart(ctxT(t), "recovering"), "restart while still broken")
	err := rt.WaitFor(ctxT(t), "recovering", pos[3])
	require.ErrorIs(t, err, bus.ErrProjectionFailed, "fails again at the same event")
	var pe *bus.ProjectionError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, pos[2], pe.Position)
	require.NoError(t, rt.Close())

	// Fixed, and the process restarted.
	broken.Store(false)
	require.NoError(t, store.Close())
	store = openStoreAt(t, dir)
	rt = runtime(t, store, nil, p)
	waitFor(t, rt, "recovering", pos[3])
	require.Equal(t, pos, p.applied(), "every event once, the failed one first after the restart")
	require.Equal(t, 0+1+2+3, sumAll(p), "sum of every event")

	// And in process.
	broken.Store(true)
	more := appendN(t, store, es.StreamName(cat, uuid.New()), 10, 2)
	require.ErrorIs(t, rt.WaitFor(ctxT(t), "recovering", more[1]), bus.ErrProjectionFailed)
	broken.Store(false)
	require.NoError(t, rt.Restart(ctxT(t), "recovering"))
	waitFor(t, rt, "recovering", more[1])
	require.Equal(t, append(pos, more...), p.applied())
	require.Equal(t, bus.StateRunning, statusOf(t, rt, "recovering").State)
	require.NoError(t, statusOf(t, rt, "recovering").Err)
}

func sumAll(s *summer) int {
	n := 0
	for _, r := range s.snapshot() {
		n += r.Sum
	}
	return n
}

func TestRuntime_TransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("transient")
	p := newSummer("flaky", es.Filter{Categories: []string{cat}})
	var tries atomic.Int32
	p.failWith(func(es.Envelope) error {
		if tries.Add(1) <= 2 {
			return errors.New("flaky")
		}
		return nil
	})
	pos := appendN(t, store, es.StreamName(cat, uuid.New()), 0, 3)
	rt := runtime(t, store, nil, p)
	waitFor(t, rt, "flaky", pos[2])
	require.Equal(t, pos, p.applied())
	require.Equal(t, int32(5), tries.Load(), "two failed tries, then one per event")
}

func TestRuntime_PanicIsRecoveredAndStops(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("panic")
	p := newSummer("panicky", es.Filter{Categories: []string{cat}})
	p.failWith(func(es.Envelope) error { panic("projection bug") })
	pos := appendN(t, store, es.StreamName(cat, uuid.New()), 0, 1)
	rt := runtime(t, store, nil, p)
	err := rt.WaitFor(ctxT(t), "panicky", pos[0])
	require.ErrorIs(t, err, bus.ErrProjectionFailed)
	require.ErrorContains(t, err, "projection bug")
}

// TestRuntime_UnknownTypeStopsTheProjection: an event type missing from the
// registry is never skipped silently.
func TestRuntime_UnknownTypeStopsTheProjection(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat, other := newCategory("unknown"), newCategory("unaffected")
	strict := newSummer("strict", es.Filter{Categories: []string{cat}})
	bystander := newSummer("bystander", es.Filter{Categories: []string{other}})
	stream := es.StreamName(cat, uuid.New())
	first := appendN(t, store, stream, 0, 1)
	_, err := store.Append(ctxT(t), stream, es.AnyRevision(), es.EventData{ID: uuid.New(), Type: "test.unregistered", Data: []byte(`{}`)})
	require.NoError(t, err)
	after := appendN(t, store, stream, 1, 1)
	otherPos := appendN(t, store, es.StreamName(other, uuid.New()), 0, 1)

	rt := runtime(t, store, nil, strict, bystander)
	err = rt.WaitFor(ctxT(t), "strict", after[0])
	require.ErrorIs(t, err, bus.ErrProjectionFailed)
	var unknown *es.UnknownTypeError
	require.ErrorAs(t, err, &unknown)
	require.Equal(t, "test.unregistered", unknown.Type)
	require.Equal(t, first, strict.applied(), "stopped before the unknown event")
	waitFor(t, rt, "bystander", otherPos[0])
}

func TestRuntime_RebuildNeedsReset(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	rt := runtime(t, store, nil, noReset{})
	require.ErrorContains(t, rt.Rebuild(ctxT(t), "no_reset"), "no Reset")
	require.ErrorIs(t, rt.Rebuild(ctxT(t), "missing"), bus.ErrUnknownProjection)
}

type noReset struct{}

func (noReset) Name() string                              { return "no_reset" }
func (noReset) Handle(context.Context, es.Envelope) error { return nil }

func TestRuntime_WaitFor(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	mine, others := newCategory("mine"), newCategory("others")
	filtered := newSummer("filtered", es.Filter{Categories: []string{mine}})
	all := newSummer("everything", es.Filter{})
	rt := runtime(t, store, nil, filtered, all)

	own := appendN(t, store, es.StreamName(mine, uuid.New()), 0, 2)
	waitFor(t, rt, "filtered", own[1])
	require.Len(t, filtered.applied(), 2, "read your writes")

	foreign := appendN(t, store, es.StreamName(others, uuid.New()), 0, 5)
	waitFor(t, rt, "filtered", foreign[4]) // passes events it does not read
	require.Len(t, filtered.applied(), 2)
	waitFor(t, rt, "everything", foreign[4])

	ctx, cancel := context.WithTimeout(ctxT(t), 50*time.Millisecond)
	defer cancel()
	beyond := es.Pos(foreign[4].Commit + 1)
	require.ErrorIs(t, rt.WaitFor(ctx, "filtered", beyond), context.DeadlineExceeded, "a position not yet written")
	require.ErrorIs(t, rt.WaitFor(ctxT(t), "nobody", own[0]), bus.ErrUnknownProjection)

	st := statusOf(t, rt, "filtered")
	require.Equal(t, bus.StateRunning, st.State)
	require.Equal(t, mine, st.Topic)
	require.False(t, st.Position.Less(foreign[4]))

	require.NoError(t, rt.Close())
	require.ErrorIs(t, rt.WaitFor(ctxT(t), "filtered", beyond), bus.ErrRuntimeClosed)
	require.Equal(t, bus.StateStopped, statusOf(t, rt, "filtered").State)
}

// blocker blocks in Handle until its context ends.
type blocker struct {
	entered chan es.Position
}

func (blocker) Name() string { return "blocker" }
func (b blocker) Handle(ctx context.Context, env es.Envelope) error {
	b.entered <- env.Position
	<-ctx.Done()
	return ctx.Err()
}

// TestRuntime_CloseDrains: Close ends a handler in the middle of an event, and
// the event is not acked, so it comes again.
func TestRuntime_CloseDrains(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	pos := appendN(t, store, es.StreamName(newCategory("drain"), uuid.New()), 0, 2)
	b := blocker{entered: make(chan es.Position, 10)}
	rt := runtime(t, store, nil, b)
	require.Equal(t, pos[0], <-b.entered)
	require.NoError(t, rt.Close())
	require.Equal(t, bus.StateStopped, statusOf(t, rt, "blocker").State, "interrupted, not failed")
	cp, err := store.LoadCheckpoint(ctxT(t), "blocker")
	require.NoError(t, err)
	require.Equal(t, es.Start, cp, "the interrupted event is not checkpointed")

	rt = runtime(t, store, nil, b)
	require.Equal(t, pos[0], <-b.entered, "it comes again")
}

func TestRuntime_Lifecycle(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	rt, err := bus.NewRuntime(bus.RuntimeConfig{Log: store, Checkpoints: store, Registry: registry()})
	require.NoError(t, err)
	require.NoError(t, rt.Register(newSummer("one", es.Filter{})))
	require.Error(t, rt.Register(newSummer("one", es.Filter{})), "a name twice")
	require.Error(t, rt.Register(newSummer("Bad Name", es.Filter{})))
	require.Error(t, rt.Register(newSummer("dash", es.Filter{Categories: []string{"a-b"}})))

	ctx, cancel := context.WithCancel(ctxT(t))
	errc := make(chan error, 1)
	go func() { errc <- rt.Run(ctx) }()
	pos := appendN(t, store, es.StreamName(newCategory("life"), uuid.New()), 0, 1)
	waitFor(t, rt, "one", pos[0])
	require.Error(t, rt.Register(newSummer("two", es.Filter{})), "Register after Run")
	cancel()
	require.NoError(t, <-errc, "Run returns once its context ends")
	require.NoError(t, rt.Close(), "Close after Run")

	closed, err := bus.NewRuntime(bus.RuntimeConfig{Log: store, Checkpoints: store, Registry: registry()})
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	require.NoError(t, closed.Run(ctxT(t)), "Run after Close returns at once")
}

// TestRuntime_StoreClosedUnderIt: when the log ends the subscriptions, the
// projections report it instead of being waited for in vain.
func TestRuntime_StoreClosedUnderIt(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	cat := newCategory("closing")
	p := newSummer("orphan", es.Filter{Categories: []string{cat}})
	rt := runtime(t, store, nil, p)
	pos := appendN(t, store, es.StreamName(cat, uuid.New()), 0, 1)
	waitFor(t, rt, "orphan", pos[0])
	require.NoError(t, store.Close())
	err := rt.WaitFor(ctxT(t), "orphan", es.Pos(pos[0].Commit+1))
	require.ErrorIs(t, err, es.ErrClosed)
	require.ErrorIs(t, err, bus.ErrProjectionFailed)
	require.Equal(t, bus.StateFailed, statusOf(t, rt, "orphan").State)
}

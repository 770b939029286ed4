package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"sleutel/domain/es"
	"sleutel/infra/logging"
	"sleutel/projections"
)

// RetryConfig bounds the retries of a failing projection event: exponential
// backoff from InitialInterval, times Multiplier, capped at MaxInterval.
type RetryConfig struct {
	// MaxRetries is how many times a failed event is tried again; 5 when zero,
	// none when negative.
	MaxRetries int
	// InitialInterval is the first pause; 100ms when zero.
	InitialInterval time.Duration
	// MaxInterval caps the pause; 5s when zero.
	MaxInterval time.Duration
	// Multiplier grows the pause; 2 when zero.
	Multiplier float64
}

// RuntimeConfig configures a Runtime.
type RuntimeConfig struct {
	// Log is read by every projection. Required.
	Log Log
	// Checkpoints keeps each projection's position under its name. Required.
	Checkpoints CheckpointStore
	// Registry decodes events. Required. A type it does not know stops the
	// projection that receives it.
	Registry *es.Registry
	// Logger receives one line per projected event (debug), per retry (warn), per
	// failed projection (error, once) and per lifecycle step (info);
	// zap.NewNop() when nil.
	Logger *zap.Logger
	// Retry bounds the retries of a failing event.
	Retry RetryConfig
	// CheckpointInterval is the subscribers' SubscriberConfig.CheckpointInterval.
	CheckpointInterval time.Duration
	// CloseTimeout bounds how long Close waits for running handlers; 30s when zero.
	CloseTimeout time.Duration
}

// State is where a projection stands.
type State string

// States of a projection.
const (
	// StateStopped: not running, for no fault of its own (the runtime has not
	// started, is restarting it, or has closed).
	StateStopped State = "stopped"
	// StateRunning: reading the log.
	StateRunning State = "running"
	// StateFailed: stopped at an event it could not handle; see Status.Err.
	StateFailed State = "failed"
)

// Status is one projection's state.
type Status struct {
	Name     string
	Topic    string      // the part of the log it reads
	Position es.Position // every event up to here is handled
	State    State
	Err      error // why it failed, when State is StateFailed
}

// ErrProjectionFailed is matched by the error of a projection that stopped at an
// event it could not handle (a *ProjectionError).
var ErrProjectionFailed = errors.New("projection failed")

// ErrUnknownProjection is returned for a name no projection was registered under.
var ErrUnknownProjection = errors.New("unknown projection")

// ErrRuntimeClosed is returned by WaitFor and Restart once the runtime has ended.
var ErrRuntimeClosed = errors.New("projection runtime closed")

// ProjectionError reports a projection that stopped at the event at Position: its
// checkpoint stays just before that event.
type ProjectionError struct {
	Name     string
	Position es.Position // of the event that failed
	Err      error
}

// Error describes the failure.
func (e *ProjectionError) Error() string {
	return fmt.Sprintf("projection %s stopped at position %s: %v", e.Name, e.Position, e.Err)
}

// Unwrap returns the cause.
func (e *ProjectionError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrProjectionFailed) true.
func (e *ProjectionError) Is(target error) bool { return target == ErrProjectionFailed }

// permanentError is a failure that retrying cannot fix (an unknown or undecodable
// event type): it stops the projection at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// keepaliveHandler names a handler that never ends before the router closes:
// Watermill closes a router whose handlers have all stopped, and failed
// projections stop theirs.
const keepaliveHandler = "bus_runtime_keepalive"

// Runtime runs projections on a Watermill Router: each projection is a handler of
// its own name, with its own Subscriber and checkpoint (the name), behind the
// Router's Recoverer, a bounded Retry with exponential backoff and CorrelationID.
//
// Events reach each projection in log order, at least once. An event that still
// fails after the retries stops that projection (its handler ends and its checkpoint
// stays before the event) and is reported, by Status, WaitFor and one error log
// line; the other projections go on. No event is ever skipped.
type Runtime struct {
	cfg    RuntimeConfig
	logger *zap.Logger

	ops sync.Mutex // one Restart or Rebuild at a time

	mu       sync.Mutex
	states   map[string]*projState
	started  bool
	closed   bool // Close was called or Run ended
	stopping bool // Run is winding down: no new background work
	router   *message.Router
	runCtx   context.Context
	cancel   context.CancelFunc
	done     chan struct{} // closed when Run returns
	bg       sync.WaitGroup
}

type projState struct {
	p      projections.Projection
	name   string
	topic  string
	filter es.Filter

	attempts atomic.Int64 // tries of the current event

	mu       sync.Mutex
	pos      es.Position
	state    State
	err      error
	handler  *message.Handler
	sub      *Subscriber
	zombie   bool          // its handler could not subscribe and is stuck in the router
	changed  chan struct{} // closed on the next change; nil when no one waits
	failedAt es.Position
}

// NewRuntime returns a Runtime without projections.
func NewRuntime(cfg RuntimeConfig) (*Runtime, error) {
	if cfg.Log == nil || cfg.Checkpoints == nil || cfg.Registry == nil {
		return nil, errors.New("projection runtime: log, checkpoint store and registry are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	r := &cfg.Retry
	if r.MaxRetries == 0 {
		r.MaxRetries = 5
	} else if r.MaxRetries < 0 {
		r.MaxRetries = 0
	}
	if r.InitialInterval <= 0 {
		r.InitialInterval = 100 * time.Millisecond
	}
	if r.MaxInterval <= 0 {
		r.MaxInterval = 5 * time.Second
	}
	if r.Multiplier <= 0 {
		r.Multiplier = 2
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	return &Runtime{cfg: cfg, logger: cfg.Logger, states: make(map[string]*projState), done: make(chan struct{})}, nil
}

// Register adds p before Run. Its name must be valid and unused (see
// projections.ValidateName), and its filter expressible as a topic.
func (r *Runtime) Register(p projections.Projection) error {
	name := p.Name()
	if err := projections.ValidateName(name); err != nil {
		return fmt.Errorf("register projection: %w", err)
	}
	f := projections.FilterOf(p)
	t, err := TopicOf(f)
	if err != nil {
		return fmt.Errorf("register projection %s: %w", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return fmt.Errorf("register projection %s: the runtime is already running", name)
	}
	if _, dup := r.states[name]; dup {
		return fmt.Errorf("register projection %s: name taken", name)
	}
	r.states[name] = &projState{p: p, name: name, topic: t, filter: f, state: StateStopped}
	return nil
}

// Run starts every registered projection from its checkpoint and blocks until ctx
// ends or Close is called; then it drains: running handlers end (their contexts are
// cancelled, and an event not acked is delivered again next time) and the last
// checkpoints are written. It returns nil after a clean stop.
func (r *Runtime) Run(ctx context.Context) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("projection runtime: Run called twice")
	}
	r.started = true
	if r.closed {
		r.mu.Unlock()
		close(r.done)
		return nil
	}
	adapter := logging.NewWatermillAdapter(r.logger).
		// The runtime reports a failed projection itself, once, at error level;
		// Watermill's view of the same failure, and its lifecycle chatter, go lower.
		WithLevels(zapcore.WarnLevel, zapcore.DebugLevel)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: r.cfg.CloseTimeout}, adapter)
	if err != nil {
		r.mu.Unlock()
		close(r.done)
		return fmt.Errorf("projection runtime: %w", err)
	}
	router.AddMiddleware(r.unitOfWork, middleware.CorrelationID)
	router.AddConsumerHandler(keepaliveHandler, AllTopic, idleSubscriber{}, func(*message.Message) error { return nil })
	runCtx, cancel := context.WithCancel(ctx)
	r.router, r.runCtx, r.cancel = router, runCtx, cancel
	states := r.sortedStates()
	r.mu.Unlock()

	// Restart and Rebuild wait until every handler is in place.
	r.ops.Lock()
	for _, st := range states {
		pos, err := r.cfg.Checkpoints.LoadCheckpoint(runCtx, st.name)
		if runCtx.Err() != nil {
			break // stopped while starting: the router closes at once
		}
		if err != nil {
			r.setFailed(st, es.Start, fmt.Errorf("load checkpoint: %w", err), "projection cannot start")
			continue
		}
		st.mu.Lock()
		st.pos = pos
		st.mu.Unlock()
		if err := r.addHandler(router, st); err != nil {
			r.setFailed(st, pos, err, "projection cannot start")
		}
	}
	r.ops.Unlock()
	closed, returned := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(closed)
		<-runCtx.Done()
		// Closing a router that is not running yet would wait for handlers that
		// never start; one that failed to start has nothing to close (the
		// subscriptions end with runCtx).
		select {
		case <-router.Running():
		case <-returned:
			return
		}
		if err := router.Close(); err != nil {
			r.logger.Warn("projection runtime did not drain in time", zap.Error(err))
		}
	}()
	r.logger.Info("projection runtime started", zap.Int("projections", len(states)))
	err = router.Run(runCtx)
	if runCtx.Err() != nil {
		err = nil // stopped, possibly while starting: not a failure
	}
	close(returned)
	cancel()
	<-closed

	r.mu.Lock()
	r.closed, r.stopping = true, true
	r.mu.Unlock()
	r.bg.Wait()
	for _, st := range states {
		st.mu.Lock()
		sub := st.sub
		st.mu.Unlock()
		if sub != nil {
			// The router closed the running ones; this is for the rest. Not under
			// st.mu: a subscription reports progress under it until it ends.
			_ = sub.Close()
		}
		st.mu.Lock()
		st.handler, st.sub = nil, nil
		if st.state == StateRunning {
			st.state = StateStopped
		}
		st.notify()
		st.mu.Unlock()
	}
	r.logger.Info("projection runtime stopped")
	close(r.done)
	if err != nil {
		return fmt.Errorf("projection runtime: %w", err)
	}
	return nil
}

// Close stops Run and waits until it has drained. It is safe to call more than
// once, and before Run (which then returns at once).
func (r *Runtime) Close() error {
	r.mu.Lock()
	r.closed = true
	started, cancel := r.started, r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if started {
		<-r.done
	}
	return nil
}

func (r *Runtime) sortedStates() []*projState {
	out := make([]*projState, 0, len(r.states))
	for _, st := range r.states {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (r *Runtime) lookup(name string) (*projState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.states[name]
	if !ok {
		return nil, fmt.Errorf("projection %q: %w", name, ErrUnknownProjection)
	}
	return st, nil
}

// addHandler gives st a new Subscriber and a handler on router. Before Run the
// router starts it; after, the caller runs it with startHandler.
func (r *Runtime) addHandler(router *message.Router, st *projState) error {
	sub, err := NewSubscriber(SubscriberConfig{
		Log:                r.cfg.Log,
		Checkpoints:        r.cfg.Checkpoints,
		Consumer:           st.name,
		CheckpointName:     func(string) string { return st.name },
		CheckpointInterval: r.cfg.CheckpointInterval,
		OnProgress:         func(_ string, pos es.Position) { st.progress(pos) },
		OnEnd:              func(_ string, err error) { r.ended(st, err) },
		Logger:             r.logger.With(logging.Projection(st.name)),
	})
	if err != nil {
		return err
	}
	retry := middleware.Retry{
		MaxRetries:          r.cfg.Retry.MaxRetries,
		InitialInterval:     r.cfg.Retry.InitialInterval,
		MaxInterval:         r.cfg.Retry.MaxInterval,
		Multiplier:          r.cfg.Retry.Multiplier,
		RandomizationFactor: 0.1,
		ShouldRetry:         r.shouldRetry(st),
	}
	// Retry and Recoverer are composed here rather than added as handler-level
	// middleware: the Router keeps handler-level middleware by handler name, and a
	// projection's handler is added again on every restart.
	h := router.AddConsumerHandler(st.name, st.topic, sub, func(msg *message.Message) error {
		_, err := retry.Middleware(middleware.Recoverer(r.project(st)))(msg)
		return err
	})
	st.mu.Lock()
	st.handler, st.sub, st.state, st.err = h, sub, StateRunning, nil
	st.notify()
	st.mu.Unlock()
	return nil
}

// project is the innermost handler: decode the event, hand it to the projection.
func (r *Runtime) project(st *projState) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		st.attempts.Add(1)
		rec, ok := RecordFrom(msg.Context())
		if !ok {
			return nil, permanentError{fmt.Errorf("message %s carries no event record", msg.UUID)}
		}
		env, err := r.cfg.Registry.Envelope(rec)
		if err != nil {
			return nil, permanentError{err}
		}
		return nil, st.p.Handle(msg.Context(), env)
	}
}

// shouldRetry logs each failed try that will be retried, and refuses to retry
// what cannot succeed.
func (r *Runtime) shouldRetry(st *projState) func(middleware.RetryParams) bool {
	return func(p middleware.RetryParams) bool {
		var perm permanentError
		if errors.As(p.Err, &perm) {
			return false
		}
		if p.RetryNum < r.cfg.Retry.MaxRetries {
			r.logger.Warn("projection failed to handle an event, retrying", logging.Projection(st.name),
				logging.Attempt(p.RetryNum+1), zap.Error(p.Err))
		}
		return true
	}
}

// unitOfWork is the outermost middleware: one log line per event a projection
// handled, and the stop-and-report of a projection whose retries are spent.
func (r *Runtime) unitOfWork(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		name := message.HandlerNameFromCtx(msg.Context())
		r.mu.Lock()
		st := r.states[name]
		r.mu.Unlock()
		if st == nil {
			return h(msg)
		}
		rec, _ := RecordFrom(msg.Context())
		st.attempts.Store(0)
		start := time.Now()
		out, err := h(msg)
		fields := []zap.Field{
			logging.Projection(name), logging.EventType(rec.Type), logging.Stream(rec.Stream),
			logging.Revision(rec.Revision), logging.Position(rec.Position), logging.Duration(time.Since(start)),
			logging.Attempt(int(st.attempts.Load())),
		}
		if rec.Metadata.CorrelationID != "" {
			fields = append(fields, logging.CorrelationID(rec.Metadata.CorrelationID))
		}
		switch {
		case err == nil:
			r.logger.Debug("event projected", fields...)
		case msg.Context().Err() != nil:
			// Stopped or closing: not the projection's fault. The event was not
			// acked and comes again when the projection next runs.
			r.logger.Debug("projection interrupted", append(fields, zap.Error(err))...)
		default:
			r.logger.Error("projection stopped at an event it cannot handle", append(fields, zap.Error(err))...)
			r.stopFailed(st, rec.Position, err)
		}
		return out, err
	}
}

// stopFailed marks st failed at pos and stops its handler. The caller then nacks
// the event; the subscription, already ending, does not deliver it again.
func (r *Runtime) stopFailed(st *projState, pos es.Position, err error) {
	st.mu.Lock()
	h, sub := st.handler, st.sub
	if st.state != StateRunning || h == nil {
		st.mu.Unlock()
		return
	}
	st.state, st.err, st.failedAt = StateFailed, err, pos
	st.notify()
	st.mu.Unlock()
	h.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return // Run closes what is left
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		<-h.Stopped()
		_ = sub.Close() // writes the checkpoint: the last event before pos
		st.mu.Lock()
		if st.handler == h {
			st.handler, st.sub = nil, nil
		}
		st.mu.Unlock()
	}()
}

// ended reports a projection whose subscription the log ended (the store was
// closed): it is stopped for good, and WaitFor must not wait for it.
func (r *Runtime) ended(st *projState, err error) {
	st.mu.Lock()
	running := st.state == StateRunning
	st.mu.Unlock()
	if running {
		r.setFailed(st, st.position(), fmt.Errorf("subscription ended: %w", err), "projection stopped: its subscription ended")
	}
}

func (r *Runtime) setFailed(st *projState, pos es.Position, err error, msg string) {
	r.logger.Error(msg, logging.Projection(st.name), logging.Position(pos), zap.Error(err))
	st.mu.Lock()
	st.state, st.err, st.failedAt = StateFailed, err, pos
	st.notify()
	st.mu.Unlock()
}

// stopHandler stops st's handler, if running, and waits until its subscription has
// written its last checkpoint.
func (r *Runtime) stopHandler(ctx context.Context, st *projState) error {
	st.mu.Lock()
	h, sub, zombie := st.handler, st.sub, st.zombie
	st.mu.Unlock()
	if zombie {
		return fmt.Errorf("projection %s could not subscribe; restart the runtime", st.name)
	}
	if h == nil {
		return nil
	}
	// A handler added before Run is started by the router's Run: wait for it, so
	// Stop finds it started (and the router's writes are visible).
	r.mu.Lock()
	router := r.router
	r.mu.Unlock()
	select {
	case <-router.Running():
	case <-r.done:
		return ErrRuntimeClosed
	case <-ctx.Done():
		return fmt.Errorf("stop projection %s: %w", st.name, ctx.Err())
	}
	h.Stop()
	select {
	case <-h.Stopped():
	case <-ctx.Done():
		return fmt.Errorf("stop projection %s: %w", st.name, ctx.Err())
	}
	_ = sub.Close()
	st.mu.Lock()
	if st.handler == h {
		st.handler, st.sub = nil, nil
	}
	if st.state == StateRunning {
		st.state = StateStopped
	}
	st.notify()
	st.mu.Unlock()
	return nil
}

// startHandler adds and runs st's handler on the running router.
func (r *Runtime) startHandler(ctx context.Context, st *projState) error {
	r.mu.Lock()
	router, runCtx, closed := r.router, r.runCtx, r.closed
	r.mu.Unlock()
	if router == nil || closed {
		return nil // Run starts it, or nothing will
	}
	select {
	case <-router.Running():
	case <-r.done:
		return ErrRuntimeClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := r.addHandler(router, st); err != nil {
		r.setFailed(st, st.position(), err, "projection cannot start")
		return err
	}
	if err := router.RunHandlers(runCtx); err != nil {
		st.mu.Lock()
		st.zombie, st.handler, st.sub = true, nil, nil
		st.mu.Unlock()
		r.setFailed(st, st.position(), err, "projection cannot start")
		return fmt.Errorf("start projection %s: %w", st.name, err)
	}
	return nil
}

// Restart starts a failed (or stopped) projection again from its checkpoint: the
// event it failed at comes first. Use it once the cause is fixed.
func (r *Runtime) Restart(ctx context.Context, name string) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	st, err := r.lookup(name)
	if err != nil {
		return err
	}
	if r.isClosed() {
		return ErrRuntimeClosed
	}
	if err := r.stopHandler(ctx, st); err != nil {
		return err
	}
	r.logger.Info("projection restarting", logging.Projection(name), logging.Position(st.position()))
	return r.startHandler(ctx, st)
}

// Rebuild replays a projection from the start of the log: it stops the projection,
// sets its checkpoint to es.Start, clears its read model (projections.Resetter) and
// starts it again. The checkpoint moves first, so a crash in between replays into
// the old read model, which idempotent handlers make whole. Queries may WaitFor the
// rebuilt projection like any other. Rebuild works before Run and after Close too;
// the replay then happens on the next Run.
func (r *Runtime) Rebuild(ctx context.Context, name string) error {
	r.ops.Lock()
	defer r.ops.Unlock()
	st, err := r.lookup(name)
	if err != nil {
		return err
	}
	rs, ok := st.p.(projections.Resetter)
	if !ok {
		return fmt.Errorf("rebuild projection %s: it has no Reset", name)
	}
	if err := r.stopHandler(ctx, st); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	if err := r.cfg.Checkpoints.SaveCheckpoint(ctx, name, es.Start); err != nil {
		return fmt.Errorf("rebuild projection %s: %w", name, err)
	}
	st.mu.Lock()
	st.pos = es.Start
	st.notify()
	st.mu.Unlock()
	if err := rs.Reset(ctx); err != nil {
		err = fmt.Errorf("reset: %w", err)
		r.setFailed(st, es.Start, err, "projection rebuild failed")
		return fmt.Errorf("rebuild projection %s: %w", name, err)
	}
	st.mu.Lock()
	st.state, st.err = StateStopped, nil
	st.notify()
	st.mu.Unlock()
	r.logger.Info("projection rebuilding from the start", logging.Projection(name))
	return r.startHandler(ctx, st)
}

// WaitFor returns once projection name has handled every event up to pos (for a
// filtered projection: every event of its filter, the others passed), so a query
// can read its own writes. It returns at once a *ProjectionError (ErrProjectionFailed)
// when the projection has failed, ErrRuntimeClosed once the runtime has ended, and
// ctx's error when ctx ends first.
func (r *Runtime) WaitFor(ctx context.Context, name string, pos es.Position) error {
	st, err := r.lookup(name)
	if err != nil {
		return err
	}
	for {
		st.mu.Lock()
		if !st.pos.Less(pos) {
			st.mu.Unlock()
			return nil
		}
		if st.state == StateFailed {
			err := &ProjectionError{Name: name, Position: st.failedAt, Err: st.err}
			st.mu.Unlock()
			return err
		}
		if st.changed == nil {
			st.changed = make(chan struct{})
		}
		changed := st.changed
		st.mu.Unlock()
		if r.isClosed() {
			return fmt.Errorf("wait for %s to reach %s: %w", name, pos, ErrRuntimeClosed)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to reach %s: %w", name, pos, ctx.Err())
		}
	}
}

// Status lists every projection, by name.
func (r *Runtime) Status() []Status {
	r.mu.Lock()
	states := r.sortedStates()
	r.mu.Unlock()
	out := make([]Status, len(states))
	for i, st := range states {
		st.mu.Lock()
		out[i] = Status{Name: st.name, Topic: st.topic, Position: st.pos, State: st.state}
		if st.state == StateFailed {
			out[i].Err = &ProjectionError{Name: st.name, Position: st.failedAt, Err: st.err}
		}
		st.mu.Unlock()
	}
	return out
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (st *projState) progress(pos es.Position) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pos.Less(pos) {
		st.pos = pos
		st.notify()
	}
}

func (st *projState) position() es.Position {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pos
}

// notify wakes every WaitFor. The caller holds st.mu.
func (st *projState) notify() {
	if st.changed != nil {
		close(st.changed)
		st.changed = nil
	}
}

// idleSubscriber delivers nothing until its context ends.
type idleSubscriber struct{}

func (idleSubscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	ch := make(chan *message.Message)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

func (idleSubscriber) Close() error { return nil }

package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.uber.org/zap"

	"sleutel/domain/es"
	"sleutel/infra/logging"
)

// CheckpointStore keeps each consumer's position in the log, by name.
type CheckpointStore interface {
	// LoadCheckpoint returns the position saved under name, or es.Start when
	// there is none.
	LoadCheckpoint(ctx context.Context, name string) (es.Position, error)
	// SaveCheckpoint stores pos under name. It need not fsync: a write that a
	// crash takes back only makes the consumer see some events again. It should
	// survive the process being killed shortly after it returns (the embedded
	// store's does once Pebble's log writer has handed it to the kernel).
	SaveCheckpoint(ctx context.Context, name string, pos es.Position) error
}

// DefaultCheckpointInterval is the shortest time between two checkpoint writes of
// one subscription when SubscriberConfig.CheckpointInterval is zero.
const DefaultCheckpointInterval = 100 * time.Millisecond

// saveTimeout bounds one checkpoint write, the last one included.
const saveTimeout = 10 * time.Second

// Resubscribe backoff after the log drops a subscription.
const (
	resubscribeMin = 100 * time.Millisecond
	resubscribeMax = 10 * time.Second
)

// ErrSubscriberClosed is returned by Subscribe after Close.
var ErrSubscriberClosed = errors.New("subscriber closed")

// ErrAlreadySubscribed is returned by Subscribe for a topic that already has a live
// subscription on the same Subscriber: both would read and move one checkpoint.
var ErrAlreadySubscribed = errors.New("topic already subscribed")

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// Log is read. Required.
	Log Log
	// Checkpoints keeps the consumer's positions. Required.
	Checkpoints CheckpointStore
	// Consumer names the durable consumer: 1 to 100 bytes without '@' or control
	// characters. Required.
	Consumer string
	// CheckpointName, when set, names the checkpoint of a topic; by default it is
	// CheckpointName(Consumer, topic).
	CheckpointName func(topic string) string
	// CheckpointInterval is the shortest time between two checkpoint writes of a
	// subscription; DefaultCheckpointInterval when zero, none when negative.
	CheckpointInterval time.Duration
	// OnProgress, when set, is called from the subscription's goroutine each time
	// its position advances in memory (on Ack, and past events the topic does not
	// hold), and once at the start with the loaded checkpoint. It must not block.
	OnProgress func(topic string, pos es.Position)
	// OnEnd, when set, is called once a subscription has ended for a reason other
	// than its context or Close: the log was closed (es.ErrClosed) or could not be
	// subscribed to again.
	OnEnd func(topic string, err error)
	// Logger receives the subscription's own events (start, end, a dropped
	// subscription, a failed checkpoint write); zap.NewNop() when nil.
	Logger *zap.Logger
}

// CheckpointName returns the default checkpoint name of consumer's subscription
// to topic: "<consumer>@<topic>".
func CheckpointName(consumer, topic string) string { return consumer + "@" + topic }

// Subscriber is a watermill message.Subscriber over the global log, with a durable
// checkpoint per consumer and topic. See the package documentation for topics,
// messages and guarantees.
type Subscriber struct {
	cfg    SubscriberConfig
	logger *zap.Logger

	mu     sync.Mutex
	closed bool
	subs   map[string]*subscription
	wg     sync.WaitGroup
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber for cfg.Consumer.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Log == nil || cfg.Checkpoints == nil {
		return nil, errors.New("bus subscriber: no log or checkpoint store")
	}
	if err := validateConsumer(cfg.Consumer); err != nil {
		return nil, fmt.Errorf("bus subscriber: %w", err)
	}
	switch {
	case cfg.CheckpointInterval == 0:
		cfg.CheckpointInterval = DefaultCheckpointInterval
	case cfg.CheckpointInterval < 0:
		cfg.CheckpointInterval = 0
	}
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Subscriber{
		cfg:    cfg,
		logger: logger.With(logging.Consumer(cfg.Consumer)),
		subs:   make(map[string]*subscription),
	}, nil
}

func validateConsumer(c string) error {
	if c == "" || len(c) > 100 {
		return errors.New("consumer name must be 1 to 100 bytes")
	}
	if strings.ContainsRune(c, '@') {
		return fmt.Errorf("consumer name %q holds '@'", c)
	}
	for _, r := range c {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("consumer name %q holds a control character", c)
		}
	}
	return nil
}

// Subscribe delivers topic's events after the consumer's checkpoint, one at a
// time: the next message waits until the current one is acked (which advances the
// checkpoint) or nacked (which delivers it again). The channel closes when ctx
// ends, when the Subscriber is closed, or when the log is closed.
func (s *Subscriber) Subscribe(ctx context.Context, topicName string) (<-chan *message.Message, error) {
	t, err := parseTopic(topicName)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	name := CheckpointName(s.cfg.Consumer, topicName)
	if s.cfg.CheckpointName != nil {
		name = s.cfg.CheckpointName(topicName)
	}
	subCtx, cancel := context.WithCancel(ctx)
	sub := &subscription{
		s:      s,
		topic:  t,
		ctx:    subCtx,
		cancel: cancel,
		out:    make(chan *message.Message),
		logger: s.logger.With(logging.Topic(topicName)),
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("subscribe %s: %w", topicName, ErrSubscriberClosed)
	case s.subs[topicName] != nil:
		s.mu.Unlock()
		cancel()
		return nil, fmt.Errorf("subscribe %s as %s: %w", topicName, s.cfg.Consumer, ErrAlreadySubscribed)
	}
	s.subs[topicName] = sub
	s.wg.Add(1)
	s.mu.Unlock()

	fail := func(err error) (<-chan *message.Message, error) {
		ended := subCtx.Err() != nil
		cancel()
		s.release(sub)
		s.wg.Done()
		if ended {
			// Cancelled (or closed) while starting: the subscription is over before
			// it began, which its channel says by being closed.
			close(sub.out)
			return sub.out, nil
		}
		return nil, fmt.Errorf("subscribe %s as %s: %w", topicName, s.cfg.Consumer, err)
	}
	after, err := s.cfg.Checkpoints.LoadCheckpoint(subCtx, name)
	if err != nil {
		return fail(err)
	}
	ls, err := s.cfg.Log.Subscribe(subCtx, after, t.filter)
	if err != nil {
		return fail(err)
	}
	sub.ls, sub.cursor = ls, after
	sub.cp = newCheckpointer(context.WithoutCancel(subCtx), s.cfg.Checkpoints, name, after, s.cfg.CheckpointInterval, sub.logger)
	if s.cfg.OnProgress != nil {
		s.cfg.OnProgress(topicName, after)
	}
	sub.logger.Debug("subscription started", logging.Position(after))
	go sub.run()
	return sub.out, nil
}

func (s *Subscriber) release(sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subs[sub.topic.name] == sub {
		delete(s.subs, sub.topic.name)
	}
}

// Close ends every subscription and returns once their channels are closed and
// their last checkpoints written. A message delivered but not yet acked has its
// context cancelled, and is delivered again to the next subscription.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, sub := range s.subs {
		sub.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

type subscription struct {
	s      *Subscriber
	topic  topic
	ctx    context.Context
	cancel context.CancelFunc
	out    chan *message.Message
	logger *zap.Logger

	ls     es.Subscription
	cursor es.Position // through here every event is acked or not for this topic
	cp     *checkpointer
	ended  error // why the log ended the subscription, if it did
}

func (sub *subscription) run() {
	defer func() {
		sub.cancel()
		_ = sub.ls.Close()
		sub.cp.stop()
		sub.s.release(sub)
		close(sub.out)
		sub.logger.Debug("subscription ended", logging.Position(sub.cursor))
		if sub.ended != nil && sub.s.cfg.OnEnd != nil {
			sub.s.cfg.OnEnd(sub.topic.name, sub.ended)
		}
		sub.s.wg.Done()
	}()
	for {
		batch, err := sub.ls.Recv()
		if err != nil {
			if !sub.recover(err) {
				return
			}
			continue
		}
		for _, r := range batch.Records {
			if !sub.topic.pass(&r) {
				continue
			}
			if !sub.deliver(r) {
				return
			}
			sub.advance(r.Position)
		}
		sub.advance(batch.Through)
	}
}

// recover handles a failed Recv: it reports whether the subscription goes on, on a
// new log subscription from the cursor.
func (sub *subscription) recover(err error) bool {
	if sub.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, es.ErrClosed) {
		sub.logger.Warn("event log closed, subscription ends", logging.Position(sub.cursor))
		sub.ended = err
		return false
	}
	_ = sub.ls.Close()
	wait := resubscribeMin
	for attempt := 1; ; attempt++ {
		sub.logger.Error("subscription dropped, resubscribing", zap.Error(err),
			logging.Position(sub.cursor), logging.Attempt(attempt), logging.Duration(wait))
		t := time.NewTimer(wait)
		select {
		case <-sub.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		ls, serr := sub.s.cfg.Log.Subscribe(sub.ctx, sub.cursor, sub.topic.filter)
		if serr == nil {
			sub.ls = ls
			return true
		}
		if sub.ctx.Err() != nil {
			return false
		}
		if errors.Is(serr, es.ErrClosed) {
			sub.ended = serr
			return false
		}
		err = serr
		wait = min(2*wait, resubscribeMax)
	}
}

// deliver hands r to the consumer until it is acked, and reports whether it was:
// false means the subscription is ending.
func (sub *subscription) deliver(r es.Record) bool {
	for {
		if sub.ctx.Err() != nil {
			return false
		}
		msgCtx, cancel := context.WithCancel(sub.ctx)
		msg := newMessage(msgCtx, r)
		select {
		case sub.out <- msg:
		case <-sub.ctx.Done():
			cancel()
			return false
		}
		select {
		case <-msg.Acked():
			cancel()
			return true
		case <-msg.Nacked():
			cancel()
			// Delivered again at once, as Watermill expects; a consumer that wants
			// a pause (the Router's Retry) takes it before nacking.
		case <-sub.ctx.Done():
			cancel()
			select {
			case <-msg.Acked(): // acked as the subscription ended: keep the ack
				return true
			default:
				return false
			}
		}
	}
}

func (sub *subscription) advance(pos es.Position) {
	if !sub.cursor.Less(pos) {
		return
	}
	sub.cursor = pos
	sub.cp.set(pos)
	if f := sub.s.cfg.OnProgress; f != nil {
		f(sub.topic.name, pos)
	}
}

// checkpointer writes a subscription's latest position behind it: one write at a
// time, at most one per interval, always of the newest position, and a last one on
// stop. Delivery never waits for it.
type checkpointer struct {
	ctx      context.Context // not cancelled with the subscription: the last write must run
	store    CheckpointStore
	name     string
	interval time.Duration
	logger   *zap.Logger

	mu     sync.Mutex
	latest es.Position
	saved  es.Position

	failing bool // owned by run
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

func newCheckpointer(ctx context.Context, store CheckpointStore, name string, at es.Position, interval time.Duration, logger *zap.Logger) *checkpointer {
	c := &checkpointer{
		ctx: ctx, store: store, name: name, interval: interval, logger: logger,
		latest: at, saved: at,
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}
	go c.run()
	return c
}

func (c *checkpointer) set(pos es.Position) {
	c.mu.Lock()
	c.latest = pos
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.kick:
		case <-c.quit:
			c.flush()
			return
		}
		c.flush()
		pause := c.interval
		if c.failing {
			pause = max(pause, time.Second)
			select { // try again after the pause, even without a new advance
			case c.kick <- struct{}{}:
			default:
			}
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-c.quit:
				t.Stop()
				c.flush()
				return
			}
		}
	}
}

func (c *checkpointer) flush() {
	c.mu.Lock()
	pos, saved := c.latest, c.saved
	c.mu.Unlock()
	if pos == saved {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, saveTimeout)
	err := c.store.SaveCheckpoint(ctx, c.name, pos)
	cancel()
	if err != nil {
		if !c.failing {
			c.logger.Error("checkpoint not saved", zap.Error(err), logging.Position(pos))
		}
		c.failing = true
		return
	}
	if c.failing {
		c.logger.Info("checkpoint saved again", logging.Position(pos))
	}
	c.failing = false
	c.mu.Lock()
	c.saved = pos
	c.mu.Unlock()
}

// stop writes the latest position and ends the writer.
func (c *checkpointer) stop() {
	close(c.quit)
	<-c.done
}

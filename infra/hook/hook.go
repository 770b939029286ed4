// Package hook delivers webhooks (SPEC W1). The webhook_deliveries projection
// fills a durable queue; here one worker per webhook with deliveries waiting takes
// them in the order they fall due, POSTs each signed body to the webhook's URL and
// records the attempt, retrying failures with exponential backoff. A worker waits
// only for its own receiver, so a slow or dead receiver delays no other webhook, and
// nothing here is on a command's path.
//
// Delivery is at least once: an attempt whose outcome was not recorded before a
// crash is made again, with the same Sleutel-Delivery id, for receivers to
// deduplicate.
//
// Every request carries
//
//	Sleutel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//	Sleutel-Delivery:  <delivery id>    the same on every attempt
//	Sleutel-Event:     <event type>
//	Sleutel-Webhook:   <webhook id>
//
// The signature is made afresh for each attempt, so a receiver can refuse old
// timestamps (replay). Redirects are not followed, and unless AllowPrivate is set
// a connection to a loopback, private, link-local or reserved address is refused at
// dial time, whatever name resolved to it (SSRF).
package hook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"sleutel/domain/webhook"
	"sleutel/infra/logging"
	"sleutel/projections"
)

// Queue is the durable queue of deliveries.
type Queue interface {
	// Pending returns the webhooks with deliveries waiting.
	Pending(ctx context.Context) ([]uuid.UUID, error)
	// Next returns the webhook's delivery that falls due first: a task when it is
	// due at now, or else the time it falls due; both zero when none waits.
	Next(ctx context.Context, webhookID uuid.UUID, now time.Time) (*projections.WebhookTask, time.Time, error)
	// Record stores the outcome of an attempt.
	Record(ctx context.Context, a projections.WebhookAttempt) error
}

var _ Queue = (*projections.WebhookStore)(nil)

// Header names of a delivery.
const (
	HeaderSignature = "Sleutel-Signature"
	HeaderDelivery  = "Sleutel-Delivery"
	HeaderEvent     = "Sleutel-Event"
	HeaderWebhook   = "Sleutel-Webhook"
)

// Sign returns the Sleutel-Signature header of body sent at t under secret:
// "t=<unix seconds>,v1=<hex of HMAC-SHA256(secret, "<unix seconds>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Config configures a Dispatcher. Queue and Secret are required; zero durations
// and counts take the defaults named.
type Config struct {
	Queue Queue
	// Secret returns a webhook's signing secret from its id and salt.
	Secret func(webhookID uuid.UUID, salt string) string
	// Logger gets one line per attempt; zap.NewNop() when nil.
	Logger *zap.Logger
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses: for tests and closed networks, never for a public platform.
	AllowPrivate bool
	// Timeout bounds one attempt, connecting to reading the status; 10 s.
	Timeout time.Duration
	// FirstRetry is the pause after a first failure; each further failure doubles
	// it, up to MaxRetry. 30 s and 4 h.
	FirstRetry, MaxRetry time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is failed; 15
	// (with the default pauses, the last is about a day after the first).
	MaxAttempts int
	// Sweep is how often the queue is scanned for webhooks with deliveries
	// waiting, besides the wake-ups of the projection; 1 min.
	Sweep time.Duration
}

// Dispatcher runs the workers.
type Dispatcher struct {
	cfg    Config
	log    *zap.Logger
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	workers map[uuid.UUID]chan struct{} // a running worker's wake-up (buffered, 1)
}

// Start starts the dispatcher: it wakes a worker for every webhook with deliveries
// waiting (those of before a restart too) and sweeps the queue every cfg.Sweep.
// It runs until ctx ends or Close.
func Start(ctx context.Context, cfg Config) *Dispatcher {
	if cfg.Queue == nil || cfg.Secret == nil {
		panic("hook: nil dependency")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, 10*time.Second)
	def(&cfg.FirstRetry, 30*time.Second)
	def(&cfg.MaxRetry, 4*time.Hour)
	def(&cfg.Sweep, time.Minute)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 15
	}
	d := &Dispatcher{cfg: cfg, log: cfg.Logger, client: newClient(cfg), workers: make(map[uuid.UUID]chan struct{})}
	d.ctx, d.cancel = context.WithCancel(ctx)
	d.wg.Add(1)
	go d.sweep()
	return d
}

// newClient returns the HTTP client of deliveries: no proxy from the environment
// (it would hide the receiver's address from the dial check), no redirects, and a
// dialer that refuses non-public addresses unless cfg.AllowPrivate.
func newClient(cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !webhook.PublicAddr(ap.Addr()) {
				return fmt.Errorf("address %s is not public: refused", ap.Addr())
			}
			return nil
		}
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	return &http.Client{Transport: transport, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Notify wakes the worker of webhookID, starting one if none runs. It never blocks.
func (d *Dispatcher) Notify(webhookID uuid.UUID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if wake, running := d.workers[webhookID]; running {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is pending already
		}
		return
	}
	wake := make(chan struct{}, 1)
	d.workers[webhookID] = wake
	d.wg.Add(1)
	go d.work(webhookID, wake)
}

// Close stops the workers, abandoning attempts in flight (they are made again
// after a restart), and waits for them.
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	d.client.CloseIdleConnections()
	return nil
}

func (d *Dispatcher) sweep() {
	defer d.wg.Done()
	tick := time.NewTicker(d.cfg.Sweep)
	defer tick.Stop()
	for {
		ids, err := d.cfg.Queue.Pending(d.ctx)
		if err != nil && d.ctx.Err() == nil {
			d.log.Error("webhook queue scan", zap.Error(err))
		}
		for _, id := range ids {
			d.Notify(id)
		}
		select {
		case <-d.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// work delivers webhookID's due deliveries one at a time, sleeps until the next
// falls due or a wake-up, and ends when none waits.
func (d *Dispatcher) work(id uuid.UUID, wake chan struct{}) {
	defer d.wg.Done()
	for {
		task, due, err := d.cfg.Queue.Next(d.ctx, id, time.Now())
		switch {
		case d.ctx.Err() != nil:
			return
		case err != nil:
			d.log.Error("webhook queue", logging.WebhookID(id), zap.Error(err))
			due = time.Now().Add(d.cfg.FirstRetry) // the store is failing: look again later
		case task != nil:
			d.deliver(task)
			continue
		case due.IsZero():
			if d.retire(id, wake) {
				return
			}
			continue
		}
		timer := time.NewTimer(time.Until(due))
		select {
		case <-d.ctx.Done():
			timer.Stop()
			return
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// retire ends a worker with nothing to do, unless a wake-up came meanwhile.
func (d *Dispatcher) retire(id uuid.UUID, wake chan struct{}) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-wake:
		return false
	default:
		delete(d.workers, id)
		return true
	}
}

// deliver makes one attempt and records it: one log line per attempt.
func (d *Dispatcher) deliver(t *projections.WebhookTask) {
	start := time.Now()
	status, err := d.post(t)
	if d.ctx.Err() != nil {
		return // stopping: not the receiver's fault, and not an attempt; it is made again
	}
	n := t.Delivery.Attempts + 1
	a := projections.WebhookAttempt{WebhookID: t.Delivery.WebhookID, Position: t.Delivery.Position, At: start, StatusCode: status, Delivered: err == nil}
	if err != nil {
		a.Error = err.Error()
		if n < d.cfg.MaxAttempts {
			a.Retry = time.Now().Add(d.backoff(n))
		}
	}
	fields := []zap.Field{logging.WebhookID(t.Delivery.WebhookID), logging.DeliveryID(t.Delivery.ID), logging.EventType(t.Delivery.EventType),
		logging.Position(t.Delivery.Position), logging.LockID(t.Delivery.LockID), logging.Attempt(n), logging.Status(status),
		logging.Duration(time.Since(start))}
	if rerr := d.cfg.Queue.Record(d.ctx, a); rerr != nil {
		if d.ctx.Err() == nil {
			d.log.Error("webhook attempt not recorded", append(fields, zap.Error(rerr))...)
		}
		return
	}
	switch {
	case err == nil:
		d.log.Info("webhook delivered", fields...)
	case a.Retry.IsZero():
		d.log.Error("webhook delivery failed for good", append(fields, zap.Error(err))...)
	default:
		d.log.Warn("webhook delivery failed, will retry", append(fields, zap.Time("retry_at", a.Retry.UTC()), zap.Error(err))...)
	}
}

// backoff returns the pause after the n-th failed attempt: FirstRetry doubled n-1
// times, at most MaxRetry, plus up to a tenth more at random so that receivers
// back from an outage are not hit all at once.
func (d *Dispatcher) backoff(n int) time.Duration {
	p := d.cfg.FirstRetry
	for i := 1; i < n && p < d.cfg.MaxRetry; i++ {
		p *= 2
	}
	p = min(p, d.cfg.MaxRetry)
	return p + rand.N(p/10+1)
}

// maxError bounds the error text kept in the delivery log.
const maxError = 300

// post sends one attempt; it returns the HTTP status (0 without an answer) and why
// the attempt failed, or nil for a 2xx answer.
func (d *Dispatcher) post(t *projections.WebhookTask) (int, error) {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Body))
	if err != nil {
		return 0, errors.New("the webhook's url cannot be requested")
	}
	secret := d.cfg.Secret(t.Delivery.WebhookID, t.SecretSalt)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Sleutel-Webhooks/1")
	req.Header.Set(HeaderSignature, Sign(secret, time.Now(), t.Body))
	req.Header.Set(HeaderDelivery, t.Delivery.ID.String())
	req.Header.Set(HeaderEvent, t.Delivery.EventType)
	req.Header.Set(HeaderWebhook, t.Delivery.WebhookID.String())
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, describe(err, d.cfg.Timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// describe turns a transport error into a line for the delivery log, without the
// URL (it may hold a token of the receiver's).
func describe(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no answer within %s", timeout)
	}
	msg := err.Error()
	if len(msg) > maxError {
		msg = msg[:maxError]
	}
	return errors.New(msg)
}

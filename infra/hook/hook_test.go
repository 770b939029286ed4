package hook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/hook"
	"sleutel/projections"
)

// fakeQueue is an in-memory Queue: each webhook's deliveries in order.
type fakeQueue struct {
	mu       sync.Mutex
	entries  map[uuid.UUID][]*entry
	attempts []projections.WebhookAttempt
}

type entry struct {
	task projections.WebhookTask
	due  time.Time
	done bool
}

func newQueue() *fakeQueue { return &fakeQueue{entries: map[uuid.UUID][]*entry{}} }

func (q *fakeQueue) add(webhookID uuid.UUID, url string, pos uint64) uuid.UUID {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := uuid.New()
	q.entries[webhookID] = append(q.entries[webhookID], &entry{task: projections.WebhookTask{
		Delivery: projections.DeliveryRow{ID: id, WebhookID: webhookID, EventType: "lock.frozen", Position: es.Pos(pos), Status: projections.DeliveryPending},
		URL:      url, SecretSalt: "salt", Body: []byte(`{"n":` + string(rune('0'+pos%10)) + `}`)}})
	return id
}

func (q *fakeQueue) Pending(context.Context) ([]uuid.UUID, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []uuid.UUID
	for id, es := range q.entries {
		for _, e := range es {
			if !e.done {
				out = append(out, id)
				break
			}
		}
	}
	return out, nil
}

func (q *fakeQueue) Next(_ context.Context, id uuid.UUID, now time.Time) (*projections.WebhookTask, time.Time, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var first *entry
	for _, e := range q.entries[id] {
		if !e.done && (first == nil || e.due.Before(first.due)) {
			first = e
		}
	}
	if first == nil {
		return nil, time.Time{}, nil
	}
	if now.Before(first.due) {
		return nil, first.due, nil
	}
	t := first.task
	return &t, first.due, nil
}

func (q *fakeQueue) Record(_ context.Context, a projections.WebhookAttempt) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.attempts = append(q.attempts, a)
	for _, e := range q.entries[a.WebhookID] {
		if e.task.Delivery.Position == a.Position && !e.done {
			e.task.Delivery.Attempts++
			if a.Delivered || a.Retry.IsZero() {
				e.done = true
			} else {
				e.due = a.Retry
			}
		}
	}
	return nil
}

func (q *fakeQueue) recorded() []projections.WebhookAttempt {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]projections.WebhookAttempt(nil), q.attempts...)
}

// eventually polls cond until it holds or 10 s pass: for background effects.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func secret(id uuid.UUID, salt string) string { return "whsec_" + id.String() + salt }

func start(t *testing.T, q hook.Queue, cfg hook.Config) *hook.Dispatcher {
	t.Helper()
	cfg.Queue, cfg.Secret = q, secret
	if cfg.FirstRetry == 0 {
		cfg.FirstRetry = 5 * time.Millisecond
	}
	d := hook.Start(t.Context(), cfg)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// TestSign restates the signature independently: HMAC-SHA256 over "<t>.<body>".
func TestSign(t *testing.T) {
	t.Parallel()
	at := time.Unix(1767225600, 0)
	m := hmac.New(sha256.New, []byte("whsec_x"))
	m.Write([]byte("1767225600.{}"))
	require.Equal(t, "t=1767225600,v1="+hex.EncodeToString(m.Sum(nil)), hook.Sign("whsec_x", at, []byte("{}")))
	require.NotEqual(t, hook.Sign("whsec_x", at, []byte("{}")), hook.Sign("whsec_y", at, []byte("{}")))
	require.NotEqual(t, hook.Sign("whsec_x", at, []byte("{}")), hook.Sign("whsec_x", at.Add(time.Second), []byte("{}")))
}

// TestDeliver: a delivery is POSTed with its headers and signature; 500s are
// retried with backoff until a 2xx; redirects are not followed.
func TestDeliver(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []*http.Request
	var bodies []string
	fail := 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r), append(bodies, string(b))
		switch {
		case r.URL.Path == "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case fail > 0:
			fail--
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(srv.Close)
	q := newQueue()
	hookID := uuid.New()
	delivery := q.add(hookID, srv.URL+"/in", 7)
	d := start(t, q, hook.Config{AllowPrivate: true, MaxAttempts: 5})
	d.Notify(hookID)
	eventually(t, func() bool { return len(q.recorded()) == 3 }, "two failures and a success")
	a := q.recorded()
	require.Equal(t, 500, a[0].StatusCode)
	require.Equal(t, "HTTP 500", a[0].Error)
	require.False(t, a[0].Retry.IsZero(), "retried")
	require.False(t, a[1].Retry.Before(a[1].At.Add(10*time.Millisecond)), "the second pause doubles the first (5 ms)")
	require.True(t, a[2].Delivered)
	require.Equal(t, 204, a[2].StatusCode)
	mu.Lock()
	r, body := got[2], bodies[2]
	mu.Unlock()
	require.Equal(t, http.MethodPost, r.Method)
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Equal(t, delivery.String(), r.Header.Get(hook.HeaderDelivery), "the same delivery id on every attempt")
	require.Equal(t, delivery.String(), got[0].Header.Get(hook.HeaderDelivery))
	require.Equal(t, hookID.String(), r.Header.Get(hook.HeaderWebhook))
	require.Equal(t, "lock.frozen", r.Header.Get(hook.HeaderEvent))
	sig := r.Header.Get(hook.HeaderSignature)
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	unix, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), time.Unix(unix, 0), time.Minute, "signed when sent")
	require.Equal(t, hook.Sign(secret(hookID, "salt"), time.Unix(unix, 0), []byte(body)), sig, "signed with the webhook's secret")

	moved := uuid.New()
	q.add(moved, srv.URL+"/moved", 8)
	d.Notify(moved)
	eventually(t, func() bool { return len(attemptsOf(q.recorded(), moved)) > 0 }, "the redirect is an answer")
	require.Equal(t, "HTTP 302", attemptsOf(q.recorded(), moved)[0].Error, "redirects are not followed")
}

// TestGiveUp: after MaxAttempts the delivery is failed, not retried again.
func TestGiveUp(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	t.Cleanup(srv.Close)
	q := newQueue()
	id := uuid.New()
	q.add(id, srv.URL, 1)
	d := start(t, q, hook.Config{AllowPrivate: true, MaxAttempts: 3, FirstRetry: time.Millisecond})
	d.Notify(id)
	eventually(t, func() bool { return len(q.recorded()) == 3 }, "three attempts")
	a := q.recorded()
	require.False(t, a[1].Retry.IsZero())
	require.True(t, a[2].Retry.IsZero(), "the last attempt gives up")
	pending, err := q.Pending(t.Context())
	require.NoError(t, err)
	require.Empty(t, pending)
}

// TestSSRF: without AllowPrivate no connection to a loopback address is made,
// whatever the URL says (a name resolving to it included).
func TestSSRF(t *testing.T) {
	t.Parallel()
	var reached atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) }))
	t.Cleanup(srv.Close)
	q := newQueue()
	id := uuid.New()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	q.add(id, srv.URL, 1)
	q.add(id, "http://localhost"+port+"/", 2)
	d := start(t, q, hook.Config{MaxAttempts: 1})
	d.Notify(id)
	eventually(t, func() bool { return len(q.recorded()) == 2 }, "two attempts")
	for _, a := range q.recorded() {
		require.False(t, a.Delivered)
		require.Contains(t, a.Error, "is not public: refused")
		require.Zero(t, a.StatusCode)
	}
	require.False(t, reached.Load(), "the receiver was never reached")
}

// TestSlowReceiver: a receiver that does not answer holds up only its own
// webhook; another webhook's deliveries go on.
func TestSlowReceiver(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	stuck := make(chan struct{}, 10)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stuck <- struct{}{}
		<-release
	}))
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(fast.Close)
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the slow handler return
	q := newQueue()
	slowID, fastID := uuid.New(), uuid.New()
	q.add(slowID, slow.URL, 1)
	q.add(slowID, slow.URL, 2)
	for i := range 20 {
		q.add(fastID, fast.URL, uint64(10+i))
	}
	d := start(t, q, hook.Config{AllowPrivate: true, Timeout: time.Minute})
	d.Notify(slowID)
	<-stuck // the slow receiver holds the first delivery
	d.Notify(fastID)
	eventually(t, func() bool {
		n := 0
		for _, a := range q.recorded() {
			if a.WebhookID == fastID && a.Delivered {
				n++
			}
		}
		return n == 20
	}, "the fast webhook's 20 deliveries go through while the slow receiver holds its first")
	for _, a := range q.recorded() {
		require.NotEqual(t, slowID, a.WebhookID, "the slow one is still in its first attempt")
	}
	require.NoError(t, d.Close())
	require.Empty(t, attemptsOf(q.recorded(), slowID), "an attempt cut short by Close is not recorded: it is made again after a restart")
}

func attemptsOf(as []projections.WebhookAttempt, id uuid.UUID) []projections.WebhookAttempt {
	var out []projections.WebhookAttempt
	for _, a := range as {
		if a.WebhookID == id {
			out = append(out, a)
		}
	}
	return out
}

package platform_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
	"sleutel/infra/hook"
)

// verify reports whether a Sleutel webhook request is authentic and recent.
func verify(secret, header string, body []byte, now time.Time) bool {
	var t int64
	var v1 string
	if _, err := fmt.Sscanf(header, "t=%d,v1=%s", &t, &v1); err != nil {
		return false
	}
	sig, _ := hex.DecodeString(v1)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", t, body)
	return hmac.Equal(mac.Sum(nil), sig) && now.Sub(time.Unix(t, 0)).Abs() < 5*time.Minute
}

// TestVerifyRefuses: the README's receiver check accepts what the platform signs
// and refuses another secret, a changed body, an old or future timestamp and a
// malformed header (W1).
func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	now := time.Now()
	body := []byte(`{"type":"lock.key_issued"}`)
	sig := hook.Sign("whsec_right", now, body)
	require.True(t, verify("whsec_right", sig, body, now))
	require.False(t, verify("whsec_wrong", sig, body, now), "another secret")
	require.False(t, verify("whsec_right", sig, []byte(`{"type":"lock.key_revoked"}`), now), "a changed body")
	require.False(t, verify("whsec_right", sig, body, now.Add(10*time.Minute)), "replayed later")
	require.False(t, verify("whsec_right", hook.Sign("whsec_right", now.Add(time.Hour), body), body, now), "from the future")
	for _, h := range []string{"", "v1=00", "t=abc,v1=00", sig[:len(sig)-2]} {
		require.False(t, verify("whsec_right", h, body, now), "header %q", h)
	}
}

// TestREADMEVerifiesWebhooks checks the receiver code in the README's Webhooks
// section is verify above, word for word: the tests below check every delivery
// with it (W1).
func TestREADMEVerifiesWebhooks(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	_, section, found := strings.Cut(string(readme), "\n## Webhooks\n")
	require.True(t, found, "the README has a Webhooks section")
	_, block, found := strings.Cut(section, "```go\n")
	require.True(t, found, "with Go code")
	block, _, _ = strings.Cut(block, "```")
	_, fn, found := strings.Cut(block, "\n\n")
	require.True(t, found, "imports, a blank line, then the function")
	src, err := os.ReadFile("webhooks_test.go")
	require.NoError(t, err)
	require.Contains(t, string(src), fn, "the README's verify is the one the tests use")
	require.LessOrEqual(t, strings.Count(strings.TrimSpace(fn), "\n")-2, 10, "ten lines of code, besides the comment, the signature and the closing brace")
}

// webhookConfig is the tests' webhook configuration: receivers on loopback, quick
// retries.
var webhookConfig = platform.WebhookConfig{AllowPrivate: true, FirstRetry: 20 * time.Millisecond, MaxRetry: 200 * time.Millisecond,
	MaxAttempts: 1000, Timeout: 10 * time.Second}

// childWebhooks is the webhook configuration of the platform processes the crash
// tests start.
var childWebhooks = webhookConfig

func startWebhookPlatform(t *testing.T, dir string, cfg platform.WebhookConfig) *platform.Main {
	t.Helper()
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dir, DevClock: true,
		OperatorPassword: "operator-password-1", Logger: zap.NewNop(), Out: io.Discard, Webhooks: cfg}}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// hit is one request a receiver got.
type hit struct {
	Delivery, Event, Webhook string
	Verified                 bool
	Attempt                  int // of this delivery id, from 1
	Status                   int // what the receiver answered
	Payload                  struct {
		DeliveryID string         `json:"delivery_id"`
		WebhookID  string         `json:"webhook_id"`
		EventID    string         `json:"event_id"`
		Type       string         `json:"type"`
		LockID     string         `json:"lock_id"`
		Position   string         `json:"position"`
		Data       map[string]any `json:"data"`
	}
	Raw string
}

// receiver is a webhook receiver on loopback that checks every request with the
// README's verify and answers what status says.
type receiver struct {
	url string

	mu       sync.Mutex
	secret   string
	status   func(h *hit) int
	hold     chan struct{}
	hits     []hit
	attempts map[string]int
}

// newReceiver starts a receiver answering what status says (204 when nil), each
// answer waiting for hold to close when it is not nil.
func newReceiver(t *testing.T, status func(h *hit) int, hold chan struct{}) *receiver {
	t.Helper()
	r := &receiver{attempts: map[string]int{}, status: status, hold: hold}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/sleutel"
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	h := hit{Delivery: req.Header.Get("Sleutel-Delivery"), Event: req.Header.Get("Sleutel-Event"), Webhook: req.Header.Get("Sleutel-Webhook"),
		Verified: verify(r.secret, req.Header.Get("Sleutel-Signature"), body, time.Now()), Raw: string(body)}
	_ = json.Unmarshal(body, &h.Payload)
	r.attempts[h.Delivery]++
	h.Attempt = r.attempts[h.Delivery]
	h.Status = http.StatusNoContent
	if r.status != nil {
		h.Status = r.status(&h)
	}
	r.hits = append(r.hits, h)
	hold := r.hold
	r.mu.Unlock()
	if hold != nil {
		<-hold
	}
	w.WriteHeader(h.Status)
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *receiver) all() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

// delivered returns the requests answered 2xx, by delivery id.
func (r *receiver) delivered() map[string]hit {
	out := map[string]hit{}
	for _, h := range r.all() {
		if h.Status < 300 {
			out[h.Delivery] = h
		}
	}
	return out
}

// TestWebhooks walks W1 over HTTP against a real receiver on loopback: register,
// list and get a webhook; deliveries signed and verified with the README's code,
// retried after 500s until they succeed, with the same delivery id; the delivery
// log shows the attempts and the last error; E2: an owner receives nothing of
// another's lock and a stranger cannot see or delete the webhook; bad input is
// invalid_input (E1); a deleted webhook receives nothing more.
func TestWebhooks(t *testing.T) {
	recv := newReceiver(t, func(h *hit) int {
		if h.Attempt <= 2 {
			return http.StatusInternalServerError // each delivery's first two attempts fail
		}
		return http.StatusNoContent
	}, nil)
	m := startWebhookPlatform(t, dataDir(t), webhookConfig)
	owner := newClient(t, m.URL())
	ownerID := owner.signUp("wanda")
	stranger := newClient(t, m.URL())
	stranger.signUp("xander")

	created := expect(t, owner.do("POST", "/v1/webhooks", map[string]any{"url": recv.url, "event_types": []string{"lock.key_issued", "lock.registered", "lock.key_issued"}}), 201)
	hookID, secret := created.str("id"), created.str("secret")
	recv.setSecret(secret)
	require.True(t, strings.HasPrefix(secret, "whsec_"), "the secret is shown once")
	require.Equal(t, "/v1/webhooks/"+hookID, created.Header.Get("Location"))
	require.Equal(t, []any{"lock.key_issued", "lock.registered"}, created.Body["event_types"], "sorted, no duplicates")
	require.Equal(t, map[string]any{"kind": "account", "id": ownerID}, created.Body["owner"])
	got := expect(t, owner.do("GET", "/v1/webhooks/"+hookID, nil), 200)
	require.Empty(t, got.str("secret"), "never shown again")
	require.Equal(t, recv.url, got.str("url"))
	list := expect(t, owner.do("GET", "/v1/webhooks", nil), 200)
	require.Len(t, list.Body["items"], 1)
	require.NotContains(t, string(list.Raw), secret)

	// E2: a stranger neither sees nor deletes it, and their lock's events never reach it.
	require.Empty(t, expect(t, stranger.do("GET", "/v1/webhooks", nil), 200).Body["items"])
	require.Equal(t, "not_found", stranger.do("GET", "/v1/webhooks/"+hookID, nil).code())
	require.Equal(t, "not_found", stranger.do("GET", "/v1/webhooks/"+hookID+"/deliveries", nil).code())
	require.Equal(t, "not_found", stranger.do("DELETE", "/v1/webhooks/"+hookID, nil).code())
	theirs := expect(t, stranger.do("POST", "/v1/locks", map[string]string{"serial": "WH-9001", "name": "Not yours", "time_zone": "UTC"}), 201)
	expect(t, stranger.do("POST", "/v1/locks/"+theirs.str("id")+"/keys", map[string]any{"type": "tag", "holder_name": "X", "credential": "04AA0001"}), 201)

	// E1: bad URLs and event types a webhook cannot receive.
	for _, bad := range []map[string]any{
		{"url": "ftp://example.org/x", "event_types": []string{"lock.key_issued"}},
		{"url": "https://user:pw@example.org/x", "event_types": []string{"lock.key_issued"}},
		{"url": "/relative", "event_types": []string{"lock.key_issued"}},
		{"url": "https://example.org/#x", "event_types": []string{"lock.key_issued"}},
		{"url": recv.url, "event_types": []string{"lock.no_such_thing"}},
		{"url": recv.url, "event_types": []string{"account.registered"}},
		{"url": recv.url, "event_types": []string{"webhook.registered"}},
		{"url": recv.url, "event_types": []string{}},
		{"url": recv.url},
	} {
		r := owner.do("POST", "/v1/webhooks", bad)
		require.Equal(t, 400, r.Status, "%v: %s", bad, r.Raw)
		require.Equal(t, "invalid_input", r.code())
	}

	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "WH-1001", "name": "Front", "time_zone": "UTC"}), 201)
	lockID := lock.str("id")
	key := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "tag", "holder_name": "Yara", "credential": "04BB0001"}), 201)
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/freeze", nil), 200) // not chosen

	eventually(t, func() bool { return len(recv.delivered()) == 2 }, "both deliveries succeed after two 500s each")
	for _, h := range recv.all() {
		require.True(t, h.Verified, "W1 every attempt is signed and verifies with the README's code: %+v", h)
		require.Equal(t, hookID, h.Webhook)
		require.Equal(t, lockID, h.Payload.LockID, "E2 only the owner's lock")
		require.Equal(t, h.Delivery, h.Payload.DeliveryID)
		require.Equal(t, h.Event, h.Payload.Type)
		require.NotContains(t, h.Raw, "credential_digest", "no digests leave the platform")
		require.NotContains(t, h.Raw, "device_token_digest")
	}
	require.Len(t, recv.all(), 6, "three attempts each, no more")
	var issued hit
	for _, h := range recv.delivered() {
		require.Equal(t, 3, h.Attempt, "the same delivery id on every attempt")
		if h.Event == "lock.key_issued" {
			issued = h
		}
	}
	require.Equal(t, key.str("id"), issued.Payload.Data["key_id"])

	// The receiver has the last attempt before the platform has its answer and
	// records the delivery: wait for the log to say so.
	var items []any
	eventually(t, func() bool {
		log := expect(t, owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries", nil), 200)
		items = log.Body["items"].([]any)
		for _, it := range items {
			if it.(map[string]any)["status"] != "delivered" {
				return false
			}
		}
		return len(items) == 2
	}, "the delivery log records both deliveries")
	require.Len(t, items, 2, "the delivery log")
	newest := items[0].(map[string]any)
	require.Equal(t, "lock.key_issued", newest["event_type"], "newest first")
	require.Equal(t, issued.Delivery, newest["id"])
	require.Equal(t, "delivered", newest["status"])
	require.EqualValues(t, 3, newest["attempts"])
	require.EqualValues(t, 204, newest["last_status_code"])
	require.Equal(t, "HTTP 500", newest["last_error"], "the last error stays in the log")
	require.NotEmpty(t, newest["delivered_at"])
	onlyFailed := expect(t, owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries?status=failed", nil), 200)
	require.Empty(t, onlyFailed.Body["items"])
	require.Equal(t, "invalid_input", owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries?status=lost", nil).code())
	paged := expect(t, owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries?limit=1", nil), 200)
	older := expect(t, owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries?limit=1&cursor="+paged.str("next_cursor"), nil), 200)
	require.Equal(t, "lock.registered", older.Body["items"].([]any)[0].(map[string]any)["event_type"])

	// Deleted: nothing more arrives.
	expect(t, owner.do("DELETE", "/v1/webhooks/"+hookID, nil), 204)
	require.Equal(t, "not_found", owner.do("GET", "/v1/webhooks/"+hookID, nil).code())
	require.Equal(t, "not_found", owner.do("DELETE", "/v1/webhooks/"+hookID, nil).code())
	require.Empty(t, expect(t, owner.do("GET", "/v1/webhooks", nil), 200).Body["items"])
	other := newReceiver(t, nil, nil)
	later := expect(t, owner.do("POST", "/v1/webhooks", map[string]any{"url": other.url, "event_types": []string{"lock.key_issued"}}), 201)
	other.setSecret(later.str("secret"))
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "tag", "holder_name": "Zoe", "credential": "04BB0002"}), 201)
	eventually(t, func() bool { return len(other.delivered()) == 1 }, "the new webhook gets the new key")
	require.Len(t, recv.all(), 6, "the deleted webhook got nothing more")
	require.False(t, strings.Contains(fmt.Sprint(other.all()), theirs.str("id")), "E2")
}

// TestWebhookSlowReceiver: a receiver that does not answer delays neither
// another webhook nor a command (W1).
func TestWebhookSlowReceiver(t *testing.T) {
	release := make(chan struct{})
	slow, fast := newReceiver(t, nil, release), newReceiver(t, nil, nil)
	t.Cleanup(func() { close(release) }) // before the receivers close: their handlers return
	cfg := webhookConfig
	cfg.Timeout = time.Minute // the slow receiver keeps its first delivery for the whole test
	m := startWebhookPlatform(t, dataDir(t), cfg)
	owner := newClient(t, m.URL())
	owner.signUp("yusuf")
	for _, r := range []*receiver{slow, fast} {
		created := expect(t, owner.do("POST", "/v1/webhooks", map[string]any{"url": r.url, "event_types": []string{"lock.registered", "lock.key_issued"}}), 201)
		r.setSecret(created.str("secret"))
	}
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "WH-2001", "name": "Slow", "time_zone": "UTC"}), 201)
	eventually(t, func() bool { return len(slow.all()) == 1 }, "the slow receiver holds the first delivery")
	for i := range 10 {
		start := time.Now()
		expect(t, owner.do("POST", "/v1/locks/"+lock.str("id")+"/keys", map[string]any{"type": "tag", "holder_name": "K", "credential": fmt.Sprintf("04CC%04d", i)}), 201)
		require.Less(t, time.Since(start), cfg.Timeout, "a command does not wait for a receiver")
	}
	eventually(t, func() bool { return len(fast.delivered()) == 11 }, "the other webhook gets all 11 events while the slow one holds its first")
	require.Len(t, slow.all(), 1, "the slow receiver is still in its first delivery")
	for _, h := range fast.all() {
		require.True(t, h.Verified)
	}
}

// TestWebhookReminder: the reminders of L16 go by webhook too.
func TestWebhookReminder(t *testing.T) {
	recv := newReceiver(t, nil, nil)
	m := startWebhookPlatform(t, dataDir(t), webhookConfig)
	owner := newClient(t, m.URL())
	owner.signUp("zelda")
	created := expect(t, owner.do("POST", "/v1/webhooks", map[string]any{"url": recv.url, "event_types": []string{"lock.period_reminder_due"}}), 201)
	recv.setSecret(created.str("secret"))
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "WH-3001", "name": "Trial", "time_zone": "UTC"}), 201)
	expect(t, owner.do("POST", "/v1/dev/clock", map[string]string{"advance": "1560h"}), 200) // 65 days: past the 30-day reminder
	eventually(t, func() bool { return len(recv.delivered()) == 1 }, "L16 the 30-day reminder is delivered")
	for _, h := range recv.delivered() {
		require.True(t, h.Verified)
		require.Equal(t, "lock.period_reminder_due", h.Event)
		require.Equal(t, lock.str("id"), h.Payload.LockID)
		require.EqualValues(t, 30, h.Payload.Data["days_before"])
		require.Equal(t, "management", h.Payload.Data["period"])
	}
}

// TestWebhookCrash kills sleuteld with SIGKILL while deliveries wait (the
// receiver answers 500) and while events may not be enqueued yet, then restarts
// it over the same data: every key issued before the kill is delivered, with a
// valid signature, and each delivery keeps its id across the crash (W1).
func TestWebhookCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	var open sync.Mutex // guards refusing
	refusing := true
	recv := newReceiver(t, func(*hit) int {
		open.Lock()
		defer open.Unlock()
		if refusing {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}, nil)
	dir := dataDir(t)
	cmd, url := startChild(t, dir)
	owner := newClient(t, url)
	owner.signUp("crashhook")
	created := expect(t, owner.do("POST", "/v1/webhooks", map[string]any{"url": recv.url, "event_types": []string{"lock.key_issued"}}), 201)
	hookID := created.str("id")
	recv.setSecret(created.str("secret"))
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "WH-4001", "name": "Crash", "time_zone": "UTC"}), 201)
	keys := map[string]bool{}
	issue := func(i int) {
		k := expect(t, owner.do("POST", "/v1/locks/"+lock.str("id")+"/keys", map[string]any{"type": "tag", "holder_name": "K", "credential": fmt.Sprintf("04DD%04d", i)}), 201)
		keys[k.str("id")] = true
	}
	for i := range 10 {
		issue(i)
	}
	eventually(t, func() bool {
		r := expect(t, owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries?status=pending", nil), 200)
		return len(r.Body["items"].([]any)) == 10
	}, "ten deliveries wait in the queue")
	eventually(t, func() bool { return len(recv.all()) >= 10 }, "and were tried")
	for i := 10; i < 20; i++ {
		issue(i) // these may not be enqueued when the process dies
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	before := map[string]string{} // event id → delivery id, from the refused attempts
	for _, h := range recv.all() {
		before[h.Payload.EventID] = h.Delivery
	}
	open.Lock()
	refusing = false
	open.Unlock()

	_, url = startChild(t, dir)
	owner.base = url
	eventually(t, func() bool { return len(recv.delivered()) == 20 }, "every key issued before the kill is delivered after the restart")
	got := map[string]bool{}
	for _, h := range recv.delivered() {
		require.True(t, h.Verified, "the secret survives the restart: derived from the keyring")
		got[h.Payload.Data["key_id"].(string)] = true
		if id, seen := before[h.Payload.EventID]; seen {
			require.Equal(t, id, h.Delivery, "a delivery keeps its id across the crash, for receivers to deduplicate")
		}
	}
	require.Equal(t, keys, got, "no loss across a kill -9")
	log := expect(t, owner.do("GET", "/v1/webhooks/"+hookID+"/deliveries?status=delivered", nil), 200)
	require.Len(t, log.Body["items"], 20)
	stopChildren(t)
}

// webhookSession runs the webhook routes through the OpenAPI conformance check
// (TestOpenAPIConformance) on a platform with the production policy: the session's
// owner registers a webhook for a receiver that cannot be reached, so its one
// delivery stays pending with an error in the log.
func webhookSession(t *testing.T, ck *conformance, owner *client, lockID string) {
	t.Helper()
	stranger := newClient(t, owner.base)
	stranger.hc.Transport = ck
	stranger.signUp("webhook-stranger")
	ck.invalid(func() {
		require.Equal(t, "invalid_input", owner.do("POST", "/v1/webhooks", map[string]any{"url": "https://hooks.example.invalid/s", "event_types": []string{"account.registered"}}).code())
	})
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/s", "event_types": []string{"lock.frozen"}}).code(),
		"SSRF: loopback refused by default")
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/webhooks", map[string]any{"url": "http://169.254.169.254/latest", "event_types": []string{"lock.frozen"}}).code())
	created := expect(t, owner.do("POST", "/v1/webhooks", map[string]any{"url": "https://hooks.example.invalid/s", "event_types": []string{"lock.frozen", "lock.unfrozen"}}), 201)
	id := created.str("id")
	expect(t, owner.do("GET", "/v1/webhooks?limit=1", nil), 200)
	expect(t, owner.do("GET", "/v1/webhooks/"+id, nil), 200)
	require.Equal(t, "not_found", stranger.do("GET", "/v1/webhooks/"+id, nil).code())
	require.Equal(t, "not_found", stranger.do("DELETE", "/v1/webhooks/"+id, nil).code())
	require.Equal(t, "not_found", stranger.do("GET", "/v1/webhooks/"+id+"/deliveries", nil).code())
	ck.invalid(func() {
		require.Equal(t, "invalid_input", owner.do("GET", "/v1/webhooks/"+id+"/deliveries?status=lost", nil).code())
	})
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/freeze", nil), 200)
	eventually(t, func() bool {
		r := expect(t, owner.do("GET", "/v1/webhooks/"+id+"/deliveries", nil), 200)
		items := r.Body["items"].([]any)
		return len(items) == 1 && items[0].(map[string]any)["last_error"] != nil
	}, "the delivery is tried and its error logged")
	expect(t, owner.do("DELETE", "/v1/webhooks/"+id, nil), 204)
}

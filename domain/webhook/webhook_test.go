package webhook_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/webhook"
)

var (
	t0      = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	owner   = webhook.AccountOwner(uuid.MustParse("01936b2a-0000-7000-8000-0000000000a1"))
	other   = webhook.AccountOwner(uuid.MustParse("01936b2a-0000-7000-8000-0000000000b2"))
	hookA   = uuid.MustParse("01936b2a-0000-7000-8000-00000000f001")
	hookB   = uuid.MustParse("01936b2a-0000-7000-8000-00000000f002")
	public  = webhook.URLPolicy{}
	types   = []string{"lock.key_issued", "lock.period_reminder_due"}
	sorted  = []string{"lock.key_issued", "lock.period_reminder_due"}
	receive = "https://hooks.example.org/sleutel"
)

func registered(id uuid.UUID) webhook.Registered {
	return webhook.Registered{WebhookID: id, Owner: owner, URL: receive, EventTypes: sorted, SecretSalt: "salt-" + id.String()[34:], RegisteredAt: t0}
}

type step func(*webhook.Set) error

func register(id uuid.UUID, o webhook.Owner, u string, ts []string, p webhook.URLPolicy) step {
	return func(s *webhook.Set) error {
		return s.Register(id, o, u, ts, "salt-"+id.String()[34:], p, t0)
	}
}

func del(id uuid.UUID) step {
	return func(s *webhook.Set) error { return s.Delete(id, t0.Add(time.Hour)) }
}

// TestSet covers W1's registration and deletion, given events, when a command,
// then events or an error code.
func TestSet(t *testing.T) {
	t.Parallel()
	full := make([]es.Event, 0, webhook.MaxWebhooks)
	for range webhook.MaxWebhooks {
		full = append(full, registered(uuid.Must(uuid.NewV7())))
	}
	cases := []struct {
		name    string
		given   []es.Event
		when    step
		then    []es.Event
		wantErr string
	}{
		{"W1 an owner registers a webhook; types are sorted and deduplicated", nil,
			register(hookA, owner, " "+receive+" ", []string{"lock.period_reminder_due", "lock.key_issued", "lock.key_issued"}, public),
			[]es.Event{registered(hookA)}, ""},
		{"a second webhook", []es.Event{registered(hookA)}, register(hookB, owner, receive, types, public),
			[]es.Event{registered(hookB)}, ""},
		{"an id is never used twice", []es.Event{registered(hookA), webhook.Deleted{WebhookID: hookA, DeletedAt: t0}},
			register(hookA, owner, receive, types, public), nil, domain.EConflict},
		{"one set, one owner", []es.Event{registered(hookA)}, register(hookB, other, receive, types, public), nil, domain.EInvalid},
		{"at most MaxWebhooks", full, register(hookB, owner, receive, types, public), nil, domain.EConflict},
		{"E1 no event types", nil, register(hookA, owner, receive, nil, public), nil, domain.EInvalid},
		{"E1 a malformed event type", nil, register(hookA, owner, receive, []string{"Lock Issued"}, public), nil, domain.EInvalid},
		{"E1 a bad URL", nil, register(hookA, owner, "ftp://example.org/x", types, public), nil, domain.EInvalid},
		{"SSRF loopback refused by default", nil, register(hookA, owner, "http://127.0.0.1:8080/hook", types, public), nil, domain.EInvalid},
		{"loopback allowed when the policy says so", nil, register(hookA, owner, "http://127.0.0.1:8080/hook", types, webhook.URLPolicy{AllowPrivate: true}),
			[]es.Event{webhook.Registered{WebhookID: hookA, Owner: owner, URL: "http://127.0.0.1:8080/hook", EventTypes: sorted, SecretSalt: "salt-" + hookA.String()[34:], RegisteredAt: t0}}, ""},
		{"W1 the owner deletes a webhook", []es.Event{registered(hookA), registered(hookB)}, del(hookA),
			[]es.Event{webhook.Deleted{WebhookID: hookA, DeletedAt: t0.Add(time.Hour)}}, ""},
		{"deleting twice is not found", []es.Event{registered(hookA), webhook.Deleted{WebhookID: hookA, DeletedAt: t0}}, del(hookA), nil, domain.ENotFound},
		{"E2 a webhook not in the set is not found", []es.Event{registered(hookA)}, del(hookB), nil, domain.ENotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := webhook.Rehydrate(c.given)                                     // given
			err := c.when(s)                                                    // when
			require.Equal(t, c.wantErr, domain.ErrorCode(err), "error %v", err) // then
			require.Equal(t, c.then, s.Changes())
		})
	}
}

func TestSet_State(t *testing.T) {
	t.Parallel()
	s := webhook.Rehydrate([]es.Event{registered(hookA), registered(hookB), webhook.Deleted{WebhookID: hookA, DeletedAt: t0}})
	require.Equal(t, uint64(3), s.Version())
	require.Equal(t, 1, s.Len())
	_, ok := s.Webhook(hookA)
	require.False(t, ok, "a deleted webhook is gone")
	w, ok := s.Webhook(hookB)
	require.True(t, ok)
	require.Equal(t, receive, w.URL)
	require.Equal(t, owner, w.Owner)
	require.Equal(t, "webhooks-"+owner.ID.String(), webhook.Stream(owner))
}

// TestURLPolicy documents what a webhook URL may be (W1, E1) and the SSRF stance.
func TestURLPolicy(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		"https://hooks.example.org/sleutel", "http://hooks.example.org:8080/a?b=c", "HTTPS://Example.org",
		"https://93.184.216.34/hook", "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
	} {
		_, err := public.CheckURL(ok)
		require.NoError(t, err, "CheckURL(%q)", ok)
	}
	got, err := public.CheckURL("HTTPS://Example.org/x")
	require.NoError(t, err)
	require.Equal(t, "https://Example.org/x", got, "the scheme is normalized")
	bad := []string{
		"", "example.org/hook", "/hook", "mailto:a@example.org", "file:///etc/passwd", "gopher://example.org", "javascript:alert(1)",
		"https://user:pass@example.org/", "https://token@example.org/", "https://example.org/#frag", "https://", "http:///path",
		"https://example.org:0/", "https://example.org:99999/", "https://example.org:/", "https://exa mple.org/", "https://example.org/\x00x",
		"https://" + strings.Repeat("a", webhook.MaxURL) + ".org/",
		// SSRF: loopback, private, link-local (cloud metadata), unspecified, mapped and translated forms.
		"http://localhost/", "http://LOCALHOST.:80/", "http://api.localhost/", "http://127.0.0.1/", "http://127.1.2.3:9000/",
		"http://[::1]/", "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/",
		"http://0.0.0.0/", "http://[::]/", "http://[::ffff:127.0.0.1]/", "http://[fd00::1]/", "http://[fe80::1]/", "http://100.64.0.1/",
		"http://[64:ff9b::a00:1]/", "http://224.0.0.1/",
	}
	for _, b := range bad {
		_, err := public.CheckURL(b)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "CheckURL(%q) = %v, want invalid_input", b, err)
	}
	private := webhook.URLPolicy{AllowPrivate: true}
	for _, ok := range []string{"http://127.0.0.1:8080/x", "http://localhost:9/", "http://[::1]:80/"} {
		_, err := private.CheckURL(ok)
		require.NoError(t, err, "AllowPrivate: CheckURL(%q)", ok)
	}
	_, err = private.CheckURL("https://u:p@127.0.0.1/")
	require.Error(t, err, "credentials are refused whatever the policy")
}

func TestPublicAddr(t *testing.T) {
	t.Parallel()
	for _, a := range []string{"93.184.216.34", "8.8.8.8", "2606:4700::1111"} {
		require.True(t, webhook.PublicAddr(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3", "192.168.0.1", "172.31.0.1", "169.254.169.254", "fe80::1", "fc00::1",
		"0.0.0.0", "::", "::ffff:10.0.0.1", "100.100.100.100", "255.255.255.255", "ff02::1", "2002:7f00:1::1", "198.18.0.1"} {
		require.False(t, webhook.PublicAddr(netip.MustParseAddr(a)), a)
	}
	require.False(t, webhook.PublicAddr(netip.Addr{}))
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.org/x", "http://127.0.0.1", "https://u@h", "x", "http://[::1]:0/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := webhook.URLPolicy{}.CheckURL(raw)
		if err != nil {
			require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
			return
		}
		again, err := webhook.URLPolicy{}.CheckURL(u)
		require.NoError(t, err, "a normalized URL stays valid: %q", u)
		require.Equal(t, u, again)
	})
}

// TestEvents_DecodeSamples decodes every stored sample payload and writes it back
// unchanged (STYLE §2). Every registered type needs a sample.
func TestEvents_DecodeSamples(t *testing.T) {
	t.Parallel()
	r := es.NewRegistry()
	webhook.RegisterEvents(r)
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var sample struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(raw, &sample), f)
		e, err := r.Decode(sample.Type, sample.Data)
		require.NoError(t, err, f)
		again, err := json.Marshal(e)
		require.NoError(t, err, f)
		require.JSONEq(t, string(sample.Data), string(again), f)
		require.NotContains(t, string(sample.Data), "whsec_", "STYLE §2 no secret in a payload")
		seen[sample.Type] = true
	}
	require.Len(t, seen, r.Types())
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
	"sleutel/commands"
	"sleutel/domain/lock"
)

type apiBenchConfig struct {
	duration   time.Duration
	locks      int
	clients    int
	dir        string
	cpuprofile string   // file prefix; one profile per measurement when set
	trace      string   // file prefix; one execution trace per measurement when set
	scale      apiScale // defaultAPIScale when zero
	log        io.Writer
}

// The goals of the API benchmark on a 2-core machine, load generator included.
const (
	goalIssuePerS       = 5_000
	goalIssueP99us      = 20_000
	goalCheckPerS       = 20_000
	goalCheckP99us      = 2_000
	goalInProcessP99us  = 50
	goalRevokeVisibleUS = 50_000
	goalHotLockP99us    = 5_000
)

// keysProduct raises a lock's allowance from its initial 25 keys to the cap.
const keysProduct = "keys-2475"

// apiScale sizes the parts of the API benchmark that --duration does not.
type apiScale struct {
	hotKeys        int // active keys on the hot lock
	hotEvents      int // events in the hot lock's stream before timing
	inProcessCalls int // AccessIndex.Check calls the in-process loop times
	revokeSamples  int // the least number of keys revoke_visible revokes
	hotOps         int // the least number of operations hot_lock times
}

// defaultAPIScale is what `sleutel bench api` measures.
var defaultAPIScale = apiScale{hotKeys: lock.MaxActiveKeys, hotEvents: 20_000, inProcessCalls: 1_000_000,
	revokeSamples: 500, hotOps: 2_000}

// benchLock is a lock of the API benchmark and what the load generator knows of it.
type benchLock struct {
	id     string
	token  string // "Bearer …" of its owner
	device string // "Device …"
	next   atomic.Int64

	mu    sync.Mutex
	creds []benchKey // active keys whose credential the generator knows
}

type benchKey struct {
	id, typ, cred string
}

func (l *benchLock) add(k benchKey) {
	l.mu.Lock()
	l.creds = append(l.creds, k)
	l.mu.Unlock()
}

func (l *benchLock) known() []benchKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.creds
}

// benchAPI starts the platform in-process over a fresh data directory, sets up
// accounts, locks, allowances and keys, then measures the API over loopback HTTP
// and prints one JSON object a line to w.
func benchAPI(ctx context.Context, w io.Writer, cfg apiBenchConfig) error {
	if cfg.locks < 1 || cfg.clients < 1 || cfg.duration <= 0 {
		return fmt.Errorf("bench api: --locks, --clients and --duration must be positive")
	}
	if cfg.scale == (apiScale{}) {
		cfg.scale = defaultAPIScale
	}
	base, err := os.MkdirTemp(cfg.dir, "sleutel-bench-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.log, "bench api: "+format+"\n", args...) }

	password := randomHex(16)
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(base, "data"),
		OperatorPassword: password, Logger: zap.NewNop(), Out: io.Discard}}
	progress("starting the platform in %s", base)
	if err := m.Run(ctx); err != nil {
		return err
	}
	defer m.Close()

	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0, // no limit
		MaxIdleConnsPerHost: max(64, cfg.clients),
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	api := m.URL()

	// Setup: nothing here is timed.
	setupStart := time.Now()
	b := &apiBench{cfg: cfg, m: m, hc: hc, api: api, progress: progress}
	if err := b.setup(ctx, password); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	hot, err := b.setupHotLock(ctx)
	if err != nil {
		return fmt.Errorf("hot lock setup: %w", err)
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	progress("setup done in %s", time.Since(setupStart).Round(time.Millisecond))

	ceiling, err := b.measure("http_ceiling", func() (result, error) { return b.httpCeiling(ctx) })
	if err != nil {
		return fmt.Errorf("http_ceiling: %w", err)
	}
	if err := emit(w, ceiling); err != nil {
		return err
	}
	r, err := b.measure("issue_key", func() (result, error) { return b.issueKeys(ctx) })
	if err != nil {
		return fmt.Errorf("issue_key: %w", err)
	}
	if ceiling.PerS > 0 {
		r.RatioToCeiling = round(r.PerS / ceiling.PerS)
	}
	r.Note = joinNote(r.Note, goals(goal{r.PerS >= goalIssuePerS, "≥5,000/s"}, goal{r.P99us <= goalIssueP99us, "p99 ≤ 20 ms"}))
	if err := emit(w, r); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	r, err = b.measure("access_check", func() (result, error) { return b.accessChecks(ctx) })
	if err != nil {
		return fmt.Errorf("access_check: %w", err)
	}
	progress("access_check: timing %d in-process AccessIndex.Check calls", cfg.scale.inProcessCalls)
	inProc, err := b.inProcessChecks(ctx)
	if err != nil {
		return fmt.Errorf("access_check in process: %w", err)
	}
	r.InProcessP99us = inProc
	if ceiling.PerS > 0 {
		r.RatioToCeiling = round(r.PerS / ceiling.PerS)
	}
	r.Note = joinNote(r.Note, goals(goal{r.PerS >= goalCheckPerS, "≥20,000/s"},
		goal{r.P99us <= goalCheckP99us, "p99 ≤ 2 ms"}, goal{inProc <= goalInProcessP99us, "in-process p99 ≤ 50 µs"}))
	if err := emit(w, r); err != nil {
		return err
	}
	r, err = b.measure("revoke_visible", func() (result, error) { return b.revokeVisible(ctx) })
	if err != nil {
		return fmt.Errorf("revoke_visible: %w", err)
	}
	r.Note = joinNote(r.Note, goals(goal{r.P99us <= goalRevokeVisibleUS, "p99 ≤ 50 ms"}))
	if err := emit(w, r); err != nil {
		return err
	}
	if err := b.settle(ctx); err != nil {
		return err
	}
	r, err = b.measure("hot_lock", func() (result, error) { return b.hotLock(ctx, hot) })
	if err != nil {
		return fmt.Errorf("hot_lock: %w", err)
	}
	r.Note = joinNote(r.Note, goals(goal{r.P99us <= goalHotLockP99us, "p99 ≤ 5 ms"}))
	return emit(w, r)
}

// apiBench holds what the measurements share.
type apiBench struct {
	cfg      apiBenchConfig
	m        *platform.Main
	hc       *http.Client
	api      string
	progress func(string, ...any)

	locks  []*benchLock
	codes  []string // unused keys codes, one per lock and one for the hot lock
	opAuth string   // "Bearer …" of the operator
}

// measure runs one timed measurement, after a GC so that setup garbage is not
// collected on its clock, under a CPU profile when --cpuprofile is set.
func (b *apiBench) measure(name string, run func() (result, error)) (result, error) {
	b.progress("%s: running for %s", name, b.cfg.duration)
	runtime.GC()
	if b.cfg.cpuprofile != "" {
		f, err := os.Create(b.cfg.cpuprofile + "." + name + ".pprof")
		if err != nil {
			return result{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return result{}, err
		}
		defer pprof.StopCPUProfile()
	}
	if b.cfg.trace != "" {
		f, err := os.Create(b.cfg.trace + "." + name + ".trace")
		if err != nil {
			return result{}, err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return result{}, err
		}
		defer trace.Stop()
	}
	r, err := run()
	r.Name = name
	return r, err
}

// settle waits until every projection has applied the whole log, so that no
// catching up runs during a measurement.
func (b *apiBench) settle(ctx context.Context) error {
	pos, err := b.m.Events.LastPosition(ctx)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, st := range b.m.Runtime.Status() {
		if err := b.m.Runtime.WaitFor(wctx, st.Name, pos); err != nil {
			return fmt.Errorf("wait for projection %s: %w", st.Name, err)
		}
	}
	return nil
}

// client is one HTTP client of the load generator, with its own response buffer.
type client struct {
	hc  *http.Client
	buf bytes.Buffer
}

// do sends one request and returns the status and the body, which is valid until
// the next call.
func (c *client) do(ctx context.Context, method, url, auth string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	c.buf.Reset()
	_, err = c.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, c.buf.Bytes(), err
}

// call sends in as JSON, expects status want and decodes the answer into out.
func (c *client) call(ctx context.Context, method, url, auth string, in any, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	st, raw, err := c.do(ctx, method, url, auth, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	if st != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, url, st, want, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// parallel runs fn for 0 ≤ i < n on workers goroutines and returns the first error.
func (b *apiBench) parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, c *client, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &client{hc: b.hc}
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, c, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		return ctx.Err()
	}
	return first
}

// account signs up and logs in an account, returning its id and "Bearer <token>".
func (b *apiBench) account(ctx context.Context, c *client, username string) (string, string, error) {
	const password = "correct horse battery staple"
	var acc struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, "POST", b.api+"/v1/accounts", "", map[string]string{"username": username,
		"email": username + "@example.org", "password": password}, 201, &acc); err != nil {
		return "", "", err
	}
	auth, err := b.login(ctx, c, username, password)
	return acc.ID, auth, err
}

func (b *apiBench) login(ctx context.Context, c *client, username, password string) (string, error) {
	var s struct {
		Token string `json:"token"`
	}
	if err := c.call(ctx, "POST", b.api+"/v1/sessions", "", map[string]string{"username": username, "password": password}, 201, &s); err != nil {
		return "", err
	}
	return "Bearer " + s.Token, nil
}

// registerLock registers a lock and raises its allowance to the cap with a keys code.
func (b *apiBench) registerLock(ctx context.Context, c *client, auth, serial, code string) (*benchLock, error) {
	var l struct {
		ID          string `json:"id"`
		DeviceToken string `json:"device_token"`
	}
	if err := c.call(ctx, "POST", b.api+"/v1/locks", auth, map[string]string{"serial": serial, "name": "Bench " + serial,
		"time_zone": "Europe/Amsterdam"}, 201, &l); err != nil {
		return nil, err
	}
	// checkAllowance verifies the new allowance once the projections have settled.
	if err := c.call(ctx, "POST", b.api+"/v1/locks/"+l.ID+"/redemptions", auth, map[string]string{"code": code}, 200, nil); err != nil {
		return nil, err
	}
	return &benchLock{id: l.ID, token: auth, device: "Device " + l.DeviceToken}, nil
}

// checkAllowance fails unless lock l can hold the full 2,500 keys.
func (b *apiBench) checkAllowance(ctx context.Context, c *client, l *benchLock) error {
	var got struct {
		KeyAllowance int `json:"key_allowance"`
	}
	if err := c.call(ctx, "GET", b.api+"/v1/locks/"+l.id, l.token, nil, 200, &got); err != nil {
		return err
	}
	if got.KeyAllowance != lock.MaxActiveKeys {
		return fmt.Errorf("lock %s: allowance %d after %s, want %d", l.id, got.KeyAllowance, keysProduct, lock.MaxActiveKeys)
	}
	return nil
}

// setup creates the owners (one per client, at most one per lock), their locks with
// the full allowance, two keys on each lock, and loads every lock into the access
// index with one check.
func (b *apiBench) setup(ctx context.Context, operatorPassword string) error {
	c := &client{hc: b.hc}
	auth, err := b.login(ctx, c, "operator", operatorPassword)
	if err != nil {
		return err
	}
	b.opAuth = auth
	want := b.cfg.locks + 1
	b.progress("setup: the operator issues %d %s codes", want, keysProduct)
	for len(b.codes) < want {
		var out struct {
			Codes []string `json:"codes"`
		}
		n := min(commands.MaxCodesPerBatch, want-len(b.codes))
		if err := c.call(ctx, "POST", b.api+"/v1/codes", auth, map[string]any{"product": keysProduct, "count": n}, 201, &out); err != nil {
			return err
		}
		b.codes = append(b.codes, out.Codes...)
	}

	owners := min(b.cfg.clients, b.cfg.locks)
	b.progress("setup: %d owner accounts sign up and log in (argon2id: a few seconds)", owners)
	tokens := make([]string, owners)
	if err := b.parallel(ctx, owners, runtime.GOMAXPROCS(0)*2, func(ctx context.Context, c *client, i int) error {
		_, auth, err := b.account(ctx, c, fmt.Sprintf("bench-owner-%03d", i))
		tokens[i] = auth
		return err
	}); err != nil {
		return err
	}

	b.progress("setup: %d locks are registered and get %s", b.cfg.locks, keysProduct)
	b.locks = make([]*benchLock, b.cfg.locks)
	if err := b.parallel(ctx, b.cfg.locks, b.cfg.clients, func(ctx context.Context, c *client, i int) error {
		l, err := b.registerLock(ctx, c, tokens[i%owners], fmt.Sprintf("BENCH-%06d", i), b.codes[i])
		b.locks[i] = l
		return err
	}); err != nil {
		return err
	}

	if err := b.settle(ctx); err != nil {
		return err
	}
	b.progress("setup: two keys on every lock, and one access check to load each lock into the index")
	if err := b.parallel(ctx, b.cfg.locks, b.cfg.clients, func(ctx context.Context, c *client, i int) error {
		l := b.locks[i]
		if err := b.checkAllowance(ctx, c, l); err != nil {
			return err
		}
		for range 2 {
			if st, raw, err := b.issue(ctx, c, i); err != nil || st != 201 {
				return fmt.Errorf("issue a key on %s: status %d: %s: %w", l.id, st, raw, err)
			}
		}
		st, raw, err := c.do(ctx, "POST", b.api+"/v1/device/access-checks", l.device, checkBody("tag", "UNKNOWN0000"))
		if err != nil || st != 200 {
			return fmt.Errorf("access check on %s: status %d: %s: %w", l.id, st, raw, err)
		}
		return nil
	}); err != nil {
		return err
	}
	return nil
}

// issue issues the next key of lock i over HTTP: a tag with a unique UID or a code
// key with an explicit PIN unique on the lock, alternately, and remembers its
// credential when the answer is 201.
func (b *apiBench) issue(ctx context.Context, c *client, i int) (int, []byte, error) {
	l := b.locks[i]
	n := l.next.Add(1)
	k := benchKey{typ: "tag", cred: fmt.Sprintf("B%dK%d", i, n)}
	if n%2 == 1 {
		k.typ, k.cred = "code", fmt.Sprintf("%08d", n)
	}
	st, raw, err := c.do(ctx, "POST", b.api+"/v1/locks/"+l.id+"/keys", l.token, issueBody(k.typ, k.cred))
	if err == nil && st == 201 {
		if k.id = idOf(raw); k.id == "" {
			return st, raw, errors.New("no key id in the answer")
		}
		l.add(k)
	}
	return st, raw, err
}

func issueBody(typ, cred string) []byte {
	return []byte(`{"type":"` + typ + `","holder_name":"Bench holder","credential":"` + cred + `"}`)
}

func checkBody(typ, cred string) []byte {
	return []byte(`{"credential_type":"` + typ + `","credential":"` + cred + `"}`)
}

// idOf returns the "id" of a key or lock answer: its first field.
func idOf(raw []byte) string {
	const prefix = `{"id":"`
	if len(raw) >= len(prefix)+36 && bytes.HasPrefix(raw, []byte(prefix)) {
		return string(raw[len(prefix) : len(prefix)+36])
	}
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &v)
	return v.ID
}

// hotLock is the lock of the hot_lock measurement.
type hotLock struct {
	id     string
	auth   string
	active []string // key ids, oldest first
	next   int
	events uint64
}

// setupHotLock builds a lock with 2,500 active keys and at least 20,000 events
// through the command layer: issue to the cap, then change, revoke and re-issue keys.
func (b *apiBench) setupHotLock(ctx context.Context) (*hotLock, error) {
	c := &client{hc: b.hc}
	ownerID, auth, err := b.account(ctx, c, "bench-hot-owner")
	if err != nil {
		return nil, err
	}
	bl, err := b.registerLock(ctx, c, auth, "BENCH-HOT", b.codes[len(b.codes)-1])
	if err != nil {
		return nil, err
	}
	if err := b.settle(ctx); err != nil {
		return nil, err
	}
	if err := b.checkAllowance(ctx, c, bl); err != nil {
		return nil, err
	}
	owner, lockID := uuid.MustParse(ownerID), uuid.MustParse(bl.id)
	h := &hotLock{id: bl.id, auth: auth}
	meta := commands.AccountMeta(owner, "", "")
	issue := func() error {
		h.next++
		res, err := b.m.Locks.IssueKey(ctx, owner, meta, commands.IssueKey{LockID: lockID, Type: "tag",
			Credential: fmt.Sprintf("HOT%d", h.next), Terms: lock.KeyTerms{HolderName: "Hot holder"}})
		if err != nil {
			return err
		}
		h.active = append(h.active, res.KeyID.String())
		return nil
	}
	version := func() (uint64, int, error) {
		var v uint64
		var n int
		err := b.m.Locks.LockRepository().Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
			v, n = l.Version(), l.ActiveKeys()
			return nil
		})
		return v, n, err
	}
	b.progress("setup: the hot lock gets %d keys and %d events through the command layer", b.cfg.scale.hotKeys, b.cfg.scale.hotEvents)
	for len(h.active) < b.cfg.scale.hotKeys {
		if err := issue(); err != nil {
			return nil, err
		}
	}
	v, _, err := version()
	if err != nil {
		return nil, err
	}
	for i := 0; v < uint64(b.cfg.scale.hotEvents); i++ {
		// One change, then one revoke and one issue: three events, 2,500 keys kept.
		id := uuid.MustParse(h.active[i%len(h.active)])
		if _, err := b.m.Locks.ChangeKey(ctx, owner, lockID, id, meta, lock.KeyTerms{HolderName: fmt.Sprint("Hot holder ", i)}); err != nil {
			return nil, err
		}
		if _, err := b.m.Locks.RevokeKey(ctx, owner, lockID, uuid.MustParse(h.active[0]), meta); err != nil {
			return nil, err
		}
		h.active = h.active[1:]
		if err := issue(); err != nil {
			return nil, err
		}
		v += 3
	}
	v, n, err := version()
	if err != nil {
		return nil, err
	}
	if n != b.cfg.scale.hotKeys || len(h.active) != b.cfg.scale.hotKeys || v < uint64(b.cfg.scale.hotEvents) {
		return nil, fmt.Errorf("hot lock: %d events, %d active keys (%d known), want ≥ %d and %d", v, n, len(h.active), b.cfg.scale.hotEvents, b.cfg.scale.hotKeys)
	}
	h.events = v
	b.progress("setup: the hot lock's stream holds %d events, %d active keys", v, n)
	return h, nil
}

// loop is the outcome of a closed-loop run.
type loop struct {
	lat     latencies
	elapsed time.Duration
	errors  int64
	first   error
}

func (l loop) result() result {
	r := result{Ops: len(l.lat), Seconds: round(l.elapsed.Seconds()), P50us: round(l.lat.percentile(0.50)), P99us: round(l.lat.percentile(0.99))}
	if l.elapsed > 0 {
		r.PerS = round(float64(len(l.lat)) / l.elapsed.Seconds())
	}
	if l.errors > 0 {
		r.Note = fmt.Sprintf("%d errors, first: %v", l.errors, l.first)
	}
	return r
}

// closedLoop runs clients goroutines from a common start for d; each calls op in a
// loop, the next call as soon as the last has answered. An op that fails is counted
// apart and its latency is not recorded; a client stops after 100 failures.
func closedLoop(ctx context.Context, hc *http.Client, clients int, d time.Duration, op func(ctx context.Context, c *client, id, i int) error) loop {
	var (
		wg     sync.WaitGroup
		ready  sync.WaitGroup
		mu     sync.Mutex
		out    loop
		errs   atomic.Int64
		start  = make(chan struct{})
		failed sync.Once
	)
	var deadline time.Time
	for id := range clients {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			c := &client{hc: hc}
			mine := make(latencies, 0, 4096)
			ready.Done()
			<-start
			var n int64
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil && n < 100; i++ {
				t0 := time.Now()
				err := op(ctx, c, id, i)
				took := time.Since(t0)
				if err != nil {
					n++
					errs.Add(1)
					failed.Do(func() { out.first = err })
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			out.lat = append(out.lat, mine...)
			mu.Unlock()
		}()
	}
	ready.Wait()
	begin := time.Now()
	deadline = begin.Add(d)
	close(start)
	wg.Wait()
	out.elapsed = time.Since(begin)
	out.errors = errs.Load()
	return out
}

// httpCeiling measures the load generator against a server that only answers 200
// {}, with the same clients, transport and request shape as issue_key.
func (b *apiBench) httpCeiling(ctx context.Context) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}"))
	}), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/v1/locks/" + uuid.NewString() + "/keys"
	auth := "Bearer " + randomHex(32)
	l := closedLoop(ctx, b.hc, b.cfg.clients, b.cfg.duration, func(ctx context.Context, c *client, id, i int) error {
		st, _, err := c.do(ctx, "POST", url, auth, issueBody("tag", fmt.Sprintf("B%dK%d", id, i)))
		if err == nil && st != 200 {
			err = fmt.Errorf("status %d", st)
		}
		return err
	})
	return l.result(), nil
}

// clientLocks returns the locks client id issues on: its owner's locks, so that no
// two clients share a lock when there are more locks than clients.
func (b *apiBench) clientLocks(id int) []int {
	var out []int
	for i := id; i < len(b.locks); i += b.cfg.clients {
		out = append(out, i)
	}
	if len(out) == 0 {
		out = append(out, id%len(b.locks))
	}
	return out
}

// issueKeys measures issuing keys over HTTP, spread over every lock.
func (b *apiBench) issueKeys(ctx context.Context) (result, error) {
	mine := make([][]int, b.cfg.clients)
	for id := range mine {
		mine[id] = b.clientLocks(id)
	}
	l := closedLoop(ctx, b.hc, b.cfg.clients, b.cfg.duration, func(ctx context.Context, c *client, id, i int) error {
		locks := mine[id]
		st, raw, err := b.issue(ctx, c, locks[i%len(locks)])
		if err == nil && st != 201 {
			err = fmt.Errorf("status %d: %s", st, bytes.TrimSpace(raw))
		}
		return err
	})
	return l.result(), nil
}

// accessChecks measures device access checks over HTTP: three in four for a known
// active credential (allowed), one in four for an unknown one (denied).
func (b *apiBench) accessChecks(ctx context.Context) (result, error) {
	known := make([][]benchKey, len(b.locks))
	for i, l := range b.locks {
		known[i] = l.known()
	}
	var wrong atomic.Int64
	l := closedLoop(ctx, b.hc, b.cfg.clients, b.cfg.duration, func(ctx context.Context, c *client, id, i int) error {
		li := (id + i*b.cfg.clients) % len(b.locks)
		lk, ks := b.locks[li], known[li]
		body, allowed := checkBody("tag", fmt.Sprintf("UNKNOWN%d", i)), false
		if i%4 != 3 && len(ks) > 0 {
			k := ks[(i/len(b.locks)+id)%len(ks)]
			body, allowed = checkBody(k.typ, k.cred), true
		}
		st, raw, err := c.do(ctx, "POST", b.api+"/v1/device/access-checks", lk.device, body)
		if err != nil {
			return err
		}
		if st != 200 {
			return fmt.Errorf("status %d: %s", st, bytes.TrimSpace(raw))
		}
		if bytes.HasPrefix(raw, []byte(`{"allowed":true`)) != allowed {
			wrong.Add(1)
			return fmt.Errorf("answer %s, want allowed %v", bytes.TrimSpace(raw), allowed)
		}
		return nil
	})
	r := l.result()
	r.Note = joinNote(r.Note, "3 in 4 checks for a known key (allowed), 1 in 4 unknown (denied)")
	return r, nil
}

// inProcessChecks times AccessIndex.Check alone, in a tight loop on one goroutine,
// over the same mix of known and unknown credentials, and returns its p99 in µs.
func (b *apiBench) inProcessChecks(ctx context.Context) (float64, error) {
	type sample struct {
		lock    uuid.UUID
		cred    lock.Credential
		allowed bool
	}
	var samples []sample
	for i, l := range b.locks {
		id := uuid.MustParse(l.id)
		for j, k := range l.known() {
			if j == 4 {
				break
			}
			t := lock.KeyType(k.typ)
			norm, err := lock.NormalizeCredential(t, k.cred)
			if err != nil {
				return 0, err
			}
			samples = append(samples, sample{id, lock.Credential{Type: t, Digest: b.m.Secrets.CredentialDigest(id, k.typ, norm)}, true})
		}
		unknown := fmt.Sprintf("UNKNOWN%d", i)
		samples = append(samples, sample{id, lock.Credential{Type: lock.KeyTag, Digest: b.m.Secrets.CredentialDigest(id, "tag", unknown)}, false})
	}
	now := b.m.Clock.Now()
	lat := make(latencies, b.cfg.scale.inProcessCalls)
	runtime.GC()
	for i := range lat {
		s := &samples[i%len(samples)]
		t0 := time.Now()
		d, err := b.m.Access.Check(ctx, s.lock, s.cred, now)
		lat[i] = time.Since(t0)
		if err != nil {
			return 0, err
		}
		if d.Allowed != s.allowed {
			return 0, fmt.Errorf("check on %s: allowed %v (%s), want %v", s.lock, d.Allowed, d.Reason, s.allowed)
		}
	}
	return round(lat.percentile(0.99)), nil
}

// revokeVisible revokes known keys one at a time from one client and, after each
// 204, polls an access check for the key until it is denied: the time from the
// 204 to the denial.
func (b *apiBench) revokeVisible(ctx context.Context) (result, error) {
	type target struct {
		lock *benchLock
		key  benchKey
	}
	var targets []target
	known := make([][]benchKey, len(b.locks))
	for i, l := range b.locks {
		known[i] = l.known()
	}
	for r := 0; ; r++ {
		added := false
		for i, l := range b.locks {
			if r < len(known[i]) {
				targets = append(targets, target{l, known[i][r]})
				added = true
			}
		}
		if !added {
			break
		}
	}
	if len(targets) < b.cfg.scale.revokeSamples {
		return result{}, fmt.Errorf("only %d known keys, want %d", len(targets), b.cfg.scale.revokeSamples)
	}
	c := &client{hc: b.hc}
	var lat latencies
	firstDenied, polls := 0, 0
	start := time.Now()
	for i := 0; i < len(targets) && (i < b.cfg.scale.revokeSamples || time.Since(start) < b.cfg.duration); i++ {
		t := targets[i]
		st, raw, err := c.do(ctx, "DELETE", b.api+"/v1/locks/"+t.lock.id+"/keys/"+t.key.id, t.lock.token, nil)
		if err != nil {
			return result{}, err
		}
		if st != 204 {
			return result{}, fmt.Errorf("revoke %s: status %d: %s", t.key.id, st, bytes.TrimSpace(raw))
		}
		acked := time.Now()
		body := checkBody(t.key.typ, t.key.cred)
		for n := 1; ; n++ {
			st, raw, err := c.do(ctx, "POST", b.api+"/v1/device/access-checks", t.lock.device, body)
			if err != nil {
				return result{}, err
			}
			if st != 200 {
				return result{}, fmt.Errorf("access check: status %d: %s", st, bytes.TrimSpace(raw))
			}
			if bytes.HasPrefix(raw, []byte(`{"allowed":false`)) {
				lat = append(lat, time.Since(acked))
				polls += n
				if n == 1 {
					firstDenied++
				}
				break
			}
			if time.Since(acked) > 10*time.Second {
				return result{}, fmt.Errorf("key %s still opens 10 s after its revoke", t.key.id)
			}
		}
	}
	el := time.Since(start)
	return result{P50us: round(lat.percentile(0.5)), P99us: round(lat.percentile(0.99)), Ops: len(lat), Seconds: round(el.Seconds()),
		Note: fmt.Sprintf("one client, no other load; %d of %d denied on the first check after the 204", firstDenied, len(lat))}, nil
}

// hotLock measures revoking and issuing keys over HTTP on the hot lock from one
// client, alternately: the revoke frees the slot the issue takes.
func (b *apiBench) hotLock(ctx context.Context, h *hotLock) (result, error) {
	c := &client{hc: b.hc}
	var all, issues, revokes latencies
	start := time.Now()
	for i := 0; i < b.cfg.scale.hotOps || time.Since(start) < b.cfg.duration; i++ {
		t0 := time.Now()
		if i%2 == 0 {
			st, raw, err := c.do(ctx, "DELETE", b.api+"/v1/locks/"+h.id+"/keys/"+h.active[0], h.auth, nil)
			if err != nil {
				return result{}, err
			}
			if st != 204 {
				return result{}, fmt.Errorf("revoke: status %d: %s", st, bytes.TrimSpace(raw))
			}
			h.active = h.active[1:]
			revokes = append(revokes, time.Since(t0))
		} else {
			h.next++
			st, raw, err := c.do(ctx, "POST", b.api+"/v1/locks/"+h.id+"/keys", h.auth, issueBody("tag", fmt.Sprintf("HOT%d", h.next)))
			if err != nil {
				return result{}, err
			}
			if st != 201 {
				return result{}, fmt.Errorf("issue: status %d: %s", st, bytes.TrimSpace(raw))
			}
			h.active = append(h.active, idOf(raw))
			issues = append(issues, time.Since(t0))
		}
		all = append(all, time.Since(t0))
	}
	el := time.Since(start)
	return result{PerS: round(float64(len(all)) / el.Seconds()), P50us: round(all.percentile(0.5)), P99us: round(all.percentile(0.99)),
		Ops: len(all), Seconds: round(el.Seconds()),
		Note: fmt.Sprintf("one client on a lock of %d keys and %d events before timing; issue p50/p99 %v/%v µs, revoke p50/p99 %v/%v µs",
			b.cfg.scale.hotKeys, h.events, round(issues.percentile(0.5)), round(issues.percentile(0.99)), round(revokes.percentile(0.5)), round(revokes.percentile(0.99)))}, nil
}

// goal is one target of the benchmark and whether a run met it.
type goal struct {
	met  bool
	what string
}

// goals says of each goal whether it was met.
func goals(gs ...goal) string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.what + " MISSED"
		if g.met {
			out[i] = g.what + " met"
		}
	}
	return "goals: " + strings.Join(out, ", ")
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

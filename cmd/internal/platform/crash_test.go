package platform_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
	"sleutel/infra/readstore"
)

const childEnv = "SLEUTEL_PLATFORM_CHILD_DATA"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		runChild(dir)
		return
	}
	os.Exit(m.Run())
}

// runChild serves a platform over dir until it is killed, printing its URL.
func runChild(dir string) {
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dir, OperatorPassword: "operator-password-1",
		Logger: zap.NewNop(), Out: io.Discard, Webhooks: childWebhooks}}
	if err := m.Run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("READY", m.URL())
	select {}
}

// startChild starts a platform process over dir and returns its URL.
func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	children = append(children, cmd)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if url, ok := strings.CutPrefix(lines.Text(), "READY "); ok {
			return cmd, url
		}
	}
	t.Fatalf("platform process ended before serving: %s", stderr.String())
	return nil, ""
}

// TestCrashDuringKeyIssuance kills the platform with SIGKILL while 16 clients
// issue keys, restarts it over the same data directory, and checks that every key
// that got a 201 is there, and that the read models agree with the log: rebuilt
// from position zero into a fresh directory, they are identical (SPEC H2).
func TestCrashDuringKeyIssuance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := dataDir(t)
	cmd, url := startChild(t, dir)

	owner := newClient(t, url)
	owner.signUp("crash")
	var locks []string
	for i := range 8 {
		r := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": fmt.Sprintf("CR-%03d", i), "name": "Door", "time_zone": "UTC"}), 201)
		locks = append(locks, r.str("id"))
	}

	type acked struct{ lock, key string }
	var (
		mu     sync.Mutex
		got    []acked
		wg     sync.WaitGroup
		enough = make(chan struct{})
		once   sync.Once
	)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &client{t: t, base: url, token: owner.token, hc: owner.hc}
			for i := 0; ; i++ {
				lockID := locks[(w+i)%len(locks)]
				resp, err := c.try("POST", "/v1/locks/"+lockID+"/keys", fmt.Sprintf(`{"type":"tag","holder_name":"w%d","credential":"TG%02d%05d"}`, w, w, i))
				if err != nil {
					return // the server is gone
				}
				if resp.Status == 201 {
					mu.Lock()
					got = append(got, acked{lockID, resp.str("id")})
					if len(got) == 80 {
						once.Do(func() { close(enough) })
					}
					mu.Unlock()
				} else if resp.code() != "key_limit_reached" {
					t.Errorf("issue: %d %s", resp.Status, resp.Raw)
					return
				}
			}
		}()
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("not enough keys issued")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	wg.Wait()
	mu.Lock()
	acks := append([]acked(nil), got...)
	mu.Unlock()

	_, url = startChild(t, dir)
	c := &client{t: t, base: url, token: owner.token, hc: owner.hc}
	for _, a := range acks {
		r := c.do("GET", "/v1/locks/"+a.lock+"/keys/"+a.key, nil)
		require.Equal(t, 200, r.Status, "a key that got 201 is there after the crash: %s", r.Raw)
		require.Equal(t, "active", r.str("status"))
	}

	// The live read models against a rebuild from the log.
	stopChildren(t)
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dir, Logger: zap.NewNop(), Out: io.Discard}}
	require.NoError(t, m.Run(t.Context()))
	require.NoError(t, m.WaitForReadModels(t.Context(), 30*time.Second))
	fresh := filepath.Join(t.TempDir(), "replayed")
	n, err := platform.Replay(t.Context(), m.Events, fresh)
	require.NoError(t, err)
	require.Positive(t, n)
	live := m.Read
	replayed, err := readstore.Open(fresh)
	require.NoError(t, err)
	defer replayed.Close()
	diff, err := platform.CompareReadModels(t.Context(), live, replayed)
	require.NoError(t, err)
	require.Empty(t, diff, "H2 the live read models equal a rebuild from the log")
	require.NoError(t, m.Close())
}

// stopChildren kills the processes started so far (their cleanups run again harmlessly).
func stopChildren(t *testing.T) {
	t.Helper()
	for _, p := range children {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	children = nil
}

var children []*exec.Cmd

// try is do without failing the test on a transport error (the server may be dead).
func (c *client) try(method, path, body string) (response, error) {
	req, err := newRequest(c.t.Context(), method, c.base+path, body)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	return decodeResponse(resp)
}

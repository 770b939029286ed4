package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
)

// startPlatform runs a real platform on a loopback port over dir.
func startPlatform(t *testing.T, dir string) *platform.Main {
	t.Helper()
	m := &platform.Main{Config: platform.Config{Addr: "127.0.0.1:0", DataDir: dir, DevClock: true,
		OperatorPassword: "operator-password-1", Logger: zap.NewNop(), Out: io.Discard}}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// client speaks to the API as a user would.
type client struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

func newClient(t *testing.T, base string) *client {
	return &client{t: t, base: base, hc: &http.Client{Timeout: 30 * time.Second}}
}

// response is a decoded answer.
type response struct {
	Status int
	Body   map[string]any
	Raw    []byte
	Header http.Header
}

// code returns the error code of an error answer.
func (r response) code() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r response) str(k string) string {
	s, _ := r.Body[k].(string)
	return s
}

func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(c.t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	require.NoError(c.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	out, err := decodeResponse(resp)
	require.NoError(c.t, err, "%s %s", method, path)
	if resp.StatusCode >= 400 {
		require.NotEmpty(c.t, out.code(), "%s %s → %d without an error code: %s", method, path, resp.StatusCode, out.Raw)
	}
	return out
}

func newRequest(ctx context.Context, method, url, body string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err == nil && body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

func decodeResponse(resp *http.Response) (response, error) {
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	out := response{Status: resp.StatusCode, Raw: raw, Header: resp.Header}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			return out, fmt.Errorf("body %s: %w", raw, err)
		}
	}
	return out, nil
}

// expect fails unless r has status.
func expect(t *testing.T, r response, status int) response {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Raw)
	return r
}

// signUp creates an account and logs in; the client then acts as it.
func (c *client) signUp(username string) string {
	c.t.Helper()
	r := expect(c.t, c.do("POST", "/v1/accounts", map[string]string{"username": username, "email": username + "@example.org", "password": "correct horse battery"}), 201)
	c.login(username, "correct horse battery")
	return r.str("id")
}

func (c *client) login(username, password string) {
	c.t.Helper()
	r := expect(c.t, c.do("POST", "/v1/sessions", map[string]string{"username": username, "password": password}), 201)
	c.token = "Bearer " + r.str("token")
}

func dataDir(t *testing.T) string { return filepath.Join(t.TempDir(), "data") }

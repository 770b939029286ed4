package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBenchAPI runs the API benchmark at a tiny scale: every measurement runs,
// checks its answers and prints one line with its figures.
func TestBenchAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a platform and hashes passwords for a few seconds")
	}
	var out bytes.Buffer
	cfg := apiBenchConfig{duration: 200 * time.Millisecond, locks: 5, clients: 3, dir: t.TempDir(), log: io.Discard,
		scale: apiScale{hotKeys: 30, hotEvents: 100, inProcessCalls: 1000, revokeSamples: 5, hotOps: 20}}
	require.NoError(t, benchAPI(t.Context(), &out, cfg))

	var names []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r result
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %s", sc.Bytes())
		require.NotZero(t, r.CPUs, "line %s", sc.Bytes())
		require.NotContains(t, r.Note, "errors", "line %s", sc.Bytes())
		switch r.Name {
		case "http_ceiling", "issue_key", "access_check", "hot_lock":
			require.Positive(t, r.PerS, "line %s", sc.Bytes())
		}
		require.Positive(t, r.P99us, "line %s", sc.Bytes())
		if r.Name == "access_check" {
			require.Positive(t, r.InProcessP99us, "line %s", sc.Bytes())
		}
		names = append(names, r.Name)
	}
	require.Equal(t, []string{"http_ceiling", "issue_key", "access_check", "revoke_visible", "hot_lock"}, names)
}

package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchAuditSmall runs bench audit on a small history: every measurement
// prints its line, replay with what it cost in memory, and fresh_page first.
func TestBenchAuditSmall(t *testing.T) {
	var out bytes.Buffer
	cfg := auditBenchConfig{events: 6_000, locks: 20, hotKeys: 40, hotEvents: 400, samples: 20, dir: t.TempDir()}
	require.NoError(t, benchAudit(t.Context(), &out, cfg))
	lines := map[string]map[string]any{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var line map[string]any
		require.NoError(t, dec.Decode(&line))
		lines[line["name"].(string)] = line
	}
	for _, name := range []string{"generate", "fresh_page", "fresh_huge_page", "read_all", "verify", "replay", "as_of", "export", "export_verify"} {
		require.Contains(t, lines, name)
	}
	replay := lines["replay"]
	require.Greater(t, replay["events"], 5_000.0)
	require.Greater(t, replay["alloc_mb"], 0.0)
	require.Greater(t, replay["max_rss_mb"], 0.0)
	if page, ok := lines["fresh_page"]["us_per_page"]; ok {
		require.Greater(t, page, 0.0)
	}
	require.Greater(t, lines["as_of"]["p99_us"], 0.0)
}

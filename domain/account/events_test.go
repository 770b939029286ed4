package account_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain/account"
	"sleutel/domain/es"
)

// TestEvents_DecodeSamples decodes every stored sample payload through a Registry
// and writes it back unchanged (STYLE §2): a renamed tag or type breaks this test,
// not the history. Every registered type needs at least one sample.
func TestEvents_DecodeSamples(t *testing.T) {
	t.Parallel()
	r := es.NewRegistry()
	account.RegisterEvents(r)
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
		require.Equal(t, sample.Type, e.EventType(), f)
		again, err := json.Marshal(e)
		require.NoError(t, err, f)
		require.JSONEq(t, string(sample.Data), string(again), "%s: decoding and encoding changed the payload", f)
		seen[sample.Type] = true
	}
	require.Len(t, seen, r.Types(), "every registered event type has a sample in testdata/events")
}

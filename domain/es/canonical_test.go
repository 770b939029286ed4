package es_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// TestCanonicalStringOf: the value as String reads it, the known constant itself
// (no allocation) when it is one, and a refusal where String refuses.
func TestCanonicalStringOf(t *testing.T) {
	known := []string{"battery", "tamper"}
	read := func(raw string) (string, bool) {
		c := es.NewCanonical([]byte(raw))
		c.Need("type")
		s := c.StringOf(known)
		return s, c.End()
	}
	for raw, want := range map[string]string{
		`{"type":"tamper"}`:  "tamper",
		`{"type":"other"}`:   "other",
		`{"type":""}`:        "",
		`{"type":"tamper "}`: "tamper ",
	} {
		got, ok := read(raw)
		require.True(t, ok, raw)
		require.Equal(t, want, got, raw)
	}
	_, ok := read(`{"type":"tam\u0070er"}`) // an escape: left to json.Unmarshal
	require.False(t, ok)
	_, ok = read(`{"type":7}`)
	require.False(t, ok)
	raw := []byte(`{"type":"battery"}`)
	allocs := testing.AllocsPerRun(100, func() {
		c := es.NewCanonical(raw)
		c.Need("type")
		if c.StringOf(known) != "battery" {
			t.Fatal("not read")
		}
	})
	require.Zero(t, allocs, "a known value is not allocated")
}

package projections

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// plainEntry is LogEntry without its MarshalJSON, for encoding/json's reference output.
type plainEntry LogEntry

func TestLogEntryJSON(t *testing.T) {
	t.Parallel()
	k := uuid.New()
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321, time.UTC)
	for _, e := range []LogEntry{
		{Position: es.Pos(42), Type: "lock.key_issued", OccurredAt: at, RecordedAt: at.Add(time.Second), Actor: "account:x", KeyID: &k, Details: json.RawMessage(`{"a":1,"b":[true,null,"x"]}`)},
		{Position: es.Position{Commit: 10, Prepare: 30}, Type: "report.recorded", OccurredAt: at, RecordedAt: at, Details: json.RawMessage(`{ "spaced" : "a <b> & c", "é":"ü" }`)},
		{Position: es.Pos(1), Type: "x", Actor: "weird \"actor\" \\ <&> \u2028 \x01 \xff é", Details: nil},
	} {
		got, err := json.Marshal(e)
		require.NoError(t, err)
		want, err := json.Marshal(plainEntry(e))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "<>&", "\u2028\u2029", "\xff\xfe", "é日本\x00\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)))
	})
}

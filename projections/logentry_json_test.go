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
		// Copied as they are: a space inside a string, other characters, invalid UTF-8.
		{Position: es.Pos(2), Type: "x", Details: json.RawMessage("{\"holder\":\"Jörg de Vries \\\" \\\\\",\"日本\":[\"\xff\"]}")},
		// Escaped by encoding/json: U+2028 and U+2029, and a space outside a string.
		{Position: es.Pos(3), Type: "x", Details: json.RawMessage("{\"a\":\"x\u2028y\u2029\"}")},
		{Position: es.Pos(4), Type: "x", Details: json.RawMessage("{\"a\":\"\xe2\x80\"}\n")},
	} {
		requireLogEntryJSON(t, e)
	}
}

// requireLogEntryJSON checks every way a log entry is encoded against
// encoding/json's output for the same struct without methods.
func requireLogEntryJSON(t *testing.T, e LogEntry) {
	t.Helper()
	want, err := json.Marshal(plainEntry(e))
	require.NoError(t, err)
	got, err := json.Marshal(e)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got))
	got, err = e.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "MarshalJSON as is (AppendJSON skips encoding/json's compaction)")
	got, err = AppendJSON([]byte("prefix"), &e)
	require.NoError(t, err)
	require.Equal(t, "prefix"+string(want), string(got))
}

// FuzzLogEntryJSON holds LogEntry's encoder to encoding/json for any actor, type
// and valid JSON details (a stored payload is always valid JSON).
func FuzzLogEntryJSON(f *testing.F) {
	f.Add("account:x", "lock.key_issued", `{"a":1,"b":[true,null,"x"]}`, int64(0), true)
	f.Add("weird \"actor\" <&>", "report.recorded", `{ "spaced" : "a <b> & c", "é":"ü\u2028" }`, int64(1e18), false)
	f.Add("", "x", ``, int64(-1), false)
	f.Add("\xff", "\u2029", `"\ud800"`, int64(5), true)
	f.Fuzz(func(t *testing.T, actor, typ, details string, nanos int64, withKey bool) {
		if details != "" && !json.Valid([]byte(details)) {
			t.Skip()
		}
		at := time.Unix(0, nanos).UTC()
		e := LogEntry{Position: es.Position{Commit: uint64(nanos), Prepare: uint64(len(actor))}, Type: typ, OccurredAt: at,
			RecordedAt: at.Add(time.Duration(len(details))), Actor: actor}
		if details != "" { // empty but not nil is no JSON at all: encoding/json refuses it
			e.Details = json.RawMessage(details)
		}
		if withKey {
			k := uuid.NewSHA1(uuid.NameSpaceOID, []byte(actor))
			e.KeyID = &k
		}
		requireLogEntryJSON(t, e)
	})
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

// BenchmarkLogEntryJSON encodes the lock-log entry of a device report, three
// quarters of a replay's entries.
func BenchmarkLogEntryJSON(b *testing.B) {
	k := uuid.New()
	at := time.Date(2025, 1, 18, 14, 35, 17, 0, time.UTC)
	e := LogEntry{Position: es.Pos(199_999), Type: "report.recorded", OccurredAt: at, RecordedAt: at.Add(8 * time.Minute),
		Actor: "device:01a23544-ea95-7eaf-a3c6-9a5fd1dcba09", KeyID: &k,
		Details: json.RawMessage(`{"report_id":"r27","lock_id":"01a23544-ea95-7eaf-a3c6-9a5fd1dcba09","type":"battery","occurred_at":"2025-01-18T14:35:17Z","recorded_at":"2025-01-18T14:38:17Z","battery_percent":28}`)}
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = e.appendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

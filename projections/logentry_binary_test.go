package projections

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// TestLogEntryBinary: an entry read back from its stored form is the entry that
// was stored, as the API serves it (the same JSON) and as the filters read it (the
// same instants): times in UTC, in a zone east or west of it and zero, with and
// without a key, with and without details (L14).
func TestLogEntryBinary(t *testing.T) {
	t.Parallel()
	k := uuid.New()
	amsterdam, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321, time.UTC)
	for _, e := range []LogEntry{
		{Position: es.Pos(42), Type: "lock.key_issued", OccurredAt: at, RecordedAt: at.Add(time.Second), Actor: "account:x", KeyID: &k, Details: json.RawMessage(`{"a":1}`)},
		{Position: es.Position{Commit: 1<<64 - 1, Prepare: 1<<64 - 1}, Type: "report.recorded", OccurredAt: at.In(amsterdam), RecordedAt: at.In(time.FixedZone("", -9*3600-30*60)),
			Details: json.RawMessage(`{ "spaced" : "a <b> & c", "é":"ü" }`)},
		{Position: es.Position{Commit: 10, Prepare: 30}, Type: "", Actor: "weird \"actor\" \xff", Details: nil},
		{Position: es.Pos(1), Type: "x", OccurredAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), RecordedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	} {
		raw := e.appendBinary([]byte("prefix"))[len("prefix"):]
		got, err := decodeLogEntry(raw)
		require.NoError(t, err)
		wantJSON, err := json.Marshal(e)
		require.NoError(t, err)
		gotJSON, err := json.Marshal(got)
		require.NoError(t, err)
		require.Equal(t, string(wantJSON), string(gotJSON))
		require.True(t, e.OccurredAt.Equal(got.OccurredAt) && e.RecordedAt.Equal(got.RecordedAt))
		require.Equal(t, e.Position, got.Position)
		require.Equal(t, e.KeyID, got.KeyID)
		if len(raw) > 0 && len(got.Details) > 0 {
			raw[len(raw)-1] = 'X'
			require.NotEqual(t, byte('X'), got.Details[len(got.Details)-1], "details are a copy of their own")
		}
	}
}

// TestLogEntryBinaryRefusesGarbage: a row that is no stored entry is an error,
// never a panic or an entry made up.
func TestLogEntryBinaryRefusesGarbage(t *testing.T) {
	t.Parallel()
	k := uuid.New()
	e := LogEntry{Position: es.Pos(7), Type: "lock.frozen", OccurredAt: time.Unix(5, 6).UTC(), RecordedAt: time.Unix(7, 8).UTC(), Actor: "a", KeyID: &k, Details: json.RawMessage(`{}`)}
	raw := e.appendBinary(nil)
	for _, bad := range [][]byte{nil, {}, {2}, raw[:1], raw[:5], raw[:len(raw)-len(e.Details)-1]} {
		_, err := decodeLogEntry(bad)
		require.ErrorIs(t, err, errBadEntry, "%q", bad)
	}
	wrongKeyFlag := append([]byte(nil), raw...)
	wrongKeyFlag[len(raw)-len(e.Details)-17] = 2
	_, err := decodeLogEntry(wrongKeyFlag)
	require.ErrorIs(t, err, errBadEntry)
}

// FuzzDecodeLogEntry: any row decodes to an entry or an error, never a panic; an
// entry it decodes encodes back to the same row.
func FuzzDecodeLogEntry(f *testing.F) {
	k := uuid.New()
	e := LogEntry{Position: es.Pos(7), Type: "lock.frozen", OccurredAt: time.Unix(5, 6).In(time.FixedZone("", 3600)), RecordedAt: time.Unix(7, 8).UTC(), Actor: "a", KeyID: &k, Details: json.RawMessage(`{}`)}
	f.Add(e.appendBinary(nil))
	e.KeyID, e.Details = nil, nil
	f.Add(e.appendBinary(nil))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeLogEntry(raw)
		if err != nil {
			return
		}
		again, err := decodeLogEntry(got.appendBinary(nil))
		require.NoError(t, err)
		require.Equal(t, got.Position, again.Position)
		require.Equal(t, got.Type, again.Type)
		require.True(t, got.OccurredAt.Equal(again.OccurredAt) && got.RecordedAt.Equal(again.RecordedAt))
		require.Equal(t, got.Actor, again.Actor)
		require.Equal(t, got.KeyID, again.KeyID)
		require.Equal(t, []byte(got.Details), []byte(again.Details))
	})
}

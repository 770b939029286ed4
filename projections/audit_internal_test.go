package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// memLog is an event log in memory.
type memLog struct {
	recs  []es.Record
	reads int
}

func (l *memLog) ReadAll(_ context.Context, after es.Position, limit int) ([]es.Record, error) {
	l.reads++
	var out []es.Record
	for _, r := range l.recs {
		if after.Less(r.Position) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *memLog) ReadStream(_ context.Context, stream string, from uint64, limit int) ([]es.Record, error) {
	l.reads++
	var out []es.Record
	for _, r := range l.recs {
		if r.Stream == stream && r.Revision >= from && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// twoStreams returns a log of n events alternating between streams a and b, each
// by its own actor, recorded a second apart.
func twoStreams(n int) (log *memLog, a, b string) {
	a, b = es.StreamName("lock", uuid.New()), es.StreamName("lockreport", uuid.New())
	log = &memLog{}
	t0 := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		s, actor := a, "account:"+a[5:]
		if i%2 == 1 {
			s, actor = b, "device:"+b[11:]
		}
		log.recs = append(log.recs, es.Record{ID: uuid.New(), Stream: s, Type: "lock.frozen", Revision: uint64(i / 2),
			Position: es.Pos(uint64(i + 1)), RecordedAt: t0.Add(time.Duration(i) * time.Second),
			Data: fmt.Appendf(nil, `{"n":%d}`, i), Metadata: es.Metadata{Actor: actor}})
	}
	return log, a, b
}

// TestAuditEvents_StreamPaging: one stream, from a scope's first position and then
// page by page from each cursor, in order and complete (SPEC H2, E2).
func TestAuditEvents_StreamPaging(t *testing.T) {
	t.Parallel()
	log, a, _ := twoStreams(2000)
	q := NewAuditQueries(log, nil, nil)
	bound := log.recs[2*300].Position // stream a's revision 300
	var got []uint64
	after := es.Start
	for range 100 {
		page, next, err := q.Events(t.Context(), EventFilter{Stream: a, FromPosition: bound}, after, 64)
		require.NoError(t, err)
		for _, e := range page {
			require.Equal(t, a, e.Stream)
			got = append(got, e.Revision)
		}
		if next.IsZero() {
			break
		}
		after = next
	}
	require.Len(t, got, 700)
	for i, rev := range got {
		require.EqualValues(t, 300+i, rev)
	}
	log.reads = 0
	_, _, err := q.Events(t.Context(), EventFilter{Stream: a}, log.recs[2*900].Position, 5)
	require.NoError(t, err)
	require.Less(t, log.reads, 30, "a deep cursor is found by binary search, not by reading the stream from its start")
}

// TestAuditEvents_ScanBudget: a filter that matches nothing still answers, a page
// at a time, with a cursor, until the log's end.
func TestAuditEvents_ScanBudget(t *testing.T) {
	t.Parallel()
	log, _, _ := twoStreams(3000)
	q := NewAuditQueries(log, nil, nil)
	q.budget = 1000
	after := es.Start
	pages := 0
	for {
		items, next, err := q.Events(t.Context(), EventFilter{Types: []string{"lock.unfrozen"}}, after, 10)
		require.NoError(t, err)
		require.Empty(t, items)
		pages++
		if next.IsZero() {
			break
		}
		after = next
	}
	require.Equal(t, 3, pages)
}

// TestRedact: secrets leave the payload and are named; a field name inside a
// string is no field; a payload that is not JSON is shown as base64.
func TestRedact(t *testing.T) {
	t.Parallel()
	out, taken := Redact([]byte(`{"username":"anna","password_hash":"$argon2id$…","roles":["auditor"]}`))
	require.Equal(t, []string{"password_hash"}, taken)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	require.Equal(t, map[string]any{"username": "anna", "roles": []any{"auditor"}}, m)
	in := []byte(`{"holder_name":"the \"password_hash\" field"}`)
	out, taken = Redact(in)
	require.Nil(t, taken)
	require.Equal(t, string(in), string(out))
	out, taken = Redact([]byte("not json"))
	require.Nil(t, taken)
	require.JSONEq(t, `{"base64":"bm90IGpzb24="}`, string(out))
}

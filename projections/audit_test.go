package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/projections"
)

// auditLog is an event log in memory.
type auditLog struct{ recs []es.Record }

func (l *auditLog) ReadAll(_ context.Context, after es.Position, limit int) ([]es.Record, error) {
	var out []es.Record
	for _, r := range l.recs {
		if after.Less(r.Position) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *auditLog) ReadStream(_ context.Context, stream string, from uint64, limit int) ([]es.Record, error) {
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
func twoStreams(n int) (log *auditLog, a, b string) {
	a, b = es.StreamName("lock", uuid.New()), es.StreamName("lockreport", uuid.New())
	log = &auditLog{}
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

// TestActorIndex: the index answers what an actor changed, in recorded order,
// between two moments, page by page; applying events again changes nothing; actors
// whose names share a prefix stay apart (SPEC H3).
func TestActorIndex(t *testing.T) {
	t.Parallel()
	kv := openKV(t)
	log, a, b := twoStreams(40)
	log.recs = append(log.recs, es.Record{ID: uuid.New(), Stream: a, Type: "lock.unfrozen", Revision: 20, Position: es.Pos(41),
		RecordedAt: log.recs[39].RecordedAt.Add(time.Second), Data: []byte(`{}`), Metadata: es.Metadata{Actor: "account:" + a[5:] + "x"}})
	p := projections.NewActorIndex(kv)
	for range 2 {
		for _, r := range log.recs {
			require.NoError(t, p.Handle(t.Context(), es.Envelope{Record: r}))
		}
	}
	q := projections.NewAuditQueries(log, kv, func(context.Context) error { return nil })
	actor := "account:" + a[5:]
	all, next, err := q.ActorChanges(t.Context(), actor, time.Time{}, time.Time{}, "", 100)
	require.NoError(t, err)
	require.Empty(t, next)
	require.Len(t, all, 20, "the look-alike actor's event is not this actor's")
	for i, e := range all {
		require.Equal(t, a, e.Stream)
		require.EqualValues(t, i, e.Revision)
	}
	since, until := log.recs[10].RecordedAt, log.recs[20].RecordedAt
	window, _, err := q.ActorChanges(t.Context(), actor, since, until, "", 100)
	require.NoError(t, err)
	require.Len(t, window, 5, "recorded at or after since, before until")
	require.Equal(t, since, window[0].RecordedAt)

	page, next, err := q.ActorChanges(t.Context(), actor, time.Time{}, time.Time{}, "", 8)
	require.NoError(t, err)
	require.Len(t, page, 8)
	rest, last, err := q.ActorChanges(t.Context(), actor, time.Time{}, time.Time{}, next, 100)
	require.NoError(t, err)
	require.Empty(t, last)
	require.Equal(t, all, append(page, rest...))
	devices, _, err := q.ActorChanges(t.Context(), "device:"+b[11:], time.Time{}, time.Time{}, "", 100)
	require.NoError(t, err)
	require.Len(t, devices, 20)
	_, _, err = q.ActorChanges(t.Context(), actor, time.Time{}, time.Time{}, "zz", 1)
	require.Error(t, err)
}

package esdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/infra/esdb"
	"sleutel/infra/esdb/esdbdouble"
	"sleutel/infra/storetest"
)

var _ storetest.Store = (*esdb.Store)(nil)

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustOpen opens a Store on connString and closes it when t ends.
func mustOpen(t *testing.T, connString string, opts esdb.Options) *esdb.Store {
	t.Helper()
	s, err := esdb.Open(ctxT(t), connString, opts)
	require.NoError(t, err, "Open(%s)", connString)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// start serves a fresh double and opens a Store on it.
func start(t *testing.T) (*esdb.Store, *esdbdouble.Double, string) {
	t.Helper()
	conn, d := esdbdouble.Start(t)
	return mustOpen(t, conn, esdb.Options{}), d, conn
}

// TestContractOverDouble runs the store contract through the adapter's real gRPC
// wire path against the protocol double (SPEC H1, H2, H4).
func TestContractOverDouble(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Subject {
		s, d, _ := start(t)
		return storetest.Subject{Store: s, Tamper: d.TamperPayload}
	})
}

// TestContractOverRealServer runs the store contract against the EventStoreDB or
// KurrentDB named by SLEUTEL_TEST_ESDB, which may hold others' events.
func TestContractOverRealServer(t *testing.T) {
	conn := os.Getenv("SLEUTEL_TEST_ESDB")
	if conn == "" {
		t.Skip("SLEUTEL_TEST_ESDB not set: no real EventStoreDB to test against")
	}
	storetest.Run(t, func(t *testing.T) storetest.Subject {
		return storetest.Subject{Store: mustOpen(t, conn, esdb.Options{}), Shared: true}
	})
}

func newStream(cat string) string { return es.StreamName(cat, uuid.Must(uuid.NewV7())) }

func event(typ string, n int) es.EventData {
	return es.EventData{
		ID:   uuid.Must(uuid.NewV7()),
		Type: typ,
		Data: []byte(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: es.Metadata{
			Actor:         es.ActorOf(es.ActorSystem, "esdbtest"),
			CorrelationID: uuid.NewString(),
			CausationID:   uuid.NewString(),
		},
	}
}

func payloadN(t *testing.T, r es.Record) int {
	t.Helper()
	var p struct{ N int }
	require.NoError(t, json.Unmarshal(r.Data, &p))
	return p.N
}

// collect receives from sub until n records arrived, checking order and Through.
func collect(t *testing.T, sub es.Subscription, n int, got []es.Record) []es.Record {
	t.Helper()
	for len(got) < n {
		b, err := sub.Recv()
		require.NoError(t, err, "Recv after %d records", len(got))
		for _, r := range b.Records {
			if len(got) > 0 {
				require.True(t, got[len(got)-1].Position.Less(r.Position), "position %s after %s", r.Position, got[len(got)-1].Position)
			}
			got = append(got, r)
		}
		if len(got) > 0 {
			require.False(t, b.Through.Less(got[len(got)-1].Position), "Through %s covers the batch", b.Through)
		}
	}
	return got
}

// TestSubscriptionResubscribesAfterDrop drops the server side of a subscription
// during catch-up and again while live: the adapter resubscribes by itself and the
// consumer sees every event once, in order.
func TestSubscriptionResubscribesAfterDrop(t *testing.T) {
	s, d, _ := start(t)
	ctx := ctxT(t)
	cat := "drop" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	stream := newStream(cat)
	other := newStream("noise")
	var evs []es.EventData
	for i := range 60 {
		evs = append(evs, event("test.happened", i))
	}
	_, err := s.Append(ctx, stream, es.NoStream(), evs...)
	require.NoError(t, err)
	_, err = s.Append(ctx, other, es.NoStream(), event("test.noise", 0))
	require.NoError(t, err)

	sub, err := s.Subscribe(ctx, es.Start, es.Filter{Categories: []string{cat}})
	require.NoError(t, err)
	defer sub.Close()

	got := collect(t, sub, 20, nil)
	require.Equal(t, 1, d.DropSubscriptions(), "one subscription open during catch-up")
	got = collect(t, sub, 60, got) // possibly all sent before the drop

	// Live: once event 60 arrived, a server subscription is surely open (the first
	// one, or the one that replaced it); drop it and go on appending.
	_, err = s.Append(ctx, stream, es.Exact(59), event("test.happened", 60))
	require.NoError(t, err)
	got = collect(t, sub, 61, got)
	require.Equal(t, 1, d.DropSubscriptions(), "one subscription open while live")
	for i := 61; i < 100; i++ {
		_, err := s.Append(ctx, stream, es.Exact(uint64(i-1)), event("test.happened", i))
		require.NoError(t, err)
	}
	got = collect(t, sub, 100, got)
	for i, r := range got {
		require.Equal(t, stream, r.Stream)
		require.Equal(t, i, payloadN(t, r), "record %d", i)
	}
	require.NoError(t, sub.Close())
	_, err = sub.Recv()
	require.ErrorIs(t, err, es.ErrClosed)
}

// TestSubscriptionFromCheckpointBetweenEvents resumes from a Through that is not an
// event's own position and still gets the next event.
func TestSubscriptionFromCheckpointBetweenEvents(t *testing.T) {
	s, _, _ := start(t)
	ctx := ctxT(t)
	stream := newStream("between")
	r1, err := s.Append(ctx, stream, es.NoStream(), event("test.happened", 0))
	require.NoError(t, err)
	_, err = s.Append(ctx, stream, es.Exact(0), event("test.happened", 1))
	require.NoError(t, err)
	// A position after event 0 but before event 1, as a checkpoint may be.
	mid := es.Position{Commit: r1.Position.Commit + 1, Prepare: 0}
	sub, err := s.Subscribe(ctx, mid, es.Filter{})
	require.NoError(t, err)
	defer sub.Close()
	got := collect(t, sub, 1, nil)
	require.Equal(t, 1, payloadN(t, got[0]), "the event after the checkpoint")
}

func TestErrorMapping(t *testing.T) {
	s, _, conn := start(t)
	ctx := ctxT(t)
	stream := newStream("errs")
	_, err := s.Append(ctx, stream, es.NoStream(), event("test.happened", 0), event("test.happened", 1))
	require.NoError(t, err)

	t.Run("server says wrong expected version", func(t *testing.T) {
		// A second store writes behind the first one's cached head, so the first
		// store's append reaches the server, which refuses it.
		other := mustOpen(t, conn, esdb.Options{})
		_, err := s.ReadStream(ctx, stream, 0, 10)
		require.NoError(t, err)
		_, err = other.Append(ctx, stream, es.Exact(1), event("test.happened", 2))
		require.NoError(t, err)
		_, err = s.Append(ctx, stream, es.Exact(1), event("test.happened", 3))
		var ce *es.ConcurrencyError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, &es.ConcurrencyError{Stream: stream, Expected: es.Exact(1), Actual: 2, Exists: true}, ce)
	})
	t.Run("no stream on an existing stream", func(t *testing.T) {
		_, err := s.Append(ctx, stream, es.NoStream(), event("test.happened", 9))
		var ce *es.ConcurrencyError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, &es.ConcurrencyError{Stream: stream, Expected: es.NoStream(), Actual: 2, Exists: true}, ce)
	})
	t.Run("exact on a missing stream", func(t *testing.T) {
		missing := newStream("errs")
		_, err := s.Append(ctx, missing, es.Exact(4), event("test.happened", 9))
		var ce *es.ConcurrencyError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, &es.ConcurrencyError{Stream: missing, Expected: es.Exact(4)}, ce)
	})
	t.Run("invalid input is invalid, not a conflict", func(t *testing.T) {
		_, err := s.Append(ctx, stream, es.Exact(2), es.EventData{ID: uuid.New(), Type: "test.happened", Data: []byte(`nope`)})
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "error %v", err)
		require.NotErrorIs(t, err, es.ErrConcurrency)
		_, err = s.Subscribe(ctx, es.Start, es.Filter{Categories: []string{"a"}, EventTypes: []string{"b"}})
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "error %v", err)
	})
	t.Run("over the maximum append size", func(t *testing.T) {
		conn2, d2 := esdbdouble.Start(t)
		d2.SetMaxAppendSize(16)
		st := mustOpen(t, conn2, esdb.Options{})
		_, err := st.Append(ctx, newStream("big"), es.NoStream(), event("test.happened", 123456789))
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "error %v", err)
		require.ErrorContains(t, err, "Maximum Append Size")
	})
	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.ReadStream(cctx, stream, 0, 10)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("closed store", func(t *testing.T) {
		closed := mustOpen(t, conn, esdb.Options{})
		sub, err := closed.Subscribe(ctx, es.Start, es.Filter{})
		require.NoError(t, err)
		require.NoError(t, closed.Close())
		_, err = closed.Append(ctx, stream, es.Exact(2), event("test.happened", 9))
		require.ErrorIs(t, err, es.ErrClosed)
		_, err = closed.ReadAll(ctx, es.Start, 10)
		require.ErrorIs(t, err, es.ErrClosed)
		_, err = sub.Recv()
		require.ErrorIs(t, err, es.ErrClosed, "a subscription of a closed store")
	})
}

// rawClient connects the EventStore client itself, to see what is on the wire.
func rawClient(t *testing.T, conn string) *esdbclient.Client {
	t.Helper()
	conf, err := esdbclient.ParseConnectionString(conn)
	require.NoError(t, err)
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func readRaw(t *testing.T, c *esdbclient.Client, stream string) []*esdbclient.RecordedEvent {
	t.Helper()
	rs, err := c.ReadStream(ctxT(t), stream, esdbclient.ReadStreamOptions{}, 100)
	require.NoError(t, err)
	defer rs.Close()
	var out []*esdbclient.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, ev.Event)
	}
}

// TestMetadataOnTheWire checks the user metadata EventStoreDB stores: Sleutel's
// metadata, the H4 hash in hex, and $correlationId/$causationId for the system
// projections; and that it reads back.
func TestMetadataOnTheWire(t *testing.T) {
	s, _, conn := start(t)
	ctx := ctxT(t)
	stream := newStream("meta")
	in := event("test.happened", 1)
	in.Metadata.Extra = map[string]string{"watermill_uuid": "w-1", "empty": ""}
	_, err := s.Append(ctx, stream, es.NoStream(), in)
	require.NoError(t, err)

	recs, err := s.ReadStream(ctx, stream, 0, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Equal(t, in.Metadata, recs[0].Metadata)
	require.Equal(t, es.ChainHash(es.Hash{}, stream, 0, in.ID, in.Type, in.Data, in.Metadata), recs[0].Hash)

	raw := readRaw(t, rawClient(t, conn), stream)
	require.Len(t, raw, 1)
	require.Equal(t, in.ID, raw[0].EventID, "event id = EventData.ID")
	require.Equal(t, "application/json", raw[0].ContentType)
	var md map[string]any
	require.NoError(t, json.Unmarshal(raw[0].UserMetadata, &md))
	require.Equal(t, in.Metadata.CorrelationID, md["$correlationId"])
	require.Equal(t, in.Metadata.CausationID, md["$causationId"])
	require.Equal(t, in.Metadata.CorrelationID, md["correlation_id"])
	require.Equal(t, in.Metadata.Actor, md["actor"])
	require.Equal(t, recs[0].Hash.String(), md["hash"])
}

// TestHashChainUnderAnyRevisionRace has several stores, each with its own head
// cache, append to one stream with AnyRevision at once: every append lands and the
// chain verifies (SPEC H4).
func TestHashChainUnderAnyRevisionRace(t *testing.T) {
	conn, _ := esdbdouble.Start(t)
	s := mustOpen(t, conn, esdb.Options{AnyRetries: 100})
	ctx := ctxT(t)
	stream := newStream("race")
	stores := []*esdb.Store{s, s}
	for range 3 {
		stores = append(stores, mustOpen(t, conn, esdb.Options{AnyRetries: 100}))
	}
	const each = 15
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*each)
	for w, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, err := st.Append(ctx, stream, es.AnyRevision(), event("test.raced", w*100+i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	recs, err := s.ReadStream(ctx, stream, 0, 1000)
	require.NoError(t, err)
	require.Len(t, recs, len(stores)*each)
	v := es.NewVerifier()
	for i := range recs {
		require.NoError(t, v.Add(&recs[i]))
	}
}

// TestIdempotentRetryWithoutCache retries an append from a store that never saw
// the stream, so the previous hash must be read from the event at the expected
// revision.
func TestIdempotentRetryWithoutCache(t *testing.T) {
	s, _, conn := start(t)
	ctx := ctxT(t)
	stream := newStream("retry")
	_, err := s.Append(ctx, stream, es.NoStream(), event("test.happened", 0))
	require.NoError(t, err)
	batch := []es.EventData{event("test.happened", 1), event("test.happened", 2)}
	first, err := s.Append(ctx, stream, es.Exact(0), batch...)
	require.NoError(t, err)

	fresh := mustOpen(t, conn, esdb.Options{})
	again, err := fresh.Append(ctx, stream, es.Exact(0), batch...)
	require.NoError(t, err)
	require.Equal(t, first, again)
	// The retry did not poison the fresh store's chain: its next append verifies.
	_, err = fresh.Append(ctx, stream, es.Exact(2), event("test.happened", 3))
	require.NoError(t, err)
	recs, err := s.ReadStream(ctx, stream, 0, 100)
	require.NoError(t, err)
	require.Len(t, recs, 4)
	v := es.NewVerifier()
	for i := range recs {
		require.NoError(t, v.Add(&recs[i]))
	}
}

// TestIdempotentRetryWithoutPosition: servers that answer an idempotent append
// without a position still give the caller the first result.
func TestIdempotentRetryWithoutPosition(t *testing.T) {
	s, d, _ := start(t)
	ctx := ctxT(t)
	stream := newStream("legacy")
	batch := []es.EventData{event("test.happened", 0), event("test.happened", 1)}
	first, err := s.Append(ctx, stream, es.NoStream(), batch...)
	require.NoError(t, err)
	d.SetLegacyIdempotentPositions(true)
	again, err := s.Append(ctx, stream, es.NoStream(), batch...)
	require.NoError(t, err)
	require.Equal(t, first, again)
}

// TestSystemEventsAreLeftOut writes an event to a '$' stream, as EventStoreDB does
// for statistics and projections: reads, LastPosition and subscriptions skip it,
// and Through still covers it.
func TestSystemEventsAreLeftOut(t *testing.T) {
	s, _, conn := start(t)
	ctx := ctxT(t)
	stream := newStream("sys")
	r, err := s.Append(ctx, stream, es.NoStream(), event("test.happened", 0))
	require.NoError(t, err)
	raw := rawClient(t, conn)
	sys, err := raw.AppendToStream(ctx, "$stats-127.0.0.1:2113", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.Any{}},
		esdbclient.EventData{EventType: "$statsCollected", ContentType: esdbclient.ContentTypeJson, Data: []byte(`{}`)})
	require.NoError(t, err)

	last, err := s.LastPosition(ctx)
	require.NoError(t, err)
	require.Equal(t, r.Position, last)
	all, err := s.ReadAll(ctx, es.Start, 10)
	require.NoError(t, err)
	require.Len(t, all, 1)

	sub, err := s.Subscribe(ctx, r.Position, es.Filter{})
	require.NoError(t, err)
	defer sub.Close()
	b, err := sub.Recv()
	require.NoError(t, err)
	require.Empty(t, b.Records)
	require.Equal(t, es.Position{Commit: sys.CommitPosition, Prepare: sys.PreparePosition}, b.Through)
}

// Package storetest is the contract every Sleutel event store passes: the embedded
// store, the EventStoreDB adapter over its in-test gRPC double, and a real
// EventStoreDB when SLEUTEL_TEST_ESDB is set. A store's own test calls Run with a
// factory that opens a fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// Store is everything an event store offers.
type Store interface {
	// Append writes events to stream when expected holds, all or none, and returns
	// the revision and position of the last one. A retry of an append whose event ids
	// were already written at the expected place returns the first result and writes
	// nothing. Returns es.ErrConcurrency (a *es.ConcurrencyError) when expected fails.
	Append(ctx context.Context, stream string, expected es.ExpectedRevision, events ...es.EventData) (es.AppendResult, error)
	// ReadStream returns up to limit events of stream from revision from onwards.
	// A missing stream reads as empty.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error)
	// ReadStreamBackwards returns up to limit events from revision from (es.StreamEnd
	// for the last) towards the first.
	ReadStreamBackwards(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error)
	// ReadAll returns up to limit events of the global log after position after.
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
	// Subscribe delivers the global log after position after, filtered, catch-up
	// then live, until ctx ends or the subscription is closed.
	Subscribe(ctx context.Context, after es.Position, filter es.Filter) (es.Subscription, error)
	// StreamRevision returns the revision of stream's last event, and false when the
	// stream has none.
	StreamRevision(ctx context.Context, stream string) (uint64, bool, error)
	// LastPosition returns the position of the last acknowledged event (es.Start for
	// an empty log).
	LastPosition(ctx context.Context) (es.Position, error)
	// Close releases the store.
	Close() error
}

// Subject is one store under test.
type Subject struct {
	Store Store
	// Tamper changes one byte of the stored payload of the event at stream and
	// revision, behind the store's back. Nil where that cannot be done (a real server).
	Tamper func(stream string, revision uint64) error
	// Shared is true when the store may hold events from earlier runs (a real
	// server): cases then use fresh stream names and relative positions only, and
	// skip those that need the whole log to themselves.
	Shared bool
}

// Factory opens a fresh store for one test and arranges its closing with t.Cleanup.
type Factory func(t *testing.T) Subject

// Run runs every case of the contract against stores made by newStore.
func Run(t *testing.T, newStore Factory) {
	cases := []struct {
		name string
		fn   func(*testing.T, Subject)
	}{
		{"NewStream", testNewStream},
		{"WrongExpectedRevision", testWrongExpectedRevision},
		{"ConcurrentAppendsOneWinner", testConcurrentAppendsOneWinner},
		{"MissingStreamIsEmpty", testMissingStreamIsEmpty},
		{"RoundTrip", testRoundTrip},
		{"ReadBackwards", testReadBackwards},
		{"AnyRevision", testAnyRevision},
		{"PositionsStrictlyIncrease", testPositionsStrictlyIncrease},
		{"ReadAllPages", testReadAllPages},
		{"SubscriptionCatchUpToLive", testSubscriptionCatchUpToLive},
		{"SubscriptionFilters", testSubscriptionFilters},
		{"SubscriptionClose", testSubscriptionClose},
		{"IdempotentRetry", testIdempotentRetry},
		{"HashChainVerifies", testHashChainVerifies},
		{"TamperedPayloadIsNamed", testTamperedPayloadIsNamed},
		{"InvalidInput", testInvalidInput},
		{"CancelledContext", testCancelledContext},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, newStore(t))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newStream returns a fresh stream name in category cat.
func newStream(cat string) string { return es.StreamName(cat, uuid.Must(uuid.NewV7())) }

// event builds an event of type typ with payload {"n": n}.
func event(typ string, n int) es.EventData {
	return es.EventData{
		ID:   uuid.Must(uuid.NewV7()),
		Type: typ,
		Data: []byte(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata: es.Metadata{
			Actor:         es.ActorOf(es.ActorSystem, "storetest"),
			CorrelationID: uuid.NewString(),
			CausationID:   uuid.NewString(),
		},
	}
}

func events(typ string, from, count int) []es.EventData {
	out := make([]es.EventData, count)
	for i := range out {
		out[i] = event(typ, from+i)
	}
	return out
}

func mustAppend(t *testing.T, s Store, stream string, exp es.ExpectedRevision, evs ...es.EventData) es.AppendResult {
	t.Helper()
	res, err := s.Append(ctxT(t), stream, exp, evs...)
	require.NoError(t, err, "Append(%s, %s)", stream, exp)
	return res
}

func mustRead(t *testing.T, s Store, stream string) []es.Record {
	t.Helper()
	recs, err := s.ReadStream(ctxT(t), stream, 0, 100_000)
	require.NoError(t, err, "ReadStream(%s)", stream)
	return recs
}

func payloadN(t *testing.T, r es.Record) int {
	t.Helper()
	var p struct{ N int }
	require.NoError(t, json.Unmarshal(r.Data, &p), "payload of %s/%d", r.Stream, r.Revision)
	return p.N
}

func testNewStream(t *testing.T, s Subject) {
	stream := newStream("contract")
	res := mustAppend(t, s.Store, stream, es.NoStream(), events("contract.happened", 0, 3)...)
	require.Equal(t, uint64(2), res.NextRevision, "NextRevision after 3 events")
	require.False(t, res.Position.IsZero(), "Position after append")

	rev, ok, err := s.Store.StreamRevision(ctxT(t), stream)
	require.NoError(t, err)
	require.True(t, ok, "StreamRevision(%s) exists", stream)
	require.Equal(t, uint64(2), rev)

	recs := mustRead(t, s.Store, stream)
	require.Len(t, recs, 3)
	require.Equal(t, res.Position, recs[2].Position, "append result position = last event's position")

	res2 := mustAppend(t, s.Store, stream, es.Exact(2), event("contract.happened", 3))
	require.Equal(t, uint64(3), res2.NextRevision)
	require.True(t, res.Position.Less(res2.Position), "second append lies after the first")
}

func testWrongExpectedRevision(t *testing.T, s Subject) {
	ctx := ctxT(t)
	stream := newStream("contract")
	mustAppend(t, s.Store, stream, es.NoStream(), events("contract.happened", 0, 2)...)

	for _, exp := range []es.ExpectedRevision{es.NoStream(), es.Exact(0), es.Exact(2), es.Exact(7)} {
		_, err := s.Store.Append(ctx, stream, exp, event("contract.happened", 9))
		require.ErrorIs(t, err, es.ErrConcurrency, "Append(%s, expected %s) on a stream at 1", stream, exp)
		var ce *es.ConcurrencyError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, stream, ce.Stream)
	}
	_, err := s.Store.Append(ctx, newStream("contract"), es.Exact(0), event("contract.happened", 0))
	require.ErrorIs(t, err, es.ErrConcurrency, "Append(missing stream, expected 0)")

	require.Len(t, mustRead(t, s.Store, stream), 2, "a refused append writes nothing")
}

func testConcurrentAppendsOneWinner(t *testing.T, s Subject) {
	ctx := ctxT(t)
	stream := newStream("contract")
	mustAppend(t, s.Store, stream, es.NoStream(), event("contract.happened", 0))

	const writers = 50
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		wins     int
		others   []error
		start    = make(chan struct{})
		conflict int
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Store.Append(ctx, stream, es.Exact(0), event("contract.raced", i), event("contract.raced", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, es.ErrConcurrency):
				conflict++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	require.Empty(t, others, "only conflicts may fail")
	require.Equal(t, 1, wins, "winners among %d writers with the same expected revision", writers)
	require.Equal(t, writers-1, conflict)
	recs := mustRead(t, s.Store, stream)
	require.Len(t, recs, 3, "the first event and the winner's two")
	require.Equal(t, payloadN(t, recs[1]), payloadN(t, recs[2]), "both events of the winner, none of a loser")
}

func testMissingStreamIsEmpty(t *testing.T, s Subject) {
	ctx := ctxT(t)
	stream := newStream("contract")
	recs, err := s.Store.ReadStream(ctx, stream, 0, 10)
	require.NoError(t, err, "ReadStream(missing)")
	require.Empty(t, recs)
	recs, err = s.Store.ReadStreamBackwards(ctx, stream, es.StreamEnd, 10)
	require.NoError(t, err, "ReadStreamBackwards(missing)")
	require.Empty(t, recs)
	_, ok, err := s.Store.StreamRevision(ctx, stream)
	require.NoError(t, err)
	require.False(t, ok, "StreamRevision(missing) exists")
}

func testRoundTrip(t *testing.T, s Subject) {
	stream := newStream("contract")
	big := strings.Repeat("x", 100_000)
	in := []es.EventData{
		event("contract.first", 1),
		{ID: uuid.Must(uuid.NewV7()), Type: "contract.second", Data: []byte(`{"text":"` + big + `","utf8":"sleutel é ✓"}`),
			Metadata: es.Metadata{Actor: "account:" + uuid.NewString(), CorrelationID: "corr", CausationID: "cause",
				Extra: map[string]string{"b": "2", "a": "1", "empty": ""}}},
		{ID: uuid.Must(uuid.NewV7()), Type: "contract.third", Data: []byte(`{}`)},
	}
	before := time.Now().Add(-5 * time.Second)
	mustAppend(t, s.Store, stream, es.NoStream(), in...)
	after := time.Now().Add(5 * time.Second)

	out := mustRead(t, s.Store, stream)
	require.Len(t, out, len(in))
	for i, r := range out {
		require.Equal(t, in[i].ID, r.ID, "event %d id", i)
		require.Equal(t, stream, r.Stream)
		require.Equal(t, in[i].Type, r.Type)
		require.Equal(t, uint64(i), r.Revision)
		require.JSONEq(t, string(in[i].Data), string(r.Data), "event %d payload", i)
		require.Equal(t, normalize(in[i].Metadata), normalize(r.Metadata), "event %d metadata", i)
		require.Equal(t, time.UTC, r.RecordedAt.Location(), "recorded time is UTC")
		require.True(t, r.RecordedAt.After(before) && r.RecordedAt.Before(after), "recorded time %s is now", r.RecordedAt)
		require.False(t, r.Hash.IsZero(), "event %d has a hash", i)
		if i > 0 {
			require.True(t, out[i-1].Position.Less(r.Position), "positions increase within a stream")
		}
	}
	part, err := s.Store.ReadStream(ctxT(t), stream, 1, 1)
	require.NoError(t, err)
	require.Len(t, part, 1)
	require.Equal(t, in[1].ID, part[0].ID, "ReadStream from revision 1, limit 1")
}

func normalize(m es.Metadata) es.Metadata {
	if len(m.Extra) == 0 {
		m.Extra = nil
	}
	return m
}

func testReadBackwards(t *testing.T, s Subject) {
	stream := newStream("contract")
	mustAppend(t, s.Store, stream, es.NoStream(), events("contract.happened", 0, 5)...)
	recs, err := s.Store.ReadStreamBackwards(ctxT(t), stream, es.StreamEnd, 2)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, []uint64{4, 3}, []uint64{recs[0].Revision, recs[1].Revision})
	recs, err = s.Store.ReadStreamBackwards(ctxT(t), stream, 2, 10)
	require.NoError(t, err)
	require.Len(t, recs, 3)
	require.Equal(t, []int{2, 1, 0}, []int{payloadN(t, recs[0]), payloadN(t, recs[1]), payloadN(t, recs[2])})
}

func testAnyRevision(t *testing.T, s Subject) {
	stream := newStream("contract")
	r1 := mustAppend(t, s.Store, stream, es.AnyRevision(), event("contract.happened", 0))
	require.Equal(t, uint64(0), r1.NextRevision)
	r2 := mustAppend(t, s.Store, stream, es.AnyRevision(), event("contract.happened", 1))
	require.Equal(t, uint64(1), r2.NextRevision)
	require.NoError(t, verifyStream(t, s.Store, stream), "Any appends keep the chain")
}

func testPositionsStrictlyIncrease(t *testing.T, s Subject) {
	ctx := ctxT(t)
	start, err := s.Store.LastPosition(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := newStream("contract")
			exp := es.NoStream()
			for i := range 10 {
				res, err := s.Store.Append(ctx, stream, exp, events("contract.happened", w*100+i, 1+i%3)...)
				if !assertNoError(t, err) {
					return
				}
				exp = es.Exact(res.NextRevision)
			}
		}()
	}
	wg.Wait()
	recs, err := s.Store.ReadAll(ctx, start, 100_000)
	require.NoError(t, err)
	if !s.Shared {
		want := 0
		for i := range 10 {
			want += 8 * (1 + i%3)
		}
		require.Len(t, recs, want, "events written by 8 writers")
	}
	for i := 1; i < len(recs); i++ {
		require.True(t, recs[i-1].Position.Less(recs[i].Position), "position %s then %s", recs[i-1].Position, recs[i].Position)
	}
	last, err := s.Store.LastPosition(ctx)
	require.NoError(t, err)
	require.Equal(t, recs[len(recs)-1].Position, last, "LastPosition is the last event's")
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("unexpected error: %v", err)
		return false
	}
	return true
}

func testReadAllPages(t *testing.T, s Subject) {
	ctx := ctxT(t)
	start, err := s.Store.LastPosition(ctx)
	require.NoError(t, err)
	stream := newStream("contract")
	mustAppend(t, s.Store, stream, es.NoStream(), events("contract.happened", 0, 25)...)
	var got []int
	after := start
	for {
		page, err := s.Store.ReadAll(ctx, after, 7)
		require.NoError(t, err)
		require.LessOrEqual(t, len(page), 7, "ReadAll respects its limit")
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			require.True(t, after.Less(r.Position), "ReadAll after %s returned %s", after, r.Position)
			if r.Stream == stream {
				got = append(got, payloadN(t, r))
			}
		}
		after = page[len(page)-1].Position
	}
	want := make([]int, 25)
	for i := range want {
		want[i] = i
	}
	require.Equal(t, want, got, "paging ReadAll neither skips nor repeats")
}

// testSubscriptionCatchUpToLive starts a subscription in the middle of stored
// history while writers keep appending, so the catch-up/live switch happens under
// load, and checks that every event after the start arrives exactly once, in order.
func testSubscriptionCatchUpToLive(t *testing.T, s Subject) {
	ctx := ctxT(t)
	cat := "sub" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	stream := newStream(cat)
	const stored, live = 200, 300
	res := mustAppend(t, s.Store, stream, es.NoStream(), events("contract.happened", 0, 100)...)
	from := res.Position // subscribe after event 99: expect 100 …
	mustAppend(t, s.Store, stream, es.Exact(99), events("contract.happened", 100, stored-100)...)

	subCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sub, err := s.Store.Subscribe(subCtx, from, es.Filter{Categories: []string{cat}})
	require.NoError(t, err)
	defer sub.Close()

	writerDone := make(chan error, 1)
	go func() {
		rev := uint64(stored - 1)
		for i := stored; i < stored+live; i++ {
			if _, err := s.Store.Append(ctx, stream, es.Exact(rev), event("contract.happened", i)); err != nil {
				writerDone <- err
				return
			}
			rev++
		}
		writerDone <- nil
	}()

	var got []int
	var last es.Position
	for len(got) < stored+live-100 {
		b, err := sub.Recv()
		require.NoError(t, err, "Recv after %d events", len(got))
		for _, r := range b.Records {
			require.True(t, from.Less(r.Position), "subscription after %s delivered %s", from, r.Position)
			require.True(t, last.Less(r.Position), "position %s after %s", r.Position, last)
			require.Equal(t, stream, r.Stream, "filter by category")
			last = r.Position
			got = append(got, payloadN(t, r))
		}
		require.False(t, b.Through.Less(last), "Through %s covers the batch up to %s", b.Through, last)
	}
	require.NoError(t, <-writerDone)
	for i, n := range got {
		require.Equal(t, 100+i, n, "event %d of the subscription", i)
	}
}

func testSubscriptionFilters(t *testing.T, s Subject) {
	ctx := ctxT(t)
	start, err := s.Store.LastPosition(ctx)
	require.NoError(t, err)
	suffix := strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	catA, catB := "fa"+suffix, "fb"+suffix
	typX, typY := "contract.x"+suffix, "contract.y"+suffix
	sa, sb := newStream(catA), newStream(catB)
	mustAppend(t, s.Store, sa, es.NoStream(), event(typX, 1), event(typY, 2))
	mustAppend(t, s.Store, sb, es.NoStream(), event(typX, 3), event(typY, 4))
	marker := newStream(catA)
	end := mustAppend(t, s.Store, marker, es.NoStream(), event(typY, 5))

	collect := func(f es.Filter) []int {
		t.Helper()
		subCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		sub, err := s.Store.Subscribe(subCtx, start, f)
		require.NoError(t, err)
		defer sub.Close()
		var got []int
		for {
			b, err := sub.Recv()
			require.NoError(t, err)
			for _, r := range b.Records {
				got = append(got, payloadN(t, r))
			}
			if !b.Through.Less(end.Position) {
				return got
			}
		}
	}
	require.Equal(t, []int{1, 2, 5}, collect(es.Filter{Categories: []string{catA}}), "category filter")
	require.Equal(t, []int{1, 3}, collect(es.Filter{EventTypes: []string{typX}}), "event-type filter")
	require.Equal(t, []int{1, 2, 3, 4, 5}, collect(es.Filter{Categories: []string{catA, catB}}), "two categories")

	_, err = s.Store.Subscribe(ctx, start, es.Filter{Categories: []string{catA}, EventTypes: []string{typX}})
	require.Error(t, err, "a filter on both categories and types is refused")
}

func testSubscriptionClose(t *testing.T, s Subject) {
	ctx := ctxT(t)
	last, err := s.Store.LastPosition(ctx)
	require.NoError(t, err)
	sub, err := s.Store.Subscribe(ctx, last, es.Filter{Categories: []string{"nothing" + uuid.NewString()[:8]}})
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := sub.Recv(); err != nil {
				errc <- err
				return
			}
		}
	}()
	require.NoError(t, sub.Close())
	select {
	case err := <-errc:
		require.Error(t, err, "Recv after Close")
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked 10s after Close")
	}
	require.NoError(t, sub.Close(), "second Close")

	subCtx, cancel := context.WithCancel(ctx)
	sub2, err := s.Store.Subscribe(subCtx, last, es.Filter{Categories: []string{"nothing" + uuid.NewString()[:8]}})
	require.NoError(t, err)
	defer sub2.Close()
	go func() {
		for {
			if _, err := sub2.Recv(); err != nil {
				errc <- err
				return
			}
		}
	}()
	cancel()
	select {
	case err := <-errc:
		require.Error(t, err, "Recv after the context ended")
	case <-time.After(10 * time.Second):
		t.Fatal("Recv still blocked 10s after its context ended")
	}
}

func testIdempotentRetry(t *testing.T, s Subject) {
	ctx := ctxT(t)
	stream := newStream("contract")
	mustAppend(t, s.Store, stream, es.NoStream(), event("contract.happened", 0))
	batch := events("contract.happened", 1, 2)
	first := mustAppend(t, s.Store, stream, es.Exact(0), batch...)

	again, err := s.Store.Append(ctx, stream, es.Exact(0), batch...)
	require.NoError(t, err, "retrying the same events at the same expected revision")
	require.Equal(t, first, again, "a retry returns the first result")
	require.Len(t, mustRead(t, s.Store, stream), 3, "a retry appends nothing")

	fresh := newStream("contract")
	one := event("contract.happened", 7)
	r1 := mustAppend(t, s.Store, fresh, es.NoStream(), one)
	r2, err := s.Store.Append(ctx, fresh, es.NoStream(), one)
	require.NoError(t, err, "retrying the creation of a stream")
	require.Equal(t, r1, r2)
	require.Len(t, mustRead(t, s.Store, fresh), 1)

	_, err = s.Store.Append(ctx, stream, es.Exact(0), event("contract.happened", 9))
	require.ErrorIs(t, err, es.ErrConcurrency, "other events at a stale revision still conflict")
}

func verifyStream(t *testing.T, s Store, stream string) error {
	t.Helper()
	v := es.NewVerifier()
	for _, r := range mustRead(t, s, stream) {
		if err := v.Add(&r); err != nil {
			return err
		}
	}
	return nil
}

func verifyAll(t *testing.T, s Store) (uint64, error) {
	t.Helper()
	v := es.NewVerifier()
	after := es.Start
	for {
		page, err := s.ReadAll(ctxT(t), after, 1000)
		require.NoError(t, err)
		if len(page) == 0 {
			return v.Events(), nil
		}
		for i := range page {
			if err := v.Add(&page[i]); err != nil {
				return v.Events(), err
			}
		}
		after = page[len(page)-1].Position
	}
}

func testHashChainVerifies(t *testing.T, s Subject) {
	streams := []string{newStream("contract"), newStream("contract"), newStream("other")}
	for round := range 3 {
		for _, st := range streams {
			exp := es.NoStream()
			if round > 0 {
				exp = es.Exact(uint64(round*2 - 1))
			}
			mustAppend(t, s.Store, st, exp, events("contract.happened", round*2, 2)...)
		}
	}
	for _, st := range streams {
		require.NoError(t, verifyStream(t, s.Store, st), "chain of %s", st)
	}
	if s.Shared {
		return // others' history is not ours to verify
	}
	n, err := verifyAll(t, s.Store)
	require.NoError(t, err)
	require.Equal(t, uint64(18), n)
}

func testTamperedPayloadIsNamed(t *testing.T, s Subject) {
	if s.Tamper == nil {
		t.Skip("this store cannot be tampered with from a test")
	}
	stream := newStream("contract")
	mustAppend(t, s.Store, stream, es.NoStream(), events("contract.happened", 0, 5)...)
	other := newStream("contract")
	mustAppend(t, s.Store, other, es.NoStream(), events("contract.happened", 0, 2)...)
	recs := mustRead(t, s.Store, stream)
	require.NoError(t, s.Tamper(stream, 2), "Tamper(%s, 2)", stream)

	err := verifyStream(t, s.Store, stream)
	var bl *es.BrokenLink
	require.ErrorAs(t, err, &bl, "verifying a tampered stream")
	require.Equal(t, stream, bl.Stream)
	require.Equal(t, uint64(2), bl.Revision, "the first broken link is the tampered event")
	require.Equal(t, recs[2].ID.String(), bl.EventID)
	require.Equal(t, recs[2].Position, bl.Position)
	require.NoError(t, verifyStream(t, s.Store, other), "other streams still verify")
	if !s.Shared {
		_, err := verifyAll(t, s.Store)
		require.ErrorAs(t, err, &bl, "verifying the whole log")
		require.Equal(t, stream, bl.Stream)
		require.Equal(t, uint64(2), bl.Revision)
	}
}

func testInvalidInput(t *testing.T, s Subject) {
	ctx := ctxT(t)
	bad := []struct {
		name   string
		stream string
		events []es.EventData
	}{
		{"empty stream name", "", []es.EventData{event("contract.happened", 0)}},
		{"system stream", "$all", []es.EventData{event("contract.happened", 0)}},
		{"control character", "bad\x00name", []es.EventData{event("contract.happened", 0)}},
		{"no events", newStream("contract"), nil},
		{"nil event id", newStream("contract"), []es.EventData{{Type: "contract.happened", Data: []byte(`{}`)}}},
		{"bad type", newStream("contract"), []es.EventData{{ID: uuid.New(), Type: "Bad Type", Data: []byte(`{}`)}}},
		{"payload not JSON", newStream("contract"), []es.EventData{{ID: uuid.New(), Type: "contract.happened", Data: []byte(`{`)}}},
	}
	for _, b := range bad {
		_, err := s.Store.Append(ctx, b.stream, es.NoStream(), b.events...)
		require.Error(t, err, "Append with %s", b.name)
		require.NotErrorIs(t, err, es.ErrConcurrency, "Append with %s", b.name)
	}
	ids := events("contract.happened", 0, 2)
	ids[1].ID = ids[0].ID
	_, err := s.Store.Append(ctx, newStream("contract"), es.NoStream(), ids...)
	require.Error(t, err, "Append with a repeated event id")
}

func testCancelledContext(t *testing.T, s Subject) {
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	stream := newStream("contract")
	_, err := s.Store.Append(ctx, stream, es.NoStream(), event("contract.happened", 0))
	require.Error(t, err, "Append with a cancelled context")
	recs := mustRead(t, s.Store, stream)
	require.LessOrEqual(t, len(recs), 1, "a cancelled append writes all or nothing")
}

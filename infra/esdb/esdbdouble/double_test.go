package esdbdouble_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/infra/esdb/esdbdouble"
)

// These tests pin the server semantics the double claims, through the EventStore
// client itself, so a change to the double that drifts from EventStoreDB shows here
// and not only as a puzzling adapter failure.

func client(t *testing.T) (*esdbclient.Client, *esdbdouble.Double, context.Context) {
	t.Helper()
	conn, d := esdbdouble.Start(t)
	conf, err := esdbclient.ParseConnectionString(conn)
	require.NoError(t, err)
	conf.Logger = esdbclient.NoopLogging()
	c, err := esdbclient.NewClient(conf)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c, d, ctx
}

func ev(typ string) esdbclient.EventData {
	return esdbclient.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdbclient.ContentTypeJson, Data: []byte(`{"n":1}`)}
}

func appendTo(t *testing.T, c *esdbclient.Client, ctx context.Context, stream string, exp esdbclient.ExpectedRevision, evs ...esdbclient.EventData) *esdbclient.WriteResult {
	t.Helper()
	wr, err := c.AppendToStream(ctx, stream, esdbclient.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
	require.NoError(t, err, "AppendToStream(%s, %T)", stream, exp)
	return wr
}

func drain(t *testing.T, open func() (*esdbclient.ReadStream, error)) ([]*esdbclient.ResolvedEvent, error) {
	t.Helper()
	rs, err := open()
	require.NoError(t, err)
	defer rs.Close()
	var out []*esdbclient.ResolvedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestAppendPositionsAndRevisions(t *testing.T) {
	c, _, ctx := client(t)
	wr := appendTo(t, c, ctx, "a-1", esdbclient.NoStream{}, ev("x"), ev("x"), ev("x"))
	require.Equal(t, uint64(2), wr.NextExpectedVersion)
	require.Equal(t, wr.CommitPosition, wr.PreparePosition, "self-committed: commit == prepare")

	evs, err := drain(t, func() (*esdbclient.ReadStream, error) {
		return c.ReadStream(ctx, "a-1", esdbclient.ReadStreamOptions{}, 10)
	})
	require.NoError(t, err)
	require.Len(t, evs, 3)
	require.Equal(t, wr.CommitPosition, evs[2].Event.Position.Commit, "the append reports its last event's position")
	require.Positive(t, evs[0].Event.Position.Commit, "no event sits at position 0")
	for i := 1; i < 3; i++ {
		require.Greater(t, evs[i].Event.Position.Commit, evs[i-1].Event.Position.Commit)
	}
}

func TestWrongExpectedVersion(t *testing.T) {
	c, _, ctx := client(t)
	appendTo(t, c, ctx, "w-1", esdbclient.NoStream{}, ev("x"), ev("x"))
	cases := []struct {
		exp  esdbclient.ExpectedRevision
		want string
	}{
		{esdbclient.NoStream{}, "expecting 'no_stream' but got '1'"},
		{esdbclient.StreamRevision{Value: 0}, "expecting '0' but got '1'"},
		{esdbclient.StreamRevision{Value: 5}, "expecting '5' but got '1'"},
	}
	for _, tc := range cases {
		_, err := c.AppendToStream(ctx, "w-1", esdbclient.AppendToStreamOptions{ExpectedRevision: tc.exp}, ev("x"))
		var e *esdbclient.Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, esdbclient.ErrorCodeWrongExpectedVersion, e.Code())
		require.Contains(t, e.Err().Error(), tc.want)
	}
	_, err := c.AppendToStream(ctx, "w-2", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.StreamRevision{Value: 0}}, ev("x"))
	require.ErrorContains(t, err, "expecting '0' but got 'no_stream'")
	_, err = c.AppendToStream(ctx, "w-2", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.StreamExists{}}, ev("x"))
	require.ErrorContains(t, err, "expecting 'stream_exists' but got 'no_stream'")
}

func TestIdempotentAppends(t *testing.T) {
	c, _, ctx := client(t)
	appendTo(t, c, ctx, "i-1", esdbclient.NoStream{}, ev("x"))
	batch := []esdbclient.EventData{ev("x"), ev("x")}
	first := appendTo(t, c, ctx, "i-1", esdbclient.StreamRevision{Value: 0}, batch...)
	appendTo(t, c, ctx, "i-1", esdbclient.StreamRevision{Value: 2}, ev("x")) // the stream moves on

	again := appendTo(t, c, ctx, "i-1", esdbclient.StreamRevision{Value: 0}, batch...)
	require.Equal(t, first, again, "same ids after the expected revision: the first result")

	_, err := c.AppendToStream(ctx, "i-1", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.StreamRevision{Value: 0}}, batch[0], ev("x"))
	require.ErrorContains(t, err, "wrong expected version", "only part of the batch is there")
	_, err = c.AppendToStream(ctx, "i-1", esdbclient.AppendToStreamOptions{ExpectedRevision: esdbclient.StreamRevision{Value: 1}}, batch...)
	require.ErrorContains(t, err, "wrong expected version", "the same ids at another place")

	evs, err := drain(t, func() (*esdbclient.ReadStream, error) {
		return c.ReadStream(ctx, "i-1", esdbclient.ReadStreamOptions{}, 10)
	})
	require.NoError(t, err)
	require.Len(t, evs, 4)
}

func TestReads(t *testing.T) {
	c, _, ctx := client(t)
	_, err := drain(t, func() (*esdbclient.ReadStream, error) {
		return c.ReadStream(ctx, "missing-1", esdbclient.ReadStreamOptions{}, 10)
	})
	var e *esdbclient.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, esdbclient.ErrorCodeResourceNotFound, e.Code(), "a missing stream")

	appendTo(t, c, ctx, "r-1", esdbclient.NoStream{}, ev("x"), ev("y"), ev("z"))
	back, err := drain(t, func() (*esdbclient.ReadStream, error) {
		return c.ReadStream(ctx, "r-1", esdbclient.ReadStreamOptions{Direction: esdbclient.Backwards, From: esdbclient.End{}}, 2)
	})
	require.NoError(t, err)
	require.Equal(t, []uint64{2, 1}, []uint64{back[0].Event.EventNumber, back[1].Event.EventNumber})

	all, err := drain(t, func() (*esdbclient.ReadStream, error) { return c.ReadAll(ctx, esdbclient.ReadAllOptions{}, 10) })
	require.NoError(t, err)
	require.Len(t, all, 3)
	mid := all[1].Event.Position
	fwd, err := drain(t, func() (*esdbclient.ReadStream, error) {
		return c.ReadAll(ctx, esdbclient.ReadAllOptions{From: mid}, 10)
	})
	require.NoError(t, err)
	require.Len(t, fwd, 2, "a forward $all read includes its start")
	bwd, err := drain(t, func() (*esdbclient.ReadStream, error) {
		return c.ReadAll(ctx, esdbclient.ReadAllOptions{Direction: esdbclient.Backwards, From: mid}, 10)
	})
	require.NoError(t, err)
	require.Len(t, bwd, 1, "a backward $all read excludes its start")
}

func TestSubscriptionStartAndFilter(t *testing.T) {
	c, d, ctx := client(t)
	appendTo(t, c, ctx, "s-1", esdbclient.NoStream{}, ev("x"), ev("y"), ev("x"))
	all, err := drain(t, func() (*esdbclient.ReadStream, error) { return c.ReadAll(ctx, esdbclient.ReadAllOptions{}, 10) })
	require.NoError(t, err)

	sub, err := c.SubscribeToAll(ctx, esdbclient.SubscribeToAllOptions{
		From:   all[0].Event.Position,
		Filter: &esdbclient.SubscriptionFilter{Type: esdbclient.EventFilterType, Regex: "^x$"},
	})
	require.NoError(t, err)
	defer sub.Close()
	got := sub.Recv()
	require.NotNil(t, got.EventAppeared, "the subscription starts after its position")
	require.Equal(t, uint64(2), got.EventAppeared.Event.EventNumber, "and filters out y")
	require.NotNil(t, sub.Recv().CaughtUp)

	require.Equal(t, 1, d.DropSubscriptions())
	require.NotNil(t, sub.Recv().SubscriptionDropped)
}

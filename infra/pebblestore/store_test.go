package pebblestore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/pebblestore"
	"sleutel/infra/storetest"
)

var _ storetest.Store = (*pebblestore.Store)(nil)

func open(t testing.TB, dir string) *pebblestore.Store {
	t.Helper()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err, "Open(%s)", dir)
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Subject {
		s := open(t, t.TempDir())
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return storetest.Subject{Store: s, Tamper: s.TamperPayload}
	})
}

// TestCheckpoints covers the checkpoint storage the Watermill subscribers use: a
// missing name reads as the start, a saved one survives closing and reopening.
func TestCheckpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := open(t, dir)
	pos, err := s.LoadCheckpoint(t.Context(), "consumer@lock")
	require.NoError(t, err)
	require.True(t, pos.IsZero())
	require.NoError(t, s.SaveCheckpoint(t.Context(), "consumer@lock", es.Position{Commit: 7, Prepare: 9}))
	require.NoError(t, s.Close())
	s = open(t, dir)
	defer s.Close()
	pos, err = s.LoadCheckpoint(t.Context(), "consumer@lock")
	require.NoError(t, err)
	require.Equal(t, es.Position{Commit: 7, Prepare: 9}, pos)
}

// TestClosedStore refuses work after Close with es.ErrClosed.
func TestClosedStore(t *testing.T) {
	t.Parallel()
	s := open(t, t.TempDir())
	require.NoError(t, s.Close())
	_, err := s.Append(t.Context(), "a-1", es.NoStream(), es.EventData{ID: uuid.New(), Type: "a.b", Data: []byte(`{}`)})
	require.ErrorIs(t, err, es.ErrClosed)
	_, err = s.ReadAll(t.Context(), es.Start, 10)
	require.ErrorIs(t, err, es.ErrClosed)
	require.NoError(t, s.Close(), "closing twice")
}

// TestReadAllInto: reading the log into reused buffers gives, page by page, the
// records ReadAll gives, metadata and payloads included, and a page's buffers can
// be handed to the next read once it is done with.
func TestReadAllInto(t *testing.T) {
	t.Parallel()
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	for i := range 40 {
		stream := es.StreamName("lock", uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i % 7)}))
		md := es.Metadata{Actor: "account:x", CorrelationID: fmt.Sprint("c", i)}
		if i%3 == 0 {
			md.Extra = map[string]string{"k": fmt.Sprint(i)}
		}
		_, err := s.Append(ctx, stream, es.AnyRevision(), es.EventData{ID: uuid.New(), Type: "lock.frozen",
			Data: []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", i*50))), Metadata: md})
		require.NoError(t, err)
	}
	var recs []es.Record
	var arena []byte
	after := es.Start
	pages := 0
	for {
		want, err := s.ReadAll(ctx, after, 7)
		require.NoError(t, err)
		recs, arena, err = s.ReadAllInto(ctx, after, recs, arena, 7)
		require.NoError(t, err)
		if len(want) == 0 {
			require.Empty(t, recs)
			break
		}
		require.Equal(t, want, recs, "page after %s", after)
		after = recs[len(recs)-1].Position
		pages++
	}
	require.Equal(t, 6, pages)
	recs, _, err = s.ReadAllInto(ctx, es.Start, recs, arena, 0)
	require.NoError(t, err)
	require.Empty(t, recs)
}

// TestCursor: a cursor reads the log page after page as ReadAll does, reads on
// after the events appended once it had read them all, and reads from wherever
// it is asked to, not only where it stopped.
func TestCursor(t *testing.T) {
	t.Parallel()
	s, err := pebblestore.Open(t.TempDir(), pebblestore.Options{})
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	appendN := func(n int) {
		for i := range n {
			_, err := s.Append(ctx, es.StreamName("lock", uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(i % 5)})), es.AnyRevision(),
				es.EventData{ID: uuid.New(), Type: "lock.frozen", Data: []byte(fmt.Sprintf(`{"n":%d}`, i)), Metadata: es.Metadata{Actor: "account:x"}})
			require.NoError(t, err)
		}
	}
	appendN(20)
	c := s.Cursor()
	var recs []es.Record
	var arena []byte
	readOn := func(after es.Position) es.Position {
		for {
			want, err := s.ReadAll(ctx, after, 6)
			require.NoError(t, err)
			recs, arena, err = c.ReadAllInto(ctx, after, recs, arena, 6)
			require.NoError(t, err)
			if len(want) == 0 {
				require.Empty(t, recs)
				return after
			}
			require.Equal(t, want, recs, "page after %s", after)
			after = recs[len(recs)-1].Position
		}
	}
	end := readOn(es.Start)
	appendN(9)
	require.NotEqual(t, end, readOn(end), "the events appended since")

	all, err := s.ReadAll(ctx, es.Start, 100)
	require.NoError(t, err)
	require.Len(t, all, 29)
	recs, arena, err = c.ReadAllInto(ctx, all[3].Position, recs, arena, 2)
	require.NoError(t, err)
	require.Equal(t, all[4:6], recs, "from a position it did not stop at")
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "closing twice")
}

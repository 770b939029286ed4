package pebblestore_test

import (
	"context"
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
	var p pages
	p.requireAsReadAll(t, s, s.ReadAllInto, es.Start, 7)
	require.Equal(t, 6, p.read)
	recs, _, err := s.ReadAllInto(ctx, es.Start, p.recs, p.arena, 0)
	require.NoError(t, err)
	require.Empty(t, recs)
}

// pages reads the log page after page into buffers it reuses, as a replay does.
type pages struct {
	recs  []es.Record
	arena []byte
	read  int // pages read
}

// requireAsReadAll reads with read, limit events a page, from after to the end,
// and requires each page to be the one ReadAll gives. It returns the position of
// the last event read.
func (p *pages) requireAsReadAll(t *testing.T, s *pebblestore.Store,
	read func(context.Context, es.Position, []es.Record, []byte, int) ([]es.Record, []byte, error), after es.Position, limit int) es.Position {
	t.Helper()
	for {
		want, err := s.ReadAll(t.Context(), after, limit)
		require.NoError(t, err)
		p.recs, p.arena, err = read(t.Context(), after, p.recs, p.arena, limit)
		require.NoError(t, err)
		if len(want) == 0 {
			require.Empty(t, p.recs)
			return after
		}
		require.Equal(t, want, p.recs, "page after %s", after)
		after = p.recs[len(p.recs)-1].Position
		p.read++
	}
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
	var p pages
	end := p.requireAsReadAll(t, s, c.ReadAllInto, es.Start, 6)
	appendN(9)
	require.NotEqual(t, end, p.requireAsReadAll(t, s, c.ReadAllInto, end, 6), "the events appended since")

	all, err := s.ReadAll(ctx, es.Start, 100)
	require.NoError(t, err)
	require.Len(t, all, 29)
	recs, _, err := c.ReadAllInto(ctx, all[3].Position, p.recs, p.arena, 2)
	require.NoError(t, err)
	require.Equal(t, all[4:6], recs, "from a position it did not stop at")
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "closing twice")
}

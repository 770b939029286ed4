package pebbletamper_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/pebblestore"
	"sleutel/infra/pebblestore/pebbletamper"
)

// TestPayload: the tampered event reads back with another payload and the same
// stored hash, and the chain no longer verifies at that event (SPEC H4).
func TestPayload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err)
	stream := es.StreamName("lock", uuid.New())
	var evs []es.EventData
	for i := range 3 {
		evs = append(evs, es.EventData{ID: uuid.New(), Type: "lock.frozen", Data: []byte(`{"n":"abcdef` + string(rune('0'+i)) + `"}`)})
	}
	_, err = s.Append(t.Context(), stream, es.NoStream(), evs...)
	require.NoError(t, err)
	before, err := s.ReadStream(t.Context(), stream, 0, 10)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	pos, err := pebbletamper.Payload(dir, stream, 1)
	require.NoError(t, err)
	require.Equal(t, before[1].Position.Commit, pos)

	s, err = pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err)
	defer s.Close()
	after, err := s.ReadStream(t.Context(), stream, 0, 10)
	require.NoError(t, err)
	require.NotEqual(t, string(before[1].Data), string(after[1].Data))
	require.Equal(t, before[1].Hash, after[1].Hash)
	require.Equal(t, string(before[0].Data), string(after[0].Data))
	v := es.NewVerifier()
	require.NoError(t, v.Add(&after[0]))
	var link *es.BrokenLink
	require.ErrorAs(t, v.Add(&after[1]), &link)
	require.Equal(t, evs[1].ID.String(), link.EventID)
}

// TestDrop: the dropped event is gone from the log and from its stream, which now
// ends a revision earlier with a chain that is whole.
func TestDrop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err)
	stream, other := es.StreamName("lock", uuid.New()), es.StreamName("lock", uuid.New())
	for _, st := range []string{stream, other, stream} {
		_, err = s.Append(t.Context(), st, es.AnyRevision(), es.EventData{ID: uuid.New(), Type: "lock.frozen", Data: []byte(`{}`)})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	pos, err := pebbletamper.Drop(dir, stream, 1)
	require.NoError(t, err)
	require.EqualValues(t, 3, pos)
	s, err = pebblestore.Open(dir, pebblestore.Options{})
	require.NoError(t, err)
	defer s.Close()
	recs, err := s.ReadStream(t.Context(), stream, 0, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	all, err := s.ReadAll(t.Context(), es.Start, 10)
	require.NoError(t, err)
	require.Len(t, all, 2)
}

package pebblestore_test

import (
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

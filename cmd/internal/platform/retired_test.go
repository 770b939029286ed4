package platform_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// TestRetiredProjectionsDropped: a store upgraded from organization_views_v1 or
// lock_log_v1 (entries as JSON) loses that version's rows and checkpoint at
// start, and its successor is built from position zero.
func TestRetiredProjectionsDropped(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	owner := newClient(t, m.URL())
	owner.signUp("ruud")
	require.NoError(t, m.Close())

	read := filepath.Join(dir, "readmodels")
	s, err := readstore.Open(read)
	require.NoError(t, err)
	successors := map[string]string{"organization_views_v1": "organization_views_v2", "lock_log_v1": "lock_log_v2"}
	for old := range successors {
		require.NoError(t, s.Write(t.Context(), func(b projections.Batch) error {
			return b.Set([]byte(old+"/row/0193"), []byte(`{}`))
		}))
		require.NoError(t, s.SaveCheckpoint(t.Context(), old, es.Position{Commit: 1, Prepare: 1}))
	}
	require.NoError(t, s.Close())

	m = startPlatform(t, dir)
	require.NoError(t, m.Close())
	s, err = readstore.OpenReadOnly(read)
	require.NoError(t, err)
	defer s.Close()
	for old, successor := range successors {
		v, err := s.Get(t.Context(), []byte(old+"/row/0193"))
		require.NoError(t, err)
		require.Nil(t, v, "the retired projection's rows are gone: %s", old)
		at, err := s.LoadCheckpoint(t.Context(), old)
		require.NoError(t, err)
		require.Equal(t, es.Start, at, "and its checkpoint: %s", old)
		at, err = s.LoadCheckpoint(t.Context(), successor)
		require.NoError(t, err)
		require.NotEqual(t, es.Start, at, "its successor ran: %s", successor)
	}
}

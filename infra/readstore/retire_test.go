package readstore_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// TestRetire drops a retired projection's rows and checkpoint, and nothing of its
// successor's or of a projection whose name it prefixes.
func TestRetire(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "read")
	s, err := readstore.Open(dir)
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, s.Write(ctx, func(b projections.Batch) error {
		for _, k := range []string{"views_v1/org/a", "views_v1/shared/b", "views_v2/org/a", "views_v10/org/a"} {
			if err := b.Set([]byte(k), []byte("x")); err != nil {
				return err
			}
		}
		return nil
	}))
	at := es.Position{Commit: 7, Prepare: 7}
	for _, name := range []string{"views_v1", "views_v2", "views_v10"} {
		require.NoError(t, s.SaveCheckpoint(ctx, name, at))
	}

	require.NoError(t, s.Retire(ctx, "views_v1", "never_used_v1"))
	require.NoError(t, s.Close())
	s, err = readstore.Open(dir) // the retirement is durable
	require.NoError(t, err)
	defer s.Close()

	for k, want := range map[string]bool{"views_v1/org/a": false, "views_v1/shared/b": false, "views_v2/org/a": true, "views_v10/org/a": true} {
		v, err := s.Get(ctx, []byte(k))
		require.NoError(t, err)
		require.Equal(t, want, v != nil, k)
	}
	for name, want := range map[string]es.Position{"views_v1": es.Start, "views_v2": at, "views_v10": at} {
		got, err := s.LoadCheckpoint(ctx, name)
		require.NoError(t, err)
		require.Equal(t, want, got, name)
	}
}

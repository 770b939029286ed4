package fsync_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/fsync"
)

func TestPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	require.NoError(t, fsync.Path(file))
	require.NoError(t, fsync.Path(dir))
	require.ErrorIs(t, fsync.Path(filepath.Join(dir, "missing")), os.ErrNotExist)
}

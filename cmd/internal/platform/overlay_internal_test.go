package platform

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/readstore"
)

// TestOverlaySetOnceCopies: a row written once is copied into the buffer, so the
// projection may reuse what it built the row in (the actor index and the lock log
// do, event after event); a row larger than the arena takes gets an array of its
// own.
func TestOverlaySetOnceCopies(t *testing.T) {
	t.Parallel()
	store, err := readstore.OpenBulk(filepath.Join(t.TempDir(), "read"))
	require.NoError(t, err)
	defer store.Close()
	kv := newOverlayKV(store)
	kv.ctx = t.Context()
	b := overlayBatch{kv}
	buf := []byte("key-a" + "value-a")
	require.NoError(t, b.SetOnce(buf[:5], buf[5:]))
	copy(buf, "key-b"+"value-b")
	require.NoError(t, b.SetOnce(buf[:5], buf[5:]))
	large := make([]byte, arenaSlack+1)
	large[0] = 'L'
	require.NoError(t, b.SetOnce([]byte("key-c"), large))
	large[0] = 'X'
	copy(buf, "garbage-garbag")
	require.NoError(t, kv.sync())
	for k, want := range map[string]string{"key-a": "value-a", "key-b": "value-b"} {
		got, err := store.Get(t.Context(), []byte(k))
		require.NoError(t, err)
		require.Equal(t, want, string(got), k)
	}
	got, err := store.Get(t.Context(), []byte("key-c"))
	require.NoError(t, err)
	require.Len(t, got, arenaSlack+1)
	require.Equal(t, byte('L'), got[0])
}

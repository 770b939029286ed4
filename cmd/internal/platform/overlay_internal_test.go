package platform

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/readstore"
)

// TestOverlaySetOnceCopies: a row written once, or Set, is copied into the
// buffer, so the projection may reuse what it built the row in (the actor index,
// the lock log and the revision markers do, event after event); a row larger than
// the arena takes gets an array of its own; and Get returns a value of the
// caller's own.
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
	set := []byte("key-d" + "value-d")
	require.NoError(t, b.Set(set[:5], set[5:]))
	copy(set, "garbage-garbag")
	got, err := b.Get([]byte("key-d"))
	require.NoError(t, err)
	require.Equal(t, "value-d", string(got))
	got[0] = 'X'
	again, err := b.Get([]byte("key-d"))
	require.NoError(t, err)
	require.Equal(t, "value-d", string(again), "Get returns a copy")
	copy(buf, "garbage-garbag")
	require.NoError(t, kv.sync())
	for k, want := range map[string]string{"key-a": "value-a", "key-b": "value-b", "key-d": "value-d"} {
		got, err := store.Get(t.Context(), []byte(k))
		require.NoError(t, err)
		require.Equal(t, want, string(got), k)
	}
	got, err = store.Get(t.Context(), []byte("key-c"))
	require.NoError(t, err)
	require.Len(t, got, arenaSlack+1)
	require.Equal(t, byte('L'), got[0])
}

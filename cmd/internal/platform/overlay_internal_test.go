package platform

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/infra/readstore"
	"sleutel/projections"
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

// BenchmarkOverlaySort sorts buffers of 16,384 events' rows as a replay fills
// them: the lock log's (entry keys of 8,000 locks in the order their events come,
// each lock's in position order, and a revision marker per stream), and the actor
// index's (a row per event, under the device or account that caused it). The
// locks' ids are UUIDv7s of one minute, as a generated history's are: their
// first digits are the same.
func BenchmarkOverlaySort(b *testing.B) {
	rnd := rand.New(rand.NewPCG(1, 2))
	locks := make([]uuid.UUID, 8000) // made in the same minute, as a generated history's are
	for i := range locks {
		locks[i] = uuid.Must(uuid.NewV7())
	}
	bench := func(b *testing.B, rows func(batch overlayBatch, pos int, id uuid.UUID) error) {
		kv := newOverlayKV(nil)
		for pos := range 16_384 {
			if err := rows(overlayBatch{kv}, pos, locks[rnd.IntN(len(locks))]); err != nil {
				b.Fatal(err)
			}
		}
		w := &overlayWrite{rows: kv.rows}
		b.ReportAllocs()
		for b.Loop() {
			w.sortRows()
		}
		for i := 1; i < len(w.order); i++ {
			if w.order[i-1].key >= w.order[i].key {
				b.Fatalf("out of order at %d", i)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(w.rows)), "ns/row")
	}
	b.Run("lock_log", func(b *testing.B) {
		bench(b, func(batch overlayBatch, pos int, id uuid.UUID) error {
			k := fmt.Appendf(nil, "lock_log_v2/ev/%s/\x00\x00\x00\x01/%016x", id, pos)
			if err := batch.SetOnce(k, []byte("entry")); err != nil {
				return err
			}
			return batch.Set(fmt.Appendf(nil, "lock_log_v2/rev/lock-%s", id), []byte("12345678"))
		})
	})
	b.Run("actors", func(b *testing.B) {
		bench(b, func(batch overlayBatch, pos int, id uuid.UUID) error {
			actor := "device:" + id.String()
			if pos%4 == 0 {
				actor = "account:" + id.String()
			}
			k := fmt.Appendf(nil, "audit_actors_v1/a/%c%s%016x%016x", len(actor), actor, 1_700_000_000_000_000_000+pos*1000, pos)
			return batch.SetOnce(k, []byte("report-0190-stream"))
		})
	})
}

// TestChunkPool: the replay buffers' chunks are empty, of the arena's size, apart
// from one another, and handed out again once handed back.
func TestChunkPool(t *testing.T) {
	var p chunkPool
	a, b := p.get(), p.get()
	for _, c := range [][]byte{a, b} {
		require.Empty(t, c)
		require.Equal(t, arenaChunk, cap(c))
	}
	a = append(a, "row one"...)
	b = append(b, "row two"...)
	require.Equal(t, "row one", string(a), "chunks do not overlap")
	p.put([][]byte{a})
	again := p.get()
	require.Empty(t, again)
	require.Equal(t, unsafe.SliceData(a), unsafe.SliceData(again), "a chunk handed back is handed out again")
	require.Equal(t, "row two", string(b))
}

// TestOverlayWritten: over a store that began empty, a key no buffer wrote is
// absent without a read of the store, and a key an earlier buffer wrote (set or
// deleted) reads as the store holds it; over a store that held rows, every key
// not in the buffers is read from the store.
func TestOverlayWritten(t *testing.T) {
	t.Parallel()
	store, err := readstore.OpenBulk(filepath.Join(t.TempDir(), "read"))
	require.NoError(t, err)
	defer store.Close()
	require.NoError(t, store.Write(t.Context(), func(b projections.Batch) error { return b.Set([]byte("other/held"), []byte("x")) }))
	empty := newOverlayKV(store)
	empty.ctx, empty.written = t.Context(), map[uint64]struct{}{}
	b := overlayBatch{empty}
	require.NoError(t, b.Set([]byte("p/a"), []byte("1")))
	require.NoError(t, b.SetJSON([]byte("p/b"), map[string]int{"b": 2}))
	require.NoError(t, b.Set([]byte("p/c"), []byte("3")))
	require.NoError(t, empty.flush(false))
	require.NoError(t, b.Delete([]byte("p/c")))
	require.NoError(t, empty.sync())
	for k, want := range map[string]string{"p/a": "1", "p/b": `{"b":2}`, "p/c": "", "p/never": "", "other/held": ""} {
		got, err := b.Get([]byte(k))
		require.NoError(t, err)
		require.Equal(t, want, string(got), "%s, over a store that began empty", k)
	}
	require.Len(t, empty.written, 3)
	held := newOverlayKV(store)
	held.ctx = t.Context()
	got, err := overlayBatch{held}.Get([]byte("other/held"))
	require.NoError(t, err)
	require.Equal(t, "x", string(got), "over a store that held rows")
}

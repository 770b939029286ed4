package projections

import (
	"testing"
	"unsafe"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

// TestEntryKey: a log entry's key is its tenure's prefix, then its position.
func TestEntryKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		tenure uint32
		pos    es.Position
	}{{0, es.Pos(1)}, {1, es.Position{Commit: 1 << 40, Prepare: 1<<40 + 7}}, {1<<32 - 1, es.Position{Commit: 1<<64 - 1, Prepare: 1<<64 - 1}}} {
		id := uuid.New()
		require.Equal(t, append(entryPrefix(id, c.tenure), posKey(c.pos)...), appendEntryKey([]byte("x"), id, c.tenure, c.pos)[1:])
	}
}

// TestPendingMarkersOwnStreams: a pending marker keeps a copy of its stream's
// name, not the caller's string, which in a replay shares an allocation with a
// whole page of envelopes (keeping them all kept 100 MB more resident in a
// replay of a million events).
func TestPendingMarkersOwnStreams(t *testing.T) {
	t.Parallel()
	page := "lock-a" + "lock-b"
	var m pendingMarkers
	var a, b markerSlot
	m.note(&a, page[:6], 1)
	m.note(&b, page[6:], 4)
	m.note(&a, page[:6], 2)
	require.Equal(t, []pendingMarker{{"lock-a", 2}, {"lock-b", 4}}, m.list)
	for _, p := range m.list {
		require.NotSame(t, unsafe.StringData(page), unsafe.StringData(p.stream))
		require.NotSame(t, unsafe.StringData(page[6:]), unsafe.StringData(p.stream))
	}
}

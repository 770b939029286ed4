package projections

import (
	"testing"

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

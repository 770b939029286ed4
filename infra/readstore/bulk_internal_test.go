package readstore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTableWritable writes the same bytes in pieces of every size through each
// way a table file is written: direct (where the system allows it), through the
// page cache, and falling back from one to the other half way.
func TestTableWritable(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*writeBuffer+directAlign+17)
	for i := range data {
		data[i] = byte(rnd.IntN(256))
	}
	var pool sync.Pool
	for _, mode := range []string{"as created", "buffered", "falls back", "again, with a buffer used before"} {
		t.Run(mode, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "t.sst")
			w, err := createTable(path, &pool)
			require.NoError(t, err)
			if mode == "buffered" {
				require.NoError(t, w.buffered())
			}
			rest := data
			for i := 0; len(rest) > 0; i++ {
				n := min(len(rest), 1+rnd.IntN(3*directAlign))
				if i == 7 {
					n = min(len(rest), writeBuffer+5)
				}
				require.NoError(t, w.Write(bytes.Clone(rest[:n])))
				rest = rest[n:]
				if mode == "falls back" && len(rest) < len(data)/2 && w.direct {
					require.NoError(t, w.buffered())
				}
			}
			require.NoError(t, w.Finish())
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got))
		})
	}
}

// TestEarlySync adds more than earlySync bytes of tables to a bulk store: an
// early sync starts on its way, Close waits for it, and every table is there when
// the store is opened again.
func TestEarlySync(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "read")
	s, err := OpenBulk(dir)
	require.NoError(t, err)
	value := bytes.Repeat([]byte{'v'}, 1<<20)
	const tables, rows = 5, earlySync / (4 << 20) // each table a quarter of earlySync
	for i := range tables {
		require.NoError(t, s.Ingest(t.Context(), func(set func(k, v []byte) error, _ func(k []byte) error) error {
			for j := range rows {
				if err := set(fmt.Appendf(nil, "t%d/%03d", i, j), value); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	require.NotZero(t, s.bulk.syncs.Load())
	require.NoError(t, s.FlushMemTables())
	require.NoError(t, s.Close())
	s, err = Open(dir)
	require.NoError(t, err)
	defer s.Close()
	for i := range tables {
		got, err := s.Get(t.Context(), fmt.Appendf(nil, "t%d/%03d", i, rows-1))
		require.NoError(t, err)
		require.True(t, bytes.Equal(value, got), "table %d", i)
	}
}

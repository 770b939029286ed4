package readstore

import (
	"bytes"
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

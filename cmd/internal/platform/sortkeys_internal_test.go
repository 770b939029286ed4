package platform

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestSortKeys holds sortKeys to sorting the keys whole: keys shorter than the
// abbreviation, keys that are prefixes of others, zero bytes, duplicates of an
// abbreviation that differ after it, and buffers with no shared prefix at all.
func TestSortKeys(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := "\x00\x01ab/\xff"
	for round := range 300 {
		prefix := strings.Repeat("p", r.IntN(3)*10)
		n := r.IntN(60)
		order := make([]sortedKey, n)
		for i := range order {
			var b strings.Builder
			b.WriteString(prefix)
			if round%3 == 0 && i > 0 && r.IntN(2) == 0 { // share an abbreviation with another key
				b.WriteString(order[r.IntN(i)].key[len(prefix):])
			}
			for range r.IntN(24) {
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
			order[i] = sortedKey{key: b.String(), row: int32(i)}
		}
		want := make([]string, n)
		for i, o := range order {
			want[i] = o.key
		}
		slices.Sort(want)
		sortKeys(order)
		got := make([]string, n)
		for i, o := range order {
			got[i] = o.key
		}
		require.Equal(t, want, got, "round %d", round)
	}
}

// lockLogBuffer returns the keys of a replay buffer of the lock log: the entries of
// 16,384 events over 8,000 locks (a hot one with a tenth of them), and each lock's
// revision marker.
func lockLogBuffer() []sortedKey {
	r := rand.New(rand.NewPCG(3, 4))
	locks := make([]uuid.UUID, 8000) // version 7, registered 3 ms apart
	for i := range locks {
		var id uuid.UUID
		ms := uint64(1_733_000_000_000 + 3*i)
		binary.BigEndian.PutUint64(id[:8], ms<<16|0x7000|r.Uint64()&0xfff)
		binary.BigEndian.PutUint64(id[8:], 0x8000_0000_0000_0000|r.Uint64()>>2)
		locks[i] = id
	}
	var order []sortedKey
	seen := map[int]bool{}
	for i := range 16_384 {
		l := r.IntN(len(locks))
		if i%10 == 0 {
			l = 0
		}
		k := fmt.Appendf(nil, "lock_log_v1/ev/%s/", locks[l])
		k = binary.BigEndian.AppendUint32(k, 1)
		k = append(k, '/')
		k = binary.BigEndian.AppendUint64(k, uint64(1_000_000+i))
		k = binary.BigEndian.AppendUint64(k, uint64(1_000_000+i))
		order = append(order, sortedKey{key: string(k), row: int32(len(order))})
		if !seen[l] {
			seen[l] = true
			order = append(order, sortedKey{key: fmt.Sprintf("lock_log_v1/rev/lock-%s", locks[l]), row: int32(len(order))})
		}
	}
	return order
}

// BenchmarkSortKeys sorts a lock-log buffer's keys as overlayWrite.write does
// (abbreviated), and compared whole (the baseline).
func BenchmarkSortKeys(b *testing.B) {
	keys := lockLogBuffer()
	order := make([]sortedKey, len(keys))
	for _, bc := range []struct {
		name string
		sort func([]sortedKey)
	}{
		{"whole", func(o []sortedKey) {
			slices.SortFunc(o, func(a, b sortedKey) int { return strings.Compare(a.key, b.key) })
		}},
		{"abbreviated", sortKeys},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				copy(order, keys)
				bc.sort(order)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
		})
	}
}

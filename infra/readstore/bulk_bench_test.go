//go:build unix

package readstore_test

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"sleutel/infra/readstore"
)

// BenchmarkIngest adds tables of 16,384 rows shaped like a replay's lock-log
// entries (a 73-byte key, a 290-byte value: a device report's payload after the
// entry's own fields) to a bulk store: what a replay spends per row it writes,
// less the sorting.
func BenchmarkIngest(b *testing.B) {
	const rows = 16_384
	locks := make([]uuid.UUID, 2000)
	for i := range locks {
		locks[i] = uuid.Must(uuid.NewV7())
	}
	keys := make([][]byte, rows)
	for i := range keys {
		k := fmt.Appendf(nil, "lock_log_v2/ev/%s/", locks[i%len(locks)])
		k = binary.BigEndian.AppendUint32(k, 1)
		k = append(k, '/')
		k = binary.BigEndian.AppendUint64(k, uint64(i))
		keys[i] = binary.BigEndian.AppendUint64(k, uint64(i))
	}
	slices.SortFunc(keys, func(a, b []byte) int { return slices.Compare(a, b) })
	value := fmt.Appendf(make([]byte, 100), `{"report_id":"r27","lock_id":"%s","type":"battery","occurred_at":"2025-01-18T14:35:17Z","recorded_at":"2025-01-18T14:38:17Z","battery_percent":28}`, locks[0])
	s, err := readstore.OpenBulk(filepath.Join(b.TempDir(), "read"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(rows * (len(keys[0]) + len(value))))
	cpu0 := cpuTime()
	for b.Loop() {
		if err := s.Ingest(b.Context(), func(set func(k, v []byte) error, _ func(k []byte) error) error {
			for _, k := range keys {
				if err := set(k, value); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N*rows), "cpu-ns/row")
}

// cpuTime is the CPU time the process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

package pebblestore_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

var benchPayload = []byte(`{"pad":"` + strings.Repeat("x", 246) + `"}`)

// BenchmarkAppend64Writers appends single 256-byte events from 64 goroutines, each
// to its own stream: the group-commit path.
func BenchmarkAppend64Writers(b *testing.B) {
	s := open(b, b.TempDir())
	defer s.Close()
	per := b.N/64 + 1
	b.ResetTimer()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := es.StreamName("bench", uuid.Must(uuid.NewV7()))
			exp := es.NoStream()
			for range per {
				res, err := s.Append(b.Context(), stream, exp, es.EventData{ID: uuid.Must(uuid.NewV7()), Type: "bench.appended", Data: benchPayload})
				if err != nil {
					b.Error(err)
					return
				}
				exp = es.Exact(res.NextRevision)
			}
		}()
	}
	wg.Wait()
}

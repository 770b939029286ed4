package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"sleutel/domain/es"
	"sleutel/infra/pebblestore"
)

type storeBenchConfig struct {
	duration   time.Duration
	dir        string
	readEvents int
}

// payload256 is a 256-byte JSON payload, the size the store benchmarks append.
var payload256 = []byte(`{"pad":"` + strings.Repeat("x", 256-10) + `"}`)

func benchEvent() es.EventData {
	return es.EventData{ID: uuid.Must(uuid.NewV7()), Type: "bench.appended", Data: payload256,
		Metadata: es.Metadata{Actor: "system:bench"}}
}

// benchStore creates a fresh store in a temporary directory and prints the figures
// of the store issue, one JSON object a line.
func benchStore(ctx context.Context, w io.Writer, cfg storeBenchConfig) error {
	base, err := os.MkdirTemp(cfg.dir, "sleutel-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)

	ceiling, err := fsyncCeiling(ctx, filepath.Join(base, "ceiling"), cfg.duration)
	if err != nil {
		return fmt.Errorf("fsync_ceiling: %w", err)
	}
	if err := emit(w, ceiling); err != nil {
		return err
	}
	s, err := pebblestore.Open(filepath.Join(base, "events"), pebblestore.Options{})
	if err != nil {
		return err
	}
	defer s.Close()

	r := appendWriters(ctx, s, 64, 1, cfg.duration)
	r.Name = "append_64_writers"
	r.RatioToCeiling = round(r.EventsPerS / ceiling.EventsPerS)
	if err := emit(w, r); err != nil {
		return err
	}
	r = appendWriters(ctx, s, 1, 1, cfg.duration)
	r.Name = "append_1_writer"
	r.RatioToCeiling = round(r.EventsPerS / ceiling.EventsPerS)
	if err := emit(w, r); err != nil {
		return err
	}
	r = appendWriters(ctx, s, 1, 100, cfg.duration)
	r.Name = "append_batch_100"
	r.RatioToCeiling = round(r.EventsPerS / ceiling.EventsPerS)
	if err := emit(w, r); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err = readAll(ctx, s, cfg.readEvents)
	if err != nil {
		return fmt.Errorf("read_all: %w", err)
	}
	if err := emit(w, r); err != nil {
		return err
	}
	r, err = subscriptionLag(ctx, s, cfg.duration)
	if err != nil {
		return fmt.Errorf("subscription_lag: %w", err)
	}
	return emit(w, r)
}

// fsyncCeiling measures the raw disk: 256-byte records appended to a plain file, one
// fdatasync per 64 records, one writer.
func fsyncCeiling(ctx context.Context, path string, d time.Duration) (result, error) {
	f, err := os.Create(path)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	rec := make([]byte, 256)
	n := 0
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		for range 64 {
			if _, err := f.Write(rec); err != nil {
				return result{}, err
			}
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return result{}, err
		}
		n += 64
	}
	el := time.Since(start).Seconds()
	return result{Name: "fsync_ceiling", EventsPerS: round(float64(n) / el), Events: n, Seconds: round(el)}, nil
}

// appendWriters runs writers goroutines, each appending batch-event appends to its
// own stream for d, and reports events/s with the latency of each append.
func appendWriters(ctx context.Context, s *pebblestore.Store, writers, batch int, d time.Duration) result {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		all   latencies
		total atomic.Int64
		fail  atomic.Value
	)
	deadline := time.Now().Add(d)
	before := s.Stats()
	start := time.Now()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := es.StreamName("bench", uuid.Must(uuid.NewV7()))
			exp := es.NoStream()
			var mine latencies
			evs := make([]es.EventData, batch)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				for i := range evs {
					evs[i] = benchEvent()
				}
				t0 := time.Now()
				res, err := s.Append(ctx, stream, exp, evs...)
				if err != nil {
					fail.Store(err)
					return
				}
				mine = append(mine, time.Since(t0))
				exp = es.Exact(res.NextRevision)
				total.Add(int64(batch))
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	r := result{EventsPerS: round(float64(total.Load()) / el), P50us: round(all.percentile(0.50)),
		P99us: round(all.percentile(0.99)), Events: int(total.Load()), Seconds: round(el)}
	if after := s.Stats(); after.Commits > before.Commits {
		r.EventsPerFsync = round(float64(after.Events-before.Events) / float64(after.Commits-before.Commits))
	}
	if err, ok := fail.Load().(error); ok {
		r.Note = "stopped by error: " + err.Error()
	}
	return r
}

// readAll fills the log up to n events with batched appends, then times reading the
// whole global log from the start.
func readAll(ctx context.Context, s *pebblestore.Store, n int) (result, error) {
	last, err := s.LastPosition(ctx)
	if err != nil {
		return result{}, err
	}
	have := int(last.Commit)
	evs := make([]es.EventData, 1000)
	for have < n {
		k := min(len(evs), n-have)
		for i := range k {
			evs[i] = benchEvent()
		}
		if _, err := s.Append(ctx, es.StreamName("fill", uuid.Must(uuid.NewV7())), es.NoStream(), evs[:k]...); err != nil {
			return result{}, err
		}
		have += k
	}
	start := time.Now()
	after := es.Start
	read := 0
	for {
		page, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			return result{}, err
		}
		if len(page) == 0 {
			break
		}
		read += len(page)
		after = page[len(page)-1].Position
	}
	el := time.Since(start).Seconds()
	return result{Name: "read_all", EventsPerS: round(float64(read) / el), Events: read, Seconds: round(el)}, nil
}

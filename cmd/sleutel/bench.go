package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"time"
)

func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("bench: name a suite: store")
	}
	switch args[0] {
	case "store":
		fs := flag.NewFlagSet("bench store", flag.ContinueOnError)
		dur := fs.Duration("duration", 3*time.Second, "how long each timed measurement runs")
		dir := fs.String("dir", "", "where to create the temporary store (default: the system temp dir)")
		events := fs.Int("read-events", 1_000_000, "events in the log that read_all reads")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return benchStore(ctx, os.Stdout, storeBenchConfig{duration: *dur, dir: *dir, readEvents: *events})
	}
	return fmt.Errorf("bench: unknown suite %q", args[0])
}

// result is one line of benchmark output. Zero figures are left out.
type result struct {
	Name           string  `json:"name"`
	CPUs           int     `json:"cpus"`
	EventsPerS     float64 `json:"events_per_s,omitempty"`
	P50us          float64 `json:"p50_us,omitempty"`
	P99us          float64 `json:"p99_us,omitempty"`
	RatioToCeiling float64 `json:"ratio_to_ceiling,omitempty"`
	EventsPerFsync float64 `json:"events_per_fsync,omitempty"`
	Events         int     `json:"events,omitempty"`
	Seconds        float64 `json:"seconds,omitempty"`
	Note           string  `json:"note,omitempty"`
}

func emit(w io.Writer, r result) error {
	r.CPUs = runtime.NumCPU()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// latencies collects durations and reports percentiles in microseconds.
type latencies []time.Duration

func (l latencies) percentile(p float64) float64 {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(p * float64(len(s)-1))
	return float64(s[i].Nanoseconds()) / 1e3
}

func round(v float64) float64 {
	switch {
	case v >= 100:
		return float64(int64(v + 0.5))
	default:
		return float64(int64(v*100+0.5)) / 100
	}
}

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
	"strings"
	"time"
)

func runBench(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("bench: name a suite: store, api or audit")
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
	case "api":
		fs := flag.NewFlagSet("bench api", flag.ContinueOnError)
		dur := fs.Duration("duration", 5*time.Second, "how long each timed measurement runs (setup excluded)")
		locks := fs.Int("locks", 1000, "locks the keys and access checks spread over")
		clients := fs.Int("clients", 64, "concurrent keep-alive HTTP clients")
		dir := fs.String("dir", "", "where to create the temporary data directory (default: the system temp dir)")
		prof := fs.String("cpuprofile", "", "write a CPU profile of each measurement to PREFIX.<name>.pprof")
		tr := fs.String("trace", "", "write an execution trace of each measurement to PREFIX.<name>.trace")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return benchAPI(ctx, os.Stdout, apiBenchConfig{duration: *dur, locks: *locks, clients: *clients, dir: *dir,
			cpuprofile: *prof, trace: *tr, log: os.Stderr})
	case "audit":
		fs := flag.NewFlagSet("bench audit", flag.ContinueOnError)
		cfg := defaultAuditBench
		fs.IntVar(&cfg.events, "events", cfg.events, "events in the history")
		fs.IntVar(&cfg.locks, "locks", cfg.locks, "ordinary locks the history spreads over")
		fs.IntVar(&cfg.samples, "samples", cfg.samples, "as_of questions timed")
		fs.StringVar(&cfg.dir, "dir", "", "where to create the temporary store (default: the system temp dir)")
		fs.StringVar(&cfg.profile, "cpuprofile", "", "write a CPU profile of each measurement to PREFIX.<name>.pprof")
		fs.StringVar(&cfg.trace, "trace", "", "write an execution trace of each measurement to PREFIX.<name>.trace")
		fs.StringVar(&cfg.memory, "memprofile", "", "write the allocations so far before and after each measurement to PREFIX.<name>.{before,after}.pprof (go tool pprof -diff_base)")
		only := fs.String("only", "", "run only these measurements, comma-separated: verify, replay, as_of, export (read_all always runs)")
		fs.StringVar(&cfg.history, "history", "", "keep the generated history in DIR, and reuse it if DIR already holds one (the other flags that shape it are then ignored)")
		fs.IntVar(&cfg.replays, "replays", 1, "how many times to measure replay")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *only != "" {
			cfg.only = strings.Split(*only, ",")
		}
		cfg.log = os.Stderr
		return benchAudit(ctx, os.Stdout, cfg)
	}
	return fmt.Errorf("bench: unknown suite %q", args[0])
}

// result is one line of benchmark output. Zero figures are left out.
type result struct {
	Name           string  `json:"name"`
	CPUs           int     `json:"cpus"`
	EventsPerS     float64 `json:"events_per_s,omitempty"`
	PerS           float64 `json:"per_s,omitempty"`
	P50us          float64 `json:"p50_us,omitempty"`
	P99us          float64 `json:"p99_us,omitempty"`
	RatioToCeiling float64 `json:"ratio_to_ceiling,omitempty"`
	RatioToReadAll float64 `json:"ratio_to_read_all,omitempty"`
	InProcessP99us float64 `json:"in_process_p99_us,omitempty"`
	EventsPerFsync float64 `json:"events_per_fsync,omitempty"`
	Events         int     `json:"events,omitempty"`
	Ops            int     `json:"ops,omitempty"`
	Seconds        float64 `json:"seconds,omitempty"`
	CPUSeconds     float64 `json:"cpu_seconds,omitempty"` // user and system, every core: steadier than seconds on a shared machine
	SyncSeconds    float64 `json:"sync_s,omitempty"`      // of seconds, the final sync that makes what was written durable
	AllocMB        float64 `json:"alloc_mb,omitempty"`    // heap allocated during the measurement
	MaxRSSMB       float64 `json:"max_rss_mb,omitempty"`  // the process's peak resident memory so far
	PageFaults     int64   `json:"page_faults,omitempty"` // minor page faults during the measurement
	USPerPage      float64 `json:"us_per_page,omitempty"`
	Note           string  `json:"note,omitempty"`
}

// MarshalJSON leaves out figures that do not apply, but prints a latency's p50 and
// p99 together whenever one was measured: a p50 of 0 is a result (subscription
// lag: the handler often has the event before the writer sees its ack).
func (r result) MarshalJSON() ([]byte, error) {
	type plain result
	if r.P50us == 0 && r.P99us == 0 {
		return json.Marshal(plain(r))
	}
	return json.Marshal(struct {
		plain
		P50us float64 `json:"p50_us"`
		P99us float64 `json:"p99_us"`
	}{plain(r), r.P50us, r.P99us})
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

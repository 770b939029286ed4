package pebblestore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/infra/pebblestore"
)

const crashChildEnv = "PEBBLESTORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashPayload is what the crash child appends: batch b holds n events, this is i.
type crashPayload struct {
	Batch string `json:"batch"`
	I     int    `json:"i"`
	N     int    `json:"n"`
}

// crashChild appends from 16 goroutines until it is killed, printing one line per
// acknowledged append: "<stream> <last revision> <batch id> <events>".
func crashChild(dir string) {
	s, err := pebblestore.Open(dir, pebblestore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var out sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := es.StreamName("crash", uuid.Must(uuid.NewV7()))
			exp := es.NoStream()
			for i := 0; ; i++ {
				n := 1 + (g+i)%3
				batch := uuid.NewString()
				evs := make([]es.EventData, n)
				for k := range evs {
					data, _ := json.Marshal(crashPayload{Batch: batch, I: k, N: n})
					evs[k] = es.EventData{ID: uuid.Must(uuid.NewV7()), Type: "crash.appended", Data: data,
						Metadata: es.Metadata{Actor: "system:crash"}}
				}
				res, err := s.Append(context.Background(), stream, exp, evs...)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				exp = es.Exact(res.NextRevision)
				out.Lock()
				fmt.Fprintf(w, "%s %d %s %d\n", stream, res.NextRevision, batch, n)
				w.Flush()
				out.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedAppends kills a writing process with SIGKILL at an
// arbitrary moment, several times over one directory, and checks after each restart
// that every acknowledged append is there, no append is there in part, and the
// whole hash chain verifies.
func TestCrashKeepsAcknowledgedAppends(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts processes")
	}
	dir := t.TempDir()
	type ack struct {
		stream string
		rev    uint64
		n      int
	}
	var acked []ack
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		lines := bufio.NewScanner(stdout)
		want := 300 + round*400
		got := 0
		for got < want && lines.Scan() {
			var a ack
			var batch string
			_, err := fmt.Sscanf(lines.Text(), "%s %d %s %d", &a.stream, &a.rev, &batch, &a.n)
			require.NoError(t, err, "child line %q", lines.Text())
			acked = append(acked, a)
			got++
		}
		require.Equal(t, want, got, "child stopped early: %s", stderr.String())
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()

		s := open(t, dir)
		ctx := t.Context()
		for _, a := range acked {
			recs, err := s.ReadStream(ctx, a.stream, a.rev, 1)
			require.NoError(t, err)
			require.Len(t, recs, 1, "round %d: acknowledged %s revision %d is missing", round, a.stream, a.rev)
		}
		v := es.NewVerifier()
		batches := map[string][]int{}
		sizes := map[string]int{}
		after := es.Start
		for {
			page, err := s.ReadAll(ctx, after, 4096)
			require.NoError(t, err)
			if len(page) == 0 {
				break
			}
			for i := range page {
				require.NoError(t, v.Add(&page[i]), "round %d: hash chain", round)
				var p crashPayload
				require.NoError(t, json.Unmarshal(page[i].Data, &p))
				batches[p.Batch] = append(batches[p.Batch], p.I)
				sizes[p.Batch] = p.N
			}
			after = page[len(page)-1].Position
		}
		for b, got := range batches {
			require.Len(t, got, sizes[b], "round %d: batch %s is there in part", round, b)
		}
		require.GreaterOrEqual(t, v.Events(), uint64(len(acked)), "round %d", round)
		require.NoError(t, s.Close())
	}
}

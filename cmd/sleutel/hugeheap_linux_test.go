package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// heapChildEnv makes the test binary, started by TestAdviseHeap, advise its heap
// before anything else and report what came of it.
const heapChildEnv = "SLEUTEL_TEST_ADVISE_HEAP"

func TestMain(m *testing.M) {
	if os.Getenv(heapChildEnv) != "" {
		adviseHeapChild()
		return
	}
	os.Exit(m.Run())
}

// adviseHeapChild advises the heap, as sleutel's main does, then grows the heap
// by 256 MiB of small objects written once a page, and prints what was advised,
// the page faults that took and the anonymous memory on huge pages.
func adviseHeapChild() {
	advised := adviseHeap()
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	held := make([][]byte, 0, 1<<16)
	for range 1 << 16 {
		b := make([]byte, 4096)
		b[0] = 1
		held = append(held, b)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	rollup, _ := os.ReadFile("/proc/self/smaps_rollup")
	huge := regexp.MustCompile(`AnonHugePages:\s+(\d+) kB`).FindSubmatch(rollup)
	kb := "0"
	if huge != nil {
		kb = string(huge[1])
	}
	fmt.Printf("advised=%d faults=%d huge_kb=%s held=%d\n", advised, after.Minflt-before.Minflt, kb, len(held))
}

// TestAdviseHeap: a process that advises its heap before its first collection
// grows it on huge pages, where the system offers them, taking a page fault per
// 2 MiB rather than per 4 KiB; one that has collected already advises nothing.
func TestAdviseHeap(t *testing.T) {
	runtime.GC()
	require.Zero(t, adviseHeap(), "this process has collected: advising now would have the memory zeroed")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), heapChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var advised, faults, hugeKB, held int
	_, err = fmt.Sscanf(string(bytes.TrimSpace(out)), "advised=%d faults=%d huge_kb=%d held=%d", &advised, &faults, &hugeKB, &held)
	require.NoError(t, err, "%s", out)
	require.Equal(t, 1<<16, held)
	require.Greater(t, advised, 64<<20, "the heap's first bytes are advised")

	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages are off here (%q): the advice is harmless, and idle", mode)
	}
	require.Greater(t, hugeKB, 128<<10, "256 MiB of heap on huge pages: %s", out)
	if !raceEnabled { // whose shadow pages are small, and fault as the heap grows
		require.Less(t, faults, (256<<20)/4096/4, "a fault per 2 MiB, not per 4 KiB: %s", out)
	}
	t.Logf("%s (4 KiB pages would be %s faults)", bytes.TrimSpace(out), strconv.Itoa((256<<20)/4096))
}

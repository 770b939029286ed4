package main

import (
	"runtime"
	"runtime/metrics"
	"syscall"

	"sleutel/cmd/internal/platform"
)

// adviseHeap has the heap's first gigabyte (an eighth of the machine's memory at
// most) backed by huge pages, and returns how many bytes it advised. It allocates
// that much, advises the kernel, and lets it go: the heap then grows into memory
// mapped with the advice, which Go keeps mapped for the life of the process, and
// every 2 MiB of it faults in at once. Go itself advises nothing since 1.21.1.
//
// On this kind of virtual machine a 4 KiB page costs 11-12 µs to fault in
// (sleutel bench audit's fresh_page) and a huge page's worth of them 0.3-7 µs a
// 4 KiB (fresh_huge_page): a replay of a million events in a fresh process
// faulted 60-67 k pages, and 3.5-4.6 k so, and ran at 319-323 k events/s rather
// than 285-289 k (2 alternating pairs, --only replay). After the benchmark's
// history is generated in the same process, the replay's heap has little left to
// fault in either way; there 4 alternating runs gave 314-378 k with the advice
// and 287-353 k without, which fewer TLB misses (a virtual machine pays twice
// for each) may explain, and the noise may too.
//
// It does nothing once a collection has run: the memory it would be given might
// then have been used, and Go would zero it, faulting all of it in small pages.
// Before main's first collection the heap has only ever grown, and a large
// allocation takes fresh memory, which Go knows is zero and leaves untouched.
func adviseHeap() int {
	cycles := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(cycles)
	if cycles[0].Value.Kind() != metrics.KindUint64 || cycles[0].Value.Uint64() != 0 {
		return 0
	}
	n := 1 << 30
	var info syscall.Sysinfo_t
	if syscall.Sysinfo(&info) == nil {
		n = min(n, int(uint64(info.Totalram)*uint64(info.Unit)/8))
	}
	if n < 32<<20 {
		return 0
	}
	advised := platform.AdviseHuge(make([]byte, n))
	runtime.GC() // lets the allocation go
	return advised
}

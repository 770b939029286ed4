//go:build unix

package main

import (
	"errors"
	"runtime"
	"syscall"
	"time"

	"sleutel/cmd/internal/platform"
)

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// memoryUse returns the process's peak resident memory and the page faults it
// has taken that needed no disk (a fresh page of memory is one).
func memoryUse() (maxRSSBytes int64, minorFaults int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss), int64(ru.Minflt) // in bytes there
	}
	return int64(ru.Maxrss) * 1024, int64(ru.Minflt) // in KiB elsewhere
}

// freshPageCost measures what the first touch of a fresh page of memory costs:
// 64 MiB mapped anonymously and written once a page. On a virtual machine it can
// cost far more than the write (a trap to the kernel, which zeroes the page, and
// on some hosts to the hypervisor too); every byte a process's heap grows by
// pays it once.
// With huge, the memory is advised to be backed by huge pages (platform.AdviseHuge),
// as the heap of the audit commands is (adviseHeap).
func freshPageCost(huge bool) (perPage time.Duration, err error) {
	const size = 64 << 20
	page := syscall.Getpagesize()
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return 0, err
	}
	defer syscall.Munmap(b)
	if huge && platform.AdviseHuge(b) == 0 {
		return 0, errors.ErrUnsupported
	}
	start := time.Now()
	for i := 0; i < size; i += page {
		b[i] = 1
	}
	return time.Since(start) / time.Duration(size/page), nil
}

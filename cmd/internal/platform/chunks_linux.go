package platform

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on the platforms Sleutel runs on.
const hugePage = 2 << 20

// AdviseHuge advises the kernel to back b with huge pages, from its first huge
// page boundary to its last (transparent huge pages in "madvise" mode, the
// common default; "always" needs no advice and "never" ignores it). It returns
// how many bytes it advised. It is advice only: small pages serve as well, a
// little slower.
func AdviseHuge(b []byte) int {
	skip := hugeSkip(b)
	if skip >= len(b) {
		return 0
	}
	n := (len(b) - skip) &^ (hugePage - 1)
	if n == 0 || syscall.Madvise(b[skip:skip+n], syscall.MADV_HUGEPAGE) != nil {
		return 0
	}
	return n
}

// hugeSkip is how many bytes of b come before its first huge page boundary.
func hugeSkip(b []byte) int {
	return int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (hugePage - 1))
}

// mapChunks maps n bytes outside Go's heap, aligned to a huge page and advised to
// be backed by huge pages. It returns nil when the system refuses the mapping.
func mapChunks(n int) []byte {
	b, err := syscall.Mmap(-1, 0, n+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	skip := hugeSkip(b)
	b = b[skip : skip+n : skip+n]
	AdviseHuge(b)
	return b
}

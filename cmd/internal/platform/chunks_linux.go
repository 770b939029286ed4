package platform

import (
	"syscall"
	"unsafe"
)

// mapChunks maps n bytes outside Go's heap, aligned to a huge page and advised to
// be backed by huge pages (transparent huge pages on madvise). It returns nil
// when the system refuses the mapping.
func mapChunks(n int) []byte {
	const huge = 2 << 20
	b, err := syscall.Mmap(-1, 0, n+huge, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (huge - 1))
	b = b[skip : skip+n : skip+n]
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // advice only: small pages serve as well, a little slower
	return b
}

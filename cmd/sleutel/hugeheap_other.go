//go:build !linux

package main

// adviseHuge advises nothing where huge pages are not known.
func adviseHuge([]byte) int { return 0 }

// adviseHeap advises nothing where huge pages are not known.
func adviseHeap() int { return 0 }

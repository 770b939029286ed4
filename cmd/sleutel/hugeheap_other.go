//go:build !linux

package main

// adviseHeap advises nothing where huge pages are not known.
func adviseHeap() int { return 0 }

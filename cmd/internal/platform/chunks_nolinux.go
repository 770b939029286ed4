//go:build unix && !linux

package platform

func madviseHuge([]byte) error { return nil }

//go:build !linux

package platform

// mapChunks maps nothing here: the chunks come from Go's heap.
func mapChunks(int) []byte { return nil }

// AdviseHuge advises nothing where huge pages are not known.
func AdviseHuge([]byte) int { return 0 }

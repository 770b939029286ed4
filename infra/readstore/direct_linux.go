package readstore

import (
	"os"
	"syscall"
)

// createDirect creates the file at path for writing past the page cache.
func createDirect(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_DIRECT, 0o644)
}

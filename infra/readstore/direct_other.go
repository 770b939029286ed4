//go:build !linux

package readstore

import (
	"errors"
	"os"
)

// createDirect creates the file at path for writing past the page cache: Linux
// only (elsewhere tables are written through the cache).
func createDirect(string) (*os.File, error) { return nil, errors.ErrUnsupported }

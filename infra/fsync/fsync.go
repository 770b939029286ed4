// Package fsync makes what is written to a file or a directory durable.
package fsync

import "os"

// Path syncs the file or directory at path to stable storage: a file's data and
// metadata, or a directory's entries (after a file in it was created, renamed or
// linked).
func Path(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

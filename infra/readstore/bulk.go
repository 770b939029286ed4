package readstore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// OpenReadOnly opens an existing read store for reading only: Pebble writes
// nothing to the directory, and Write fails. Pebble still takes the directory's
// lock: a read store a running sleuteld holds cannot be opened.
func OpenReadOnly(dir string) (*Store, error) {
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	db, err := pebble.Open(dir, &pebble.Options{Cache: cache, Logger: quiet{}, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("open read store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// OpenBulk opens (creating if needed) a read store to be filled in bulk, as a
// replay fills a new one: without a write-ahead log, with large memtables, no
// compression and no compactions while it fills (its tables are compacted when it
// is next opened with Open). Nothing written is durable until FlushMemTables
// returns; a crash before loses the lot, which a replay simply starts again.
func OpenBulk(dir string) (*Store, error) {
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, MemTableSize: 128 << 20, MemTableStopWritesThreshold: 8, DisableWAL: true,
		DisableAutomaticCompactions: true, L0CompactionThreshold: 1 << 20, L0StopWritesThreshold: 1 << 20, Logger: quiet{}}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open read store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Load applies writes as one batch, without reading back: set and del add to it,
// and the batch is committed when fn returns nil.
func (s *Store) Load(ctx context.Context, fn func(set func(key, value []byte) error, del func(key []byte) error) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	err := fn(func(k, v []byte) error { return b.Set(k, v, nil) }, func(k []byte) error { return b.Delete(k, nil) })
	if err != nil {
		return err
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("read store load: %w", err)
	}
	return nil
}

// FlushMemTables writes everything in memory to the directory's tables and syncs
// them: what makes a store opened with OpenBulk durable.
func (s *Store) FlushMemTables() error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("read store flush: %w", err)
	}
	return nil
}

// Package readstore keeps Sleutel's read models in the data directory, on Pebble.
// Read models are derived from the event log and can be rebuilt at any time, so
// writes are not fsync'd one by one: a crash may lose the last milliseconds, which
// the projections simply apply again (they are idempotent).
package readstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"

	"sleutel/domain/es"
	"sleutel/projections"
)

// Store is a Pebble database of read models. It also keeps checkpoints.
type Store struct {
	db   *pebble.DB
	bulk *bulk  // set by OpenBulk: how Ingest builds its tables
	dir  string // set by OpenBulk, which syncs it whole
}

// Open opens (creating if needed) the read store in dir.
func Open(dir string) (*Store, error) {
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, MemTableSize: 32 << 20, Logger: quiet{}}
	// Read models are small and read on every request: uncompressed blocks spare
	// a decompression per cache miss (snappy was 3% of an issued key's CPU).
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open read store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close releases the directory.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.bulk != nil {
		s.bulk.early.Wait()
		err = errors.Join(err, os.RemoveAll(s.bulk.dir))
	}
	return err
}

// Get implements projections.KV.
func (s *Store) Get(ctx context.Context, key []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read store get: %w", err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// Scan implements projections.KV.
func (s *Store) Scan(ctx context.Context, prefix, start []byte, limit int, reverse bool) ([]projections.Pair, error) {
	opts := &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)}
	if start != nil {
		if reverse {
			opts.UpperBound = append(bytes.Clone(start), 0) // start is inclusive
		} else {
			opts.LowerBound = start
		}
	}
	it, err := s.db.NewIterWithContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("read store scan: %w", err)
	}
	defer it.Close()
	var out []projections.Pair
	first, next := it.First, it.Next
	if reverse {
		first, next = it.Last, it.Prev
	}
	for ok := first(); ok && len(out) < limit; ok = next() {
		out = append(out, projections.Pair{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("read store scan: %w", err)
	}
	return out, ctx.Err()
}

// Write implements projections.KV.
func (s *Store) Write(ctx context.Context, fn func(projections.Batch) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.db.NewIndexedBatch()
	defer b.Close()
	if err := fn(batch{b}); err != nil {
		return err
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("read store write: %w", err)
	}
	return nil
}

type batch struct{ b *pebble.Batch }

func (b batch) Get(key []byte) ([]byte, error) {
	v, closer, err := b.b.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

func (b batch) Set(key, value []byte) error { return b.b.Set(key, value, nil) }
func (b batch) Delete(key []byte) error     { return b.b.Delete(key, nil) }
func (b batch) DeletePrefix(prefix []byte) error {
	return b.b.DeleteRange(prefix, prefixEnd(prefix), nil)
}

var checkpointPrefix = []byte("\x00checkpoint/")

// LoadCheckpoint returns the position saved under name, or es.Start.
func (s *Store) LoadCheckpoint(ctx context.Context, name string) (es.Position, error) {
	v, err := s.Get(ctx, append(bytes.Clone(checkpointPrefix), name...))
	if err != nil || v == nil {
		return es.Start, err
	}
	if len(v) != 16 {
		return es.Start, fmt.Errorf("checkpoint %s: %d bytes", name, len(v))
	}
	return es.Position{Commit: binary.BigEndian.Uint64(v), Prepare: binary.BigEndian.Uint64(v[8:])}, nil
}

// SaveCheckpoint stores pos under name, without an fsync of its own (see the
// package comment: at worst events are applied again).
func (s *Store) SaveCheckpoint(ctx context.Context, name string, pos es.Position) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(nil, pos.Commit)
	v = binary.BigEndian.AppendUint64(v, pos.Prepare)
	if err := s.db.Set(append(bytes.Clone(checkpointPrefix), name...), v, pebble.NoSync); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", name, err)
	}
	return nil
}

// Flush makes everything written so far durable (used on clean shutdown).
func (s *Store) Flush() error { return s.db.LogData(nil, pebble.Sync) }

func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

type quiet struct{}

func (quiet) Infof(string, ...any)           {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Fatalf(format string, a ...any) { panic(fmt.Sprintf("pebble: "+format, a...)) }

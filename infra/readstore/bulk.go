package readstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
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

// bulk is what a store opened with OpenBulk needs to build the tables it ingests.
type bulk struct {
	dir     string // where tables are built before Pebble links them in
	writer  sstable.WriterOptions
	seq     atomic.Uint64
	buffers sync.Pool // of *[writeBuffer + directAlign]byte, for fileWritable

	// An early sync every earlySync bytes of tables added (see added).
	unsynced atomic.Int64 // bytes added since the last early sync started
	syncing  atomic.Bool  // an early sync is running
	early    sync.WaitGroup
	syncs    atomic.Int32 // early syncs started
}

// earlySync is how many bytes of tables a bulk store adds between early syncs.
const earlySync = 64 << 20

// added counts n more bytes of tables, and starts an early sync in the background
// when earlySync have been added since the last one and none is running. It syncs
// the directory the tables are built in, which commits the file system's journal
// (the new tables' sizes and extents) and has the device flush its cache, which
// holds the tables written past the page cache. Nothing counts on it:
// FlushMemTables still syncs every file. But the device then writes the tables
// while the replay goes on, rather than all of them in the final sync with both
// cores idle: a replay of a million events writes 520 MB of tables, and its final
// sync went from 0.38-0.55 s to 0.08-0.10 s (sleutel bench audit, sync_s, 3
// alternating pairs on a 2-core VM).
func (b *bulk) added(n int64) {
	if b.unsynced.Add(n) < earlySync || !b.syncing.CompareAndSwap(false, true) {
		return
	}
	b.unsynced.Store(0)
	b.syncs.Add(1)
	b.early.Go(func() {
		defer b.syncing.Store(false)
		syncPath(b.dir) // a failure here shows again in FlushMemTables
	})
}

// ingestDir is the directory, inside a bulk store's, where Ingest builds its
// tables; Pebble ignores it, and Close removes it.
const ingestDir = "bulk-ingest"

// OpenBulk opens (creating if needed) a read store to be filled in bulk, as a
// replay fills a new one: without a write-ahead log, with large memtables, no
// compression and no compactions while it fills (its tables are compacted when it
// is next opened with Open). Its tables have no Bloom filters, as the live
// store's have none: a replay's buffers answer for the keys they never wrote
// (overlayKV.written), so few point reads reach the tables, and the filters of a
// million-event replay's tables cost 0.2 CPU-s in the table writers (RawRowWriter.Add
// 0.65-0.69 -> 0.43-0.46 CPU-s of samples, its point reads 0.05-0.08 -> 0.09-0.15;
// 2 alternating pairs).
// Nothing is synced while it fills, not a table, the directory nor Pebble's
// manifest: FlushMemTables syncs all of it at once, and nothing written is durable
// before it returns. A crash before leaves a store to delete (a replay starts
// again, into a new directory); the syncs of each table added kept a replay's
// writers waiting 1.3 s of its 5.6 (go tool trace, syscall blocking).
func OpenBulk(dir string) (*Store, error) {
	cache := pebble.NewCache(64 << 20)
	defer cache.Unref()
	opts := &pebble.Options{FS: unsyncedFS{vfs.Default}, Cache: cache, MemTableSize: 128 << 20, MemTableStopWritesThreshold: 8, DisableWAL: true,
		DisableAutomaticCompactions: true, L0CompactionThreshold: 1 << 20, L0StopWritesThreshold: 1 << 20, Logger: quiet{}}
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open read store %s: %w", dir, err)
	}
	b := &bulk{dir: filepath.Join(dir, ingestDir)}
	if err := os.RemoveAll(b.dir); err == nil {
		err = os.Mkdir(b.dir, 0o755)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open read store %s: %w", dir, err)
	}
	opts.EnsureDefaults()
	b.writer = opts.MakeWriterOptions(0, db.TableFormat())
	// Blocks of 32 KiB rather than 4: a replay writes two million rows, and
	// BenchmarkIngest spends a sixth less CPU a row (fewer blocks to finish and
	// index). A point read during the replay is rare (see OpenBulk).
	b.writer.BlockSize = 32 << 10
	return &Store{db: db, bulk: b, dir: dir}, nil
}

// unsyncedFS is a file system whose files are never synced: a bulk store's, which
// FlushMemTables syncs whole.
type unsyncedFS struct{ vfs.FS }

func (fs unsyncedFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return unsynced(fs.FS.Create(name, category))
}

func (fs unsyncedFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return unsynced(fs.FS.OpenReadWrite(name, category, opts...))
}

func (fs unsyncedFS) OpenDir(name string) (vfs.File, error) { return unsynced(fs.FS.OpenDir(name)) }

func (fs unsyncedFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return unsynced(fs.FS.ReuseForWrite(oldname, newname, category))
}

func unsynced(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return unsyncedFile{f}, nil
}

// unsyncedFile is a file whose syncs do nothing.
type unsyncedFile struct{ vfs.File }

func (unsyncedFile) Sync() error                { return nil }
func (unsyncedFile) SyncData() error            { return nil }
func (unsyncedFile) SyncTo(int64) (bool, error) { return false, nil }

// syncTree syncs every file under dir, eight at a time (the device takes them
// together), then each directory, deepest first.
func syncTree(dir string) error {
	var dirs, files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			dirs = append(dirs, path)
		case d.Type().IsRegular():
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i, f := range files {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := syncPath(f); !errors.Is(err, fs.ErrNotExist) { // one Pebble let go of needs none
				errs[i] = err
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncPath(dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

func syncPath(path string) error {
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

// Ingest applies writes as Load does, but fn must give the keys in strictly
// increasing order: on a store opened with OpenBulk they are written straight
// into a table that Pebble then adds to the store whole (no batch, no memtable,
// no flush: a replay writes a million rows several times faster). The table is
// synced with the rest of the store, by FlushMemTables. Other stores Load the
// writes.
func (s *Store) Ingest(ctx context.Context, fn func(set func(key, value []byte) error, del func(key []byte) error) error) error {
	if s.bulk == nil {
		return s.Load(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	path := filepath.Join(s.bulk.dir, fmt.Sprintf("%06d.sst", s.bulk.seq.Add(1)))
	f, err := createTable(path, &s.bulk.buffers)
	if err != nil {
		return fmt.Errorf("read store ingest: %w", err)
	}
	defer os.Remove(path) // Pebble has linked it in, or it failed
	w := sstable.NewWriter(f, s.bulk.writer)
	n := 0
	err = fn(func(k, v []byte) error { n++; return w.Set(k, v) }, func(k []byte) error { n++; return w.Delete(k) })
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > 0 {
		if err = s.db.Ingest(ctx, []string{path}); err == nil {
			s.bulk.added(f.off)
		}
	}
	if err != nil {
		return fmt.Errorf("read store ingest: %w", err)
	}
	return nil
}

// fileWritable is where a table is built: a file written from a large buffer,
// synced when the table is finished. Where the system allows it, the file is
// written past the page cache (O_DIRECT): copying a replay's hundreds of megabytes
// into the cache cost as much CPU as building the tables (481 MB/s through the
// cache against 1.8 GB/s direct on the 2-core machine it was measured on). The
// table's last partial block goes through the cache.
type fileWritable struct {
	path   string
	f      *os.File // O_DIRECT when direct
	direct bool
	buf    []byte // aligned to directAlign
	n      int    // bytes in buf
	off    int64  // bytes written to f
	pool   *sync.Pool
	raw    *[writeBuffer + directAlign]byte // buf's array, back to pool when done
}

// directAlign is the alignment O_DIRECT asks of buffers, offsets and sizes (the
// largest logical block size in use).
const directAlign = 4096

const writeBuffer = 1 << 20

// createTable creates the file of a table at path, with a buffer from pool (a
// replay builds hundreds of tables).
func createTable(path string, pool *sync.Pool) (*fileWritable, error) {
	f, err := createDirect(path)
	direct := err == nil
	if !direct {
		if f, err = os.Create(path); err != nil {
			return nil, err
		}
	}
	raw, _ := pool.Get().(*[writeBuffer + directAlign]byte)
	if raw == nil {
		raw = new([writeBuffer + directAlign]byte)
	}
	skip := int(-uintptr(unsafe.Pointer(&raw[0])) & (directAlign - 1))
	return &fileWritable{path: path, f: f, direct: direct, buf: raw[skip : skip+writeBuffer], pool: pool, raw: raw}, nil
}

// release hands the buffer back.
func (w *fileWritable) release() {
	if w.raw != nil {
		w.buf = nil
		w.pool.Put(w.raw)
		w.raw = nil
	}
}

func (w *fileWritable) Write(p []byte) error {
	for len(p) > 0 {
		c := copy(w.buf[w.n:], p)
		w.n += c
		p = p[c:]
		if w.n == len(w.buf) {
			if err := w.flush(w.n); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the first n bytes of the buffer (a multiple of directAlign when
// direct) and keeps the rest.
func (w *fileWritable) flush(n int) error {
	if n == 0 {
		return nil
	}
	if _, err := w.f.WriteAt(w.buf[:n], w.off); err != nil {
		if !w.direct {
			return err
		}
		if err := w.buffered(); err != nil { // a file system that opens O_DIRECT but refuses to write so
			return err
		}
		if _, err := w.f.WriteAt(w.buf[:n], w.off); err != nil {
			return err
		}
	}
	w.off += int64(n)
	w.n = copy(w.buf, w.buf[n:w.n])
	return nil
}

// buffered goes on through the page cache.
func (w *fileWritable) buffered() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	w.f.Close()
	w.f, w.direct = f, false
	return nil
}

func (w *fileWritable) Finish() error {
	err := w.flush(w.n &^ (directAlign - 1))
	if err == nil && w.n > 0 {
		err = w.buffered()
		if err == nil {
			err = w.flush(w.n)
		}
	}
	// Not synced here: FlushMemTables syncs the whole store.
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.release()
	return err
}

func (w *fileWritable) Abort() {
	w.f.Close()
	w.release()
}

// FlushMemTables writes everything in memory to the directory's tables and syncs
// them: what makes a store opened with OpenBulk durable, each of its files and
// directories synced.
func (s *Store) FlushMemTables() error {
	if err := s.db.Flush(); err != nil {
		return fmt.Errorf("read store flush: %w", err)
	}
	if s.bulk != nil {
		s.bulk.early.Wait()
		if err := syncTree(s.dir); err != nil {
			return fmt.Errorf("read store sync: %w", err)
		}
	}
	return nil
}

// Package pebbletamper changes an embedded event store behind its back, as an
// attacker with the data directory could, so tests can show the hash chain
// catches it (SPEC H4). Only tests import it: nothing in a binary does.
//
// It reads the store's key layout (infra/pebblestore/codec.go), which it mirrors;
// its own test checks it against the store.
package pebbletamper

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

const (
	prefixLog    = 0x01
	prefixStream = 0x02
)

// Payload flips one bit inside the JSON payload of stream's event at revision, in
// the closed store at dir. It returns the event's global position.
func Payload(dir, stream string, revision uint64) (uint64, error) {
	return change(dir, stream, revision, func(db *pebble.DB, logKey, _ []byte) error {
		rec, closer, err := db.Get(logKey)
		if err != nil {
			return err
		}
		changed := append([]byte(nil), rec...)
		closer.Close()
		changed[len(changed)-2] ^= 0x01 // inside the payload, which ends the record
		return db.Set(logKey, changed, pebble.Sync)
	})
}

// Drop deletes stream's event at revision from the closed store at dir, from the
// log and from the stream's index, as an attacker hiding an event would. It
// returns the event's global position.
func Drop(dir, stream string, revision uint64) (uint64, error) {
	return change(dir, stream, revision, func(db *pebble.DB, logKey, streamKey []byte) error {
		b := db.NewBatch()
		_ = b.Delete(logKey, nil)
		_ = b.Delete(streamKey, nil)
		return b.Commit(pebble.Sync)
	})
}

// change opens the store at dir, finds stream's event at revision and hands its
// log and stream-index keys to fn. It returns the event's global position.
func change(dir, stream string, revision uint64, fn func(db *pebble.DB, logKey, streamKey []byte) error) (uint64, error) {
	db, err := pebble.Open(dir, &pebble.Options{Logger: quiet{}})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	key := append([]byte{prefixStream}, stream...)
	key = binary.BigEndian.AppendUint64(append(key, 0), revision)
	idx, closer, err := db.Get(key)
	if err != nil {
		return 0, fmt.Errorf("tamper %s/%d: %w", stream, revision, err)
	}
	pos := binary.BigEndian.Uint64(idx)
	closer.Close()
	if err := fn(db, binary.BigEndian.AppendUint64([]byte{prefixLog}, pos), key); err != nil {
		return 0, fmt.Errorf("tamper %s/%d: %w", stream, revision, err)
	}
	return pos, nil
}

type quiet struct{}

func (quiet) Infof(string, ...any)           {}
func (quiet) Errorf(string, ...any)          {}
func (quiet) Fatalf(format string, a ...any) { panic(fmt.Sprintf("pebble: "+format, a...)) }

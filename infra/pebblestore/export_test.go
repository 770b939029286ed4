package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// TamperPayload flips one byte of the stored payload of stream's event at revision,
// behind the store's back, as an attacker with the data directory would.
func (s *Store) TamperPayload(stream string, revision uint64) error {
	v, closer, err := s.db.Get(streamKey(nil, stream, revision))
	if err != nil {
		return fmt.Errorf("tamper %s/%d: %w", stream, revision, err)
	}
	e, err := decodeIndex(v)
	closer.Close()
	if err != nil {
		return err
	}
	key := logKey(nil, e.pos)
	rec, closer, err := s.db.Get(key)
	if err != nil {
		return err
	}
	changed := append([]byte(nil), rec...)
	closer.Close()
	changed[len(changed)-2] ^= 0x01 // inside the JSON payload, which ends the record
	return s.db.Set(key, changed, pebble.Sync)
}

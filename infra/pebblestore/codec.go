package pebblestore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Key layout. One byte of prefix keeps each family in its own key range.
//
//	0x00 "format"                     → format version
//	0x01 position(8, big-endian)      → record (encodeRecord)
//	0x02 stream 0x00 revision(8, BE)  → position(8) id(16) hash(32)
//	0x03 name                         → checkpoint: commit(8) prepare(8)
const (
	prefixMeta       = 0x00
	prefixLog        = 0x01
	prefixStream     = 0x02
	prefixCheckpoint = 0x03
	recordFormat     = 1
	indexValueLen    = 8 + 16 + 32
)

var formatKey = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}

func logKey(buf []byte, pos uint64) []byte {
	buf = append(buf[:0], prefixLog)
	return binary.BigEndian.AppendUint64(buf, pos)
}

func streamPrefix(buf []byte, stream string) []byte {
	buf = append(buf[:0], prefixStream)
	buf = append(buf, stream...)
	return append(buf, 0)
}

func streamKey(buf []byte, stream string, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(streamPrefix(buf, stream), rev)
}

func checkpointKey(name string) []byte {
	return append([]byte{prefixCheckpoint}, name...)
}

func indexValue(buf []byte, pos uint64, id uuid.UUID, h es.Hash) []byte {
	buf = binary.BigEndian.AppendUint64(buf[:0], pos)
	buf = append(buf, id[:]...)
	return append(buf, h[:]...)
}

type indexEntry struct {
	pos  uint64
	id   uuid.UUID
	hash es.Hash
}

func decodeIndex(v []byte) (indexEntry, error) {
	if len(v) != indexValueLen {
		return indexEntry{}, errCorrupt("stream index entry of %d bytes", len(v))
	}
	var e indexEntry
	e.pos = binary.BigEndian.Uint64(v)
	copy(e.id[:], v[8:24])
	copy(e.hash[:], v[24:])
	return e, nil
}

// revisionOf reads the revision from the end of a stream index key.
func revisionOf(key []byte) uint64 { return binary.BigEndian.Uint64(key[len(key)-8:]) }

// encodeRecord appends the stored form of r to buf:
//
//	format(1) id(16) revision(uvarint) recorded_unix_nano(varint) hash(32)
//	stream type actor correlation causation (uvarint length + bytes each)
//	extra count (uvarint) then key, value pairs (as strings above)
//	payload (the rest)
func encodeRecord(buf []byte, r *es.Record) []byte {
	buf = append(buf[:0], recordFormat)
	buf = append(buf, r.ID[:]...)
	buf = binary.AppendUvarint(buf, r.Revision)
	buf = binary.AppendVarint(buf, r.RecordedAt.UnixNano())
	buf = append(buf, r.Hash[:]...)
	for _, s := range [...]string{r.Stream, r.Type, r.Metadata.Actor, r.Metadata.CorrelationID, r.Metadata.CausationID} {
		buf = appendString(buf, s)
	}
	buf = binary.AppendUvarint(buf, uint64(len(r.Metadata.Extra)))
	for k, v := range r.Metadata.Extra {
		buf = appendString(buf, k)
		buf = appendString(buf, v)
	}
	return append(buf, r.Data...)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// ErrCorrupt is matched by every failure to decode what the store holds.
var ErrCorrupt = errors.New("corrupt event store")

func errCorrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

type decoder struct {
	b   []byte
	err error
	own bool // b is a private copy that outlives the decoder: str may alias it
}

func (d *decoder) fixed(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = errCorrupt("record truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errCorrupt("string of %d bytes past the record's end", n)
	}
	b := d.fixed(int(n))
	if d.own && len(b) > 0 {
		// The decoder's bytes are the record's own copy, never written again: the
		// string may share them (one allocation a record instead of six).
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// decodeRecord reads a record stored at pos. v may be reused by the caller after it
// returns: everything is copied out.
func decodeRecord(pos uint64, v []byte) (es.Record, error) {
	// One copy of the stored value holds the strings and, at its end, the payload;
	// nothing writes to it after decoding but a caller to the payload, which no
	// string shares.
	return decodeRecordFrom(pos, append([]byte(nil), v...))
}

// decodeRecordFrom decodes the record stored at pos from own, a copy of the stored
// value that the record's strings and payload then share.
func decodeRecordFrom(pos uint64, own []byte) (es.Record, error) {
	d := decoder{b: own, own: true}
	if f := d.fixed(1); d.err == nil && f[0] != recordFormat {
		return es.Record{}, errCorrupt("record format %d at position %d", f[0], pos)
	}
	var r es.Record
	copy(r.ID[:], d.fixed(16))
	r.Revision = d.uvarint()
	r.RecordedAt = time.Unix(0, d.varint()).UTC()
	copy(r.Hash[:], d.fixed(32))
	r.Stream = d.str()
	r.Type = d.str()
	r.Metadata.Actor = d.str()
	r.Metadata.CorrelationID = d.str()
	r.Metadata.CausationID = d.str()
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b))/2 {
		d.err = errCorrupt("%d metadata pairs past the record's end", n)
	}
	if d.err == nil && n > 0 {
		r.Metadata.Extra = make(map[string]string, n)
		for range n {
			k := d.str()
			r.Metadata.Extra[k] = d.str()
		}
	}
	if d.err != nil {
		return es.Record{}, fmt.Errorf("position %d: %w", pos, d.err)
	}
	if len(d.b) > 0 {
		r.Data = d.b[:len(d.b):len(d.b)]
	}
	r.Position = es.Pos(pos)
	return r, nil
}

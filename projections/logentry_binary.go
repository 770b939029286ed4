package projections

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// A log entry is stored in a binary form of its own, not as JSON: the lock log
// writes one row per event, most of a replay's rows, and encoding them as JSON
// was a sixth of a replay's CPU (1.1 CPU-seconds of a million events). The API
// still serves entries as JSON (MarshalJSON).
//
// The form, in order: the format (1); the position's commit and prepare
// (uvarints); the type (a uvarint length, then the bytes); the time it occurred,
// then the time it was recorded (each the Unix second as a varint, the
// nanosecond as a uvarint, and the zone's offset east of UTC in seconds as a
// varint); the actor (as the type); the key: 0 for none, or 1 and its 16 bytes;
// and the details, the rest of the row, as stored.
const entryFormat = 1

// appendBinary appends the stored form of e to b.
func (e *LogEntry) appendBinary(b []byte) []byte {
	b = append(b, entryFormat)
	b = binary.AppendUvarint(b, e.Position.Commit)
	b = binary.AppendUvarint(b, e.Position.Prepare)
	b = appendBinaryString(b, e.Type)
	b = appendBinaryTime(b, e.OccurredAt)
	b = appendBinaryTime(b, e.RecordedAt)
	b = appendBinaryString(b, e.Actor)
	if e.KeyID == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = append(b, e.KeyID[:]...)
	}
	return append(b, e.Details...)
}

func appendBinaryString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBinaryTime(b []byte, t time.Time) []byte {
	_, offset := t.Zone()
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(offset))
}

var errBadEntry = errors.New("bad log entry")

// decodeLogEntry reads a log entry from its stored form. The entry's details are
// a copy of their own; its times are in UTC or in a zone of their offset, which
// is all JSON keeps of a zone too.
func decodeLogEntry(raw []byte) (LogEntry, error) {
	d := entryDecoder{b: raw}
	if f := d.byte(); f != entryFormat {
		return LogEntry{}, fmt.Errorf("%s: %w: format %d", lockLog, errBadEntry, f)
	}
	var e LogEntry
	e.Position = es.Position{Commit: d.uvarint(), Prepare: d.uvarint()}
	e.Type = d.string()
	e.OccurredAt = d.time()
	e.RecordedAt = d.time()
	e.Actor = d.string()
	switch d.byte() {
	case 0:
	case 1:
		var k uuid.UUID
		copy(k[:], d.bytes(len(k)))
		e.KeyID = &k
	default:
		d.err = errBadEntry
	}
	if d.err != nil {
		return LogEntry{}, fmt.Errorf("%s: %w", lockLog, errBadEntry)
	}
	if len(d.b) > 0 {
		e.Details = append([]byte(nil), d.b...)
	}
	return e, nil
}

// entryDecoder reads a stored entry; the first failure sticks in err.
type entryDecoder struct {
	b   []byte
	err error
}

func (d *entryDecoder) bytes(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.err = errBadEntry
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *entryDecoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *entryDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadEntry
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *entryDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadEntry
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *entryDecoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errBadEntry
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *entryDecoder) time() time.Time {
	sec, nsec, offset := d.varint(), d.uvarint(), d.varint()
	if nsec >= 1e9 || offset <= -24*3600 || offset >= 24*3600 {
		d.err = errBadEntry
	}
	if d.err != nil {
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec))
	if offset == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone("", int(offset)))
}

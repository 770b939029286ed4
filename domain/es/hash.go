package es

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/google/uuid"
)

// Hash is the SHA-256 link of an event in its stream's chain (SPEC H4).
type Hash [32]byte

// String renders h in hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is unset, as the "previous hash" of a stream's first event.
func (h Hash) IsZero() bool { return h == Hash{} }

// MarshalText implements encoding.TextMarshaler (hex).
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler (hex).
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("hash: want 64 hex digits, got %d characters", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// hashDomain separates this chain's inputs from any other use of SHA-256.
const hashDomain = "sleutel.h4.v1"

// ChainHash computes the hash of an event from its previous event's hash in the same
// stream (zero for revision 0) and everything that makes the event what it is: the
// stream, revision, id, type, payload and metadata. Every field is length-prefixed,
// so no two different events share an input. The recorded time and global position
// are not covered: EventStoreDB assigns them after the client has hashed.
func ChainHash(prev Hash, stream string, revision uint64, id uuid.UUID, typ string, data []byte, md Metadata) Hash {
	// The whole input is laid out in one buffer, on the stack unless the payload is
	// large, and hashed in one call: writing each field to a hash.Hash cost an
	// allocation a string, and the verifier hashes a million events a second.
	var stack [2048]byte
	b := stack[:0]
	b = appendHashString(b, hashDomain)
	b = append(b, prev[:]...)
	b = appendHashString(b, stream)
	b = binary.BigEndian.AppendUint64(b, revision)
	b = append(b, id[:]...)
	b = appendHashString(b, typ)
	b = binary.AppendUvarint(b, uint64(len(data)))
	b = append(b, data...)
	b = appendHashString(b, md.Actor)
	b = appendHashString(b, md.CorrelationID)
	b = appendHashString(b, md.CausationID)
	b = binary.AppendUvarint(b, uint64(len(md.Extra)))
	if len(md.Extra) > 0 {
		keys := make([]string, 0, len(md.Extra))
		for k := range md.Extra {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b = appendHashString(b, k)
			b = appendHashString(b, md.Extra[k])
		}
	}
	return Hash(sha256.Sum256(b))
}

// appendHashString appends s, prefixed with its length as a uvarint.
func appendHashString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// HashRecord computes what r's hash must be, given the hash of the event before it
// in its stream.
func HashRecord(prev Hash, r *Record) Hash {
	return ChainHash(prev, r.Stream, r.Revision, r.ID, r.Type, r.Data, r.Metadata)
}

// BrokenLink names the first event at which a history stops verifying.
type BrokenLink struct {
	Stream   string
	Revision uint64
	Position Position
	EventID  string
	Reason   string
}

// Error describes the broken link.
func (b *BrokenLink) Error() string {
	return fmt.Sprintf("broken link at %s revision %d (position %s, event %s): %s",
		b.Stream, b.Revision, b.Position, b.EventID, b.Reason)
}

// Verifier checks a history fed to it in global order: every event's hash follows
// from its stream's previous hash and its own content, each stream's revisions run
// 0, 1, 2 … without a gap, and global positions strictly increase. It keeps one hash
// per stream, so it verifies a store or an export without anything else.
type Verifier struct {
	heads  map[string]streamHead
	last   Position
	events uint64
}

type streamHead struct {
	rev  uint64
	hash Hash
}

// NewVerifier returns an empty Verifier.
func NewVerifier() *Verifier { return &Verifier{heads: make(map[string]streamHead)} }

// Add checks the next record and returns a *BrokenLink when it does not verify.
func (v *Verifier) Add(r *Record) error {
	broken := func(format string, args ...any) error {
		return &BrokenLink{Stream: r.Stream, Revision: r.Revision, Position: r.Position,
			EventID: r.ID.String(), Reason: fmt.Sprintf(format, args...)}
	}
	if v.events > 0 && !v.last.Less(r.Position) {
		return broken("position %s does not follow %s", r.Position, v.last)
	}
	head, seen := v.heads[r.Stream]
	var prev Hash
	switch {
	case !seen && r.Revision != 0:
		return broken("stream starts at revision %d, want 0", r.Revision)
	case seen && r.Revision != head.rev+1:
		return broken("revision follows %d", head.rev)
	case seen:
		prev = head.hash
	}
	if want := HashRecord(prev, r); want != r.Hash {
		return broken("hash %s does not match its content and chain (want %s)", r.Hash, want)
	}
	v.heads[r.Stream] = streamHead{rev: r.Revision, hash: r.Hash}
	v.last = r.Position
	v.events++
	return nil
}

// Events returns how many records verified.
func (v *Verifier) Events() uint64 { return v.events }

// Streams returns how many streams were seen.
func (v *Verifier) Streams() int { return len(v.heads) }

package projections

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"sleutel/domain/es"
)

// ActorIndex indexes every event by the actor that caused it (SPEC H3: what did
// actor Y change between T1 and T2): one row per event, under the actor, sorted by
// the time the event was recorded, then its position. A row points to the event
// (stream, revision, type); the event itself stays in the log. Rows are keyed by
// the event's position, so applying an event again writes the same row
// (idempotent without a revision guard).
type ActorIndex struct {
	kv KV
	// The row being written, and writeRow bound to it once: a projection applies
	// one event at a time, and a replay applies a million (a row and a function
	// value allocated for each were a sixth of a replay's allocations). row holds
	// key and value, reused from event to event.
	k, v, row []byte
	write     func(Batch) error
}

// NewActorIndex returns the projection.
func NewActorIndex(kv KV) *ActorIndex {
	p := &ActorIndex{kv: kv}
	p.write = p.writeRow
	return p
}

const auditActors = "audit_actors_v1"

// Name implements Projection.
func (*ActorIndex) Name() string { return auditActors }

// Reset implements Resetter.
func (p *ActorIndex) Reset(ctx context.Context) error {
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(auditActors)) })
}

// actorPrefix is the key prefix of an actor's rows: the actor's length, then the
// actor, so that no actor's rows share a prefix with another's.
func actorPrefix(actor string) []byte {
	b := append(key(auditActors, "a"), '/')
	b = binary.AppendUvarint(b, uint64(len(actor)))
	return append(b, actor...)
}

// actorSuffix is the part of a row's key after its actor: recorded time, then position.
func actorSuffix(b []byte, recorded time.Time, pos es.Position) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(recorded.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, pos.Commit)
	return binary.BigEndian.AppendUint64(b, pos.Prepare)
}

// actorSuffixLen is the length of actorSuffix.
const actorSuffixLen = 24

// Handle implements Projection.
func (p *ActorIndex) Handle(ctx context.Context, env es.Envelope) error {
	if env.Metadata.Actor == "" {
		return nil
	}
	actor := env.Metadata.Actor
	// The key (actorPrefix, actorSuffix) and the value, one after the other in a
	// buffer reused from event to event: the batch copies them (setOnce).
	kn := len(auditActors) + 3 + binary.MaxVarintLen64 + len(actor) + actorSuffixLen
	row := slices.Grow(p.row[:0], kn+2*binary.MaxVarintLen64+len(env.Stream)+len(env.Type))
	k := append(row, auditActors+"/a/"...)
	k = binary.AppendUvarint(k, uint64(len(actor)))
	k = append(k, actor...)
	k = actorSuffix(k, env.RecordedAt, env.Position)
	v := k[len(k):len(k)]
	v = binary.AppendUvarint(v, uint64(len(env.Stream)))
	v = append(v, env.Stream...)
	v = binary.AppendUvarint(v, env.Revision)
	v = append(v, env.Type...)
	p.row = k[:len(k)+len(v)]
	p.k, p.v = k[:len(k):len(k)], v
	err := p.kv.Write(ctx, p.write)
	p.k, p.v = nil, nil
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", auditActors, env.Stream, env.Revision, err)
	}
	return nil
}

// writeRow sets the row, which is the only one at its key (the event's position
// is in it) and which the index never reads back.
func (p *ActorIndex) writeRow(b Batch) error { return setOnce(b, p.k, p.v) }

// actorRow is one row of the index.
type actorRow struct {
	suffix   []byte // the key after the actor prefix: the row's cursor
	stream   string
	revision uint64
	typ      string
}

func decodeActorRow(prefix []byte, p Pair) (actorRow, error) {
	if len(p.Key) != len(prefix)+actorSuffixLen {
		return actorRow{}, fmt.Errorf("%s: key of %d bytes", auditActors, len(p.Key))
	}
	r := actorRow{suffix: p.Key[len(prefix):]}
	n, w := binary.Uvarint(p.Value)
	if w <= 0 || uint64(len(p.Value)-w) < n {
		return actorRow{}, fmt.Errorf("%s: bad row", auditActors)
	}
	r.stream = string(p.Value[w : w+int(n)])
	rest := p.Value[w+int(n):]
	rev, w := binary.Uvarint(rest)
	if w <= 0 {
		return actorRow{}, fmt.Errorf("%s: bad row", auditActors)
	}
	r.revision, r.typ = rev, string(rest[w:])
	return r, nil
}

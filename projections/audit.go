package projections

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// AuditLog is what the audit views read of the event store.
type AuditLog interface {
	// ReadAll returns up to limit events of the global log after position after.
	ReadAll(ctx context.Context, after es.Position, limit int) ([]es.Record, error)
	// ReadStream returns up to limit events of stream from revision from; a
	// missing stream reads as empty.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error)
}

// AuditEvent is one event as the audit API serves it: the envelope of SPEC H1 and
// the hash of H4, with the payload's secrets taken out (Redacted names them). The
// hash is the stored one, of the payload as stored: an export (sleutel audit
// export) keeps every byte, so it verifies; this view does not, for redacted events.
type AuditEvent struct {
	Position   es.Position     `json:"position"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	ID         uuid.UUID       `json:"id"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recorded_at"`
	Metadata   es.Metadata     `json:"metadata"`
	Data       json.RawMessage `json:"data"`
	Hash       es.Hash         `json:"hash"`
	Redacted   []string        `json:"redacted,omitempty"`
}

// RedactedFields are the payload fields the audit API never shows: the password
// hash (A2: only a slow salted hash is stored, and it stays in the store), and the
// digests of credentials, device tokens and session tokens, which no view shows.
var RedactedFields = []string{"password_hash", "credential_digest", "device_token_digest", "token_digest"}

// Redact returns the payload without RedactedFields, and the names of those it
// took out. A payload that is not JSON comes back as {"base64": …}.
func Redact(data []byte) (json.RawMessage, []string) {
	if !json.Valid(data) {
		b, _ := json.Marshal(map[string][]byte{"base64": data})
		return b, nil
	}
	var found []string
	for _, f := range RedactedFields {
		if bytes.Contains(data, []byte(`"`+f+`"`)) {
			found = append(found, f)
		}
	}
	if found == nil {
		return data, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return data, nil // not an object: a field name inside a string
	}
	var taken []string
	for _, f := range found {
		if _, ok := m[f]; ok {
			delete(m, f)
			taken = append(taken, f)
		}
	}
	if taken == nil {
		return data, nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return data, nil
	}
	return out, taken
}

// NewAuditEvent returns the audit view of a record.
func NewAuditEvent(r *es.Record) AuditEvent {
	data, redacted := Redact(r.Data)
	return AuditEvent{Position: r.Position, Stream: r.Stream, Revision: r.Revision, ID: r.ID, Type: r.Type,
		RecordedAt: r.RecordedAt, Metadata: r.Metadata, Data: data, Hash: r.Hash, Redacted: redacted}
}

// EventFilter selects events of the audit history. Zero fields select all.
type EventFilter struct {
	// Stream, when set, reads that stream alone; FromRevision is where to start
	// reading it (events before FromPosition are skipped anyway).
	Stream       string
	FromRevision uint64
	// FromPosition is the first position the caller may see (a scope's bound).
	FromPosition es.Position
	Types        []string
	Actor        string
	Since, Until time.Time // recorded at or after Since, before Until
}

func (f *EventFilter) match(r *es.Record) bool {
	switch {
	case r.Position.Less(f.FromPosition):
		return false
	case f.Stream != "" && r.Stream != f.Stream:
		return false
	case len(f.Types) > 0 && !slices.Contains(f.Types, r.Type):
		return false
	case f.Actor != "" && r.Metadata.Actor != f.Actor:
		return false
	case !f.Since.IsZero() && r.RecordedAt.Before(f.Since):
		return false
	case !f.Until.IsZero() && !r.RecordedAt.Before(f.Until):
		return false
	}
	return true
}

// AuditScanBudget bounds the events one page of a filtered history reads: a page
// that reaches it ends early, with a cursor, so a narrow filter over a long log
// answers in bounded time.
const AuditScanBudget = 100_000

// AuditQueries reads the history for auditors: the global log in order, one
// stream, and what an actor changed. They check nothing: the caller's scope
// decides what may be asked (see httpapi).
type AuditQueries struct {
	log    AuditLog
	kv     KV
	ready  func(ctx context.Context) error
	budget int // AuditScanBudget; smaller in tests
}

// NewAuditQueries returns the queries over the log and the read models in kv;
// ready, when set, is called before the actor index is read, to wait until it
// has applied the log as it stands.
func NewAuditQueries(log AuditLog, kv KV, ready func(ctx context.Context) error) *AuditQueries {
	return &AuditQueries{log: log, kv: kv, ready: ready, budget: AuditScanBudget}
}

// seek returns the first revision of stream, from lo on, whose position passes
// ok, where ok is false up to some revision and true from there on: an
// exponential probe, then a binary search, over reads of one event. It returns
// the revision after the stream's last when none passes.
func (q *AuditQueries) seek(ctx context.Context, stream string, lo uint64, ok func(es.Position) bool) (uint64, error) {
	passes := func(rev uint64) (bool, error) {
		recs, err := q.log.ReadStream(ctx, stream, rev, 1)
		if err != nil {
			return false, err
		}
		return len(recs) == 0 || ok(recs[0].Position), nil
	}
	hi := lo
	for step := uint64(1); ; step *= 2 {
		p, err := passes(hi)
		if err != nil {
			return 0, err
		}
		if p {
			break
		}
		lo, hi = hi+1, hi+step
	}
	for lo < hi { // every revision before lo fails; hi passes (or lies past the end)
		mid := lo + (hi-lo)/2
		p, err := passes(mid)
		if err != nil {
			return 0, err
		}
		if p {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// Events returns up to limit events that pass f, in log order, after position
// after; next is the position to read on from (es.Start when the log is read to
// its end). A page ends early, with a next position, after AuditScanBudget
// events were read.
func (q *AuditQueries) Events(ctx context.Context, f EventFilter, after es.Position, limit int) (out []AuditEvent, next es.Position, err error) {
	scanned := 0
	var last es.Position
	more := false
	take := func(recs []es.Record) bool {
		for i := range recs {
			r := &recs[i]
			if !after.Less(r.Position) {
				continue
			}
			scanned++
			last = r.Position
			if !f.match(r) {
				continue
			}
			if len(out) == limit {
				more = true
				return false
			}
			out = append(out, NewAuditEvent(r))
		}
		return scanned < q.budget
	}
	const page = 1024
	if f.Stream != "" {
		// Start at the first revision past the cursor and the scope's bound.
		from, err := q.seek(ctx, f.Stream, f.FromRevision, func(p es.Position) bool {
			return after.Less(p) && !p.Less(f.FromPosition)
		})
		if err != nil {
			return nil, es.Start, err
		}
		for {
			recs, err := q.log.ReadStream(ctx, f.Stream, from, page)
			if err != nil {
				return nil, es.Start, err
			}
			if !take(recs) || len(recs) < page {
				break
			}
			from = recs[len(recs)-1].Revision + 1
		}
	} else {
		for pos := after; ; {
			recs, err := q.log.ReadAll(ctx, pos, page)
			if err != nil {
				return nil, es.Start, err
			}
			if !take(recs) || len(recs) < page {
				break
			}
			pos = recs[len(recs)-1].Position
		}
	}
	switch {
	case more:
		next = out[len(out)-1].Position
	case scanned >= q.budget:
		next = last
	}
	return out, next, nil
}

// ActorChanges returns, in the order they were recorded, up to limit events whose
// actor is actor ("account:<uuid>", "device:<uuid>" …), recorded at or after
// since and before until (zero: unbounded), after the cursor a previous page
// returned ("" for the first). next is the cursor of the following page, "" when
// there is none.
func (q *AuditQueries) ActorChanges(ctx context.Context, actor string, since, until time.Time, cursor string, limit int) (out []AuditEvent, next string, err error) {
	if q.ready != nil {
		if err := q.ready(ctx); err != nil {
			return nil, "", err
		}
	}
	prefix := actorPrefix(actor)
	start := slices.Clone(prefix)
	switch {
	case cursor != "":
		c, err := hex.DecodeString(cursor)
		if err != nil || len(c) != actorSuffixLen {
			return nil, "", domain.Errorf(domain.EInvalid, "cursor is not one this API gave")
		}
		start = append(append(start, c...), 0)
	case !since.IsZero():
		start = binary.BigEndian.AppendUint64(start, uint64(max(since.UnixNano(), 0)))
	}
	pairs, err := q.kv.Scan(ctx, prefix, start, limit+1, false)
	if err != nil {
		return nil, "", err
	}
	var last []byte
	for _, p := range pairs {
		row, err := decodeActorRow(prefix, p)
		if err != nil {
			return nil, "", err
		}
		if !until.IsZero() && int64(binary.BigEndian.Uint64(row.suffix)) >= until.UnixNano() {
			break
		}
		if len(out) == limit {
			next = hex.EncodeToString(last)
			break
		}
		recs, err := q.log.ReadStream(ctx, row.stream, row.revision, 1)
		if err != nil {
			return nil, "", err
		}
		if len(recs) == 0 {
			return nil, "", domain.Errorf(domain.EInternal, "the actor index points to %s revision %d, which the log does not hold", row.stream, row.revision)
		}
		out = append(out, NewAuditEvent(&recs[0]))
		last = row.suffix
	}
	return out, next, nil
}

// EventAt returns the event of stream at revision rev; ErrEventNotFound when the
// log holds none there.
func (q *AuditQueries) EventAt(ctx context.Context, stream string, rev uint64) (*es.Record, error) {
	recs, err := q.log.ReadStream(ctx, stream, rev, 1)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, ErrEventNotFound
	}
	return &recs[0], nil
}

// ErrEventNotFound is returned for an event the log does not hold.
var ErrEventNotFound = &domain.Error{Code: domain.ENotFound, Message: "event not found"}

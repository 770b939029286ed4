// Package commands holds one handler per command: load the aggregate, decide, and
// append with the expected revision, retrying a bounded number of times on a
// conflict. It declares what it needs from the outside (the event store, secrets,
// read-side lookups) as interfaces that infra implements.
package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// EventStore is what the command side needs of an event store.
type EventStore interface {
	// Append writes events to stream if expected holds. It returns es.ErrConcurrency
	// when it does not, and the first result for a retry of the same event ids.
	Append(ctx context.Context, stream string, expected es.ExpectedRevision, events ...es.EventData) (es.AppendResult, error)
	// ReadStream returns up to limit events of stream from revision from; a missing
	// stream reads as empty.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]es.Record, error)
}

// Clock tells the time. Commands read it once and pass it to the domain.
type Clock interface{ Now() time.Time }

// ErrConflict is returned when a command kept meeting concurrent writes.
var ErrConflict = &domain.Error{Code: domain.EConflict, Message: "the resource changed while the request ran; try again"}

// Meta is who runs a command and why: it becomes each event's metadata (SPEC H1).
type Meta struct {
	Actor         string // es.ActorOf(kind, id)
	CorrelationID string
	CausationID   string
	// IdempotencyKey, when set, makes a retried command append nothing new: event
	// ids and generated values derive from it.
	IdempotencyKey string
}

// AccountMeta returns the Meta of a request made by an account.
func AccountMeta(account uuid.UUID, correlationID, idempotencyKey string) Meta {
	return Meta{Actor: es.ActorOf(es.ActorAccount, account.String()), CorrelationID: correlationID, IdempotencyKey: idempotencyKey}
}

// metadata returns the event metadata of m.
func (m Meta) metadata() es.Metadata {
	return es.Metadata{Actor: m.Actor, CorrelationID: m.CorrelationID, CausationID: m.CausationID}
}

// idNamespace derives event and resource ids from idempotency keys.
var idNamespace = uuid.MustParse("5b0f4a8c-6d0e-4c41-8f3d-2c8e9a7b1d64")

// scope returns the idempotency scope of m for one purpose: the actor and the key,
// so two accounts' keys never collide. Empty when m has no key.
func (m Meta) scope(purpose string) string {
	if m.IdempotencyKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(m.Actor + "\x00" + purpose + "\x00" + m.IdempotencyKey))
	return hex.EncodeToString(sum[:])
}

// NewID returns a fresh UUIDv7 for a resource a command creates (E3). A retried
// command finds the id it used the first time in the event it stored: see
// Result.First.
func NewID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// derivedID returns, when m carries an idempotency key, the same id on every retry
// of the command for the given purpose: the ids of a command's events, by which
// the store and the repository recognise a retry. Without a key it is a UUIDv7.
func (m Meta) derivedID(purpose string) uuid.UUID {
	if s := m.scope(purpose); s != "" {
		return uuid.NewSHA1(idNamespace, []byte(s))
	}
	return NewID()
}

// Result is what a command reports: where its last event stands in the log, so a
// query can wait for the read models to reach it. Position is zero when the command
// changed nothing.
type Result struct {
	Position es.Position
	// Stream is the stream the command last wrote to: the read models fed by it
	// are the ones a query after the command must wait for.
	Stream string
	// Replayed is true when an idempotent retry found the command already done;
	// First is then the first event that command stored, so the handler can answer
	// with the ids it created the first time.
	Replayed bool
	First    es.Event
}

package es

import (
	"time"

	"github.com/google/uuid"
)

// Event is a domain event: a value struct holding payload only. Its type string is
// stored forever, so it is declared as a constant, never derived from the Go name.
type Event interface {
	EventType() string
}

// Metadata travels with every event (SPEC H1). It is covered by the hash chain.
type Metadata struct {
	// Actor names who caused the event: "account:<uuid>", "organization:<uuid>",
	// "device:<uuid>" or "system:<component>".
	Actor string `json:"actor,omitempty"`
	// CorrelationID ties together every event caused by one request.
	CorrelationID string `json:"correlation_id,omitempty"`
	// CausationID is the id of the command or event that caused this one.
	CausationID string `json:"causation_id,omitempty"`
	// Extra holds further string pairs, such as those a Watermill publisher sends.
	Extra map[string]string `json:"extra,omitempty"`
}

// Actor kinds used in Metadata.Actor.
const (
	ActorAccount      = "account"
	ActorOrganization = "organization"
	ActorDevice       = "device"
	ActorSystem       = "system"
)

// ActorOf returns the actor string for an actor kind and id.
func ActorOf(kind, id string) string { return kind + ":" + id }

// EventData is an event to append: its id (which makes retries idempotent), type,
// JSON payload and metadata.
type EventData struct {
	ID       uuid.UUID
	Type     string
	Data     []byte
	Metadata Metadata
}

// Record is a stored event: the envelope of SPEC H1 with its raw JSON payload and the
// hash that chains it to the previous event of its stream (SPEC H4).
type Record struct {
	ID         uuid.UUID
	Stream     string
	Type       string
	Revision   uint64 // 0 for the first event of a stream
	Position   Position
	RecordedAt time.Time // UTC, set by the store
	Data       []byte
	Metadata   Metadata
	Hash       Hash
}

// Envelope is a Record with its payload decoded through a Registry.
type Envelope struct {
	Record
	Event Event
}

// AppendResult is what a successful append reports: the revision and the global
// position of the last event it wrote. An idempotent retry reports the first result.
type AppendResult struct {
	NextRevision uint64   // revision of the last event in the batch
	Position     Position // global position of the last event in the batch
}

package webhook

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Event type names are stored forever: never rename, never reuse.
const (
	RegisteredType = "webhook.registered"
	DeletedType    = "webhook.deleted"
)

// Registered records a webhook: where to deliver which event types of the owner's
// locks (W1). The signing secret is not in it: it is derived from the platform's
// keyring, the webhook id and SecretSalt, which alone reveals nothing (STYLE §2).
type Registered struct {
	WebhookID    uuid.UUID `json:"webhook_id"`
	Owner        Owner     `json:"owner"`
	URL          string    `json:"url"`
	EventTypes   []string  `json:"event_types"`
	SecretSalt   string    `json:"secret_salt"`
	RegisteredAt time.Time `json:"registered_at"`
}

// Deleted records that a webhook was deleted: nothing more is delivered to it, and
// its deliveries still waiting are dropped.
type Deleted struct {
	WebhookID uuid.UUID `json:"webhook_id"`
	DeletedAt time.Time `json:"deleted_at"`
}

// EventType implements es.Event.
func (Registered) EventType() string { return RegisteredType }

// EventType implements es.Event.
func (Deleted) EventType() string { return DeletedType }

// RegisterEvents adds this package's events to r.
func RegisterEvents(r *es.Registry) {
	es.Register[Registered](r, RegisteredType)
	es.Register[Deleted](r, DeletedType)
}

package projections

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/webhook"
)

// webhookPrefix starts every key of the WebhookStore.
const webhookPrefix = WebhookDeliveriesName

// WebhookRow is a webhook as the delivery side keeps it.
type WebhookRow struct {
	ID           uuid.UUID     `json:"id"`
	Owner        webhook.Owner `json:"owner"`
	URL          string        `json:"url"`
	EventTypes   []string      `json:"event_types"`
	SecretSalt   string        `json:"secret_salt"`
	RegisteredAt time.Time     `json:"registered_at"`
	// Since is the position of the registration: the webhook receives the events
	// after it.
	Since es.Position `json:"since"`
	// Deleted marks a deleted webhook, kept so that nothing brings it back.
	Deleted bool `json:"deleted,omitempty"`
}

// Delivery states.
const (
	// DeliveryPending waits for its first attempt or for a retry.
	DeliveryPending = "pending"
	// DeliveryDelivered was answered with a 2xx status.
	DeliveryDelivered = "delivered"
	// DeliveryFailed failed every attempt: it is not tried again.
	DeliveryFailed = "failed"
)

// DeliveryRow is one event's delivery to one webhook, with its delivery log
// (W1), and the Delivery of the API.
type DeliveryRow struct {
	ID        uuid.UUID   `json:"id"`
	WebhookID uuid.UUID   `json:"webhook_id"`
	EventID   uuid.UUID   `json:"event_id"`
	EventType string      `json:"event_type"`
	LockID    uuid.UUID   `json:"lock_id"`
	Position  es.Position `json:"position"`
	CreatedAt time.Time   `json:"created_at"` // when the event was recorded
	Status    string      `json:"status"`
	Attempts  int         `json:"attempts"`
	// LastAttemptAt, LastStatusCode: the latest attempt, and the HTTP status it
	// got (none when no answer came).
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitempty"`
	LastStatusCode int        `json:"last_status_code,omitempty"`
	// LastError is what went wrong the last time an attempt failed; it stays after
	// a later success, so the log shows why there were retries.
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// WebhookTask is a delivery due now, with what sending it needs.
type WebhookTask struct {
	Delivery   DeliveryRow
	URL        string
	SecretSalt string
	Body       []byte
}

// WebhookAttempt is the outcome of one attempt at a delivery.
type WebhookAttempt struct {
	WebhookID  uuid.UUID
	Position   es.Position
	At         time.Time
	StatusCode int    // 0 when no answer came
	Error      string // "" on success
	Delivered  bool
	// Retry is when to try again after a failure; zero gives the delivery up.
	Retry time.Time
}

// WebhookStore keeps, in a KV of its own, what webhook deliveries need: the
// webhooks, the lock tenures they are routed by, and the durable queue and log of
// deliveries. The WebhookDeliveries projection writes webhooks and enqueues; the
// workers (infra/hook) take due deliveries and record attempts; the API reads.
//
// Keys, under "webhook_deliveries_v1/":
//
//	hook/<webhook>                       the WebhookRow
//	owner/<kind>/<owner>/<webhook>       the owner's active webhooks
//	tenure/<lock>/<position>             who owned a lock from where in the log
//	dlv/<webhook>/<position>             a DeliveryRow
//	body/<webhook>/<position>            its body, as signed and sent
//	due/<webhook>/<due time><position>   the queue: pending deliveries by due time
//
// The queue lives in the same store as the projection's checkpoint (its own
// runtime keeps it there), so a delivery enqueued is never behind a checkpoint that
// has moved past its event: after a kill -9 the event is handled again, or its
// delivery is in the queue, and the workers resume every pending delivery on start.
type WebhookStore struct {
	kv KV
	// mu serializes the read-modify-write of deliveries: the projection enqueues
	// and drops them, the workers record attempts.
	mu sync.Mutex
}

// NewWebhookStore returns the store over kv.
func NewWebhookStore(kv KV) *WebhookStore { return &WebhookStore{kv: kv} }

func hookKey(id uuid.UUID) []byte { return key(webhookPrefix, "hook", id.String()) }
func hookOwnerPrefix(o webhook.Owner) []byte {
	return key(webhookPrefix, "owner", o.Kind, o.ID.String(), "")
}
func hookOwnerKey(o webhook.Owner, id uuid.UUID) []byte {
	return key(webhookPrefix, "owner", o.Kind, o.ID.String(), id.String())
}
func dlvPrefix(id uuid.UUID) []byte  { return append(key(webhookPrefix, "dlv", id.String()), '/') }
func bodyPrefix(id uuid.UUID) []byte { return append(key(webhookPrefix, "body", id.String()), '/') }
func duePrefix(id uuid.UUID) []byte  { return append(key(webhookPrefix, "due", id.String()), '/') }

func dlvKey(id uuid.UUID, pos es.Position) []byte  { return append(dlvPrefix(id), posKey(pos)...) }
func bodyKey(id uuid.UUID, pos es.Position) []byte { return append(bodyPrefix(id), posKey(pos)...) }

// dueKey orders a webhook's pending deliveries by when they fall due (the zero
// time, for a first attempt, first), then by position.
func dueKey(id uuid.UUID, due *time.Time, pos es.Position) []byte {
	var at uint64
	if due != nil && due.UnixNano() > 0 {
		at = uint64(due.UnixNano())
	}
	return append(binary.BigEndian.AppendUint64(duePrefix(id), at), posKey(pos)...)
}

func (s *WebhookStore) putWebhook(ctx context.Context, row *WebhookRow) error {
	return s.kv.Write(ctx, func(b Batch) error {
		if err := setJSON(b, hookKey(row.ID), row); err != nil {
			return err
		}
		return b.Set(hookOwnerKey(row.Owner, row.ID), nil)
	})
}

// deleteWebhook keeps the row, marked deleted, and drops the webhook's deliveries:
// waiting ones are not sent, and the log goes with the webhook.
func (s *WebhookStore) deleteWebhook(ctx context.Context, row *WebhookRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kv.Write(ctx, func(b Batch) error {
		if err := setJSON(b, hookKey(row.ID), row); err != nil {
			return err
		}
		for _, err := range []error{b.Delete(hookOwnerKey(row.Owner, row.ID)), b.DeletePrefix(dlvPrefix(row.ID)),
			b.DeletePrefix(bodyPrefix(row.ID)), b.DeletePrefix(duePrefix(row.ID))} {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// enqueue adds the delivery of env to each webhook that has not got it yet, and
// returns the webhooks it added one for.
func (s *WebhookStore) enqueue(ctx context.Context, env es.Envelope, lockID uuid.UUID, data json.RawMessage, hooks []*WebhookRow) ([]uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var added []uuid.UUID
	err := s.kv.Write(ctx, func(b Batch) error {
		added = added[:0]
		for _, h := range hooks {
			k := dlvKey(h.ID, env.Position)
			if raw, err := b.Get(k); err != nil {
				return err
			} else if raw != nil {
				continue // enqueued before (at-least-once delivery)
			}
			d := DeliveryRow{ID: DeliveryID(h.ID, env.ID), WebhookID: h.ID, EventID: env.ID, EventType: env.Type, LockID: lockID,
				Position: env.Position, CreatedAt: env.RecordedAt.UTC(), Status: DeliveryPending}
			body, err := json.Marshal(WebhookPayload{DeliveryID: d.ID, WebhookID: h.ID, EventID: env.ID, Type: env.Type, LockID: lockID,
				Position: env.Position, RecordedAt: env.RecordedAt.UTC(), Actor: env.Metadata.Actor, Data: data})
			if err != nil {
				return err
			}
			if err := setJSON(b, k, &d); err != nil {
				return err
			}
			if err := b.Set(bodyKey(h.ID, env.Position), body); err != nil {
				return err
			}
			if err := b.Set(dueKey(h.ID, nil, env.Position), nil); err != nil {
				return err
			}
			added = append(added, h.ID)
		}
		return nil
	})
	return added, err
}

// Pending returns the webhooks that have deliveries waiting, in id order.
func (s *WebhookStore) Pending(ctx context.Context) ([]uuid.UUID, error) {
	prefix := key(webhookPrefix, "due", "")
	var out []uuid.UUID
	var start []byte
	for {
		pairs, err := s.kv.Scan(ctx, prefix, start, 1, false)
		if err != nil || len(pairs) == 0 {
			return out, err
		}
		rest := pairs[0].Key[len(prefix):]
		if len(rest) < 37 {
			return out, fmt.Errorf("webhook queue: bad key %q", pairs[0].Key)
		}
		id, err := uuid.Parse(string(rest[:36]))
		if err != nil {
			return out, fmt.Errorf("webhook queue: %w", err)
		}
		out = append(out, id)
		start = key(webhookPrefix, "due", id.String()+"0") // '0' follows '/': past this webhook
	}
}

// Next returns the webhook's pending delivery that falls due first: as a task when
// it is due at now, or else the time it falls due. Both are zero when none waits.
func (s *WebhookStore) Next(ctx context.Context, webhookID uuid.UUID, now time.Time) (*WebhookTask, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pairs, err := s.kv.Scan(ctx, duePrefix(webhookID), nil, 1, false)
	if err != nil || len(pairs) == 0 {
		return nil, time.Time{}, err
	}
	rest := pairs[0].Key[len(duePrefix(webhookID)):]
	if len(rest) != 24 {
		return nil, time.Time{}, fmt.Errorf("webhook queue: bad key %q", pairs[0].Key)
	}
	due := time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))).UTC()
	if now.Before(due) {
		return nil, due, nil
	}
	pos := es.Position{Commit: binary.BigEndian.Uint64(rest[8:16]), Prepare: binary.BigEndian.Uint64(rest[16:])}
	var t WebhookTask
	found, err := readJSON(ctx, s.kv, dlvKey(webhookID, pos), &t.Delivery)
	if err != nil {
		return nil, time.Time{}, err
	}
	var hook WebhookRow
	hooked, err := readJSON(ctx, s.kv, hookKey(webhookID), &hook)
	if err != nil {
		return nil, time.Time{}, err
	}
	if t.Body, err = s.kv.Get(ctx, bodyKey(webhookID, pos)); err != nil {
		return nil, time.Time{}, err
	}
	if !found || !hooked || hook.Deleted || t.Body == nil || t.Delivery.Status != DeliveryPending {
		// A queue entry with nothing to send (a crash between writes can leave none,
		// but be safe): drop it and look again.
		if err := s.kv.Write(ctx, func(b Batch) error { return b.Delete(pairs[0].Key) }); err != nil {
			return nil, time.Time{}, err
		}
		return nil, now, nil
	}
	t.URL, t.SecretSalt = hook.URL, hook.SecretSalt
	return &t, due, nil
}

// Record stores the outcome of an attempt: delivered, to be retried at a.Retry, or
// failed for good. An attempt at a delivery that is gone (its webhook was deleted)
// or no longer pending is ignored.
func (s *WebhookStore) Record(ctx context.Context, a WebhookAttempt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kv.Write(ctx, func(b Batch) error {
		var d DeliveryRow
		k := dlvKey(a.WebhookID, a.Position)
		if found, err := getJSON(b, k, &d); err != nil || !found || d.Status != DeliveryPending {
			return err
		}
		if err := b.Delete(dueKey(a.WebhookID, d.NextAttemptAt, a.Position)); err != nil {
			return err
		}
		at := a.At.UTC()
		d.Attempts++
		d.LastAttemptAt, d.LastStatusCode, d.NextAttemptAt = &at, a.StatusCode, nil
		switch {
		case a.Delivered:
			d.Status, d.DeliveredAt = DeliveryDelivered, &at
		case a.Retry.IsZero():
			d.Status, d.LastError = DeliveryFailed, a.Error
		default:
			next := a.Retry.UTC()
			d.LastError, d.NextAttemptAt = a.Error, &next
			if err := b.Set(dueKey(a.WebhookID, &next, a.Position), nil); err != nil {
				return err
			}
		}
		return setJSON(b, k, &d)
	})
}

// ErrWebhookNotFound is returned for a webhook that does not exist, was deleted,
// or is not the caller's (E2).
var ErrWebhookNotFound = &domain.Error{Code: domain.ENotFound, Message: "webhook not found"}

// OwnerOf returns who owns webhook id, so that the caller can check its rights on
// that owner; ErrWebhookNotFound for a webhook that does not exist or was deleted.
func (s *WebhookStore) OwnerOf(ctx context.Context, id uuid.UUID) (webhook.Owner, error) {
	var row WebhookRow
	found, err := readJSON(ctx, s.kv, hookKey(id), &row)
	if err != nil {
		return webhook.Owner{}, err
	}
	if !found || row.Deleted {
		return webhook.Owner{}, ErrWebhookNotFound
	}
	return row.Owner, nil
}

// Webhook returns one of owner's webhooks.
func (s *WebhookStore) Webhook(ctx context.Context, owner webhook.Owner, id uuid.UUID) (*WebhookRow, error) {
	var row WebhookRow
	found, err := readJSON(ctx, s.kv, hookKey(id), &row)
	if err != nil {
		return nil, err
	}
	if !found || row.Deleted || row.Owner != owner {
		return nil, ErrWebhookNotFound
	}
	return &row, nil
}

// Webhooks lists owner's webhooks in id order, after the webhook id after
// (uuid.Nil for the first page); next is the cursor of the following page, or Nil.
func (s *WebhookStore) Webhooks(ctx context.Context, owner webhook.Owner, after uuid.UUID, limit int) (rows []WebhookRow, next uuid.UUID, err error) {
	prefix := hookOwnerPrefix(owner)
	var start []byte
	if after != uuid.Nil {
		start = append(hookOwnerKey(owner, after), 0)
	}
	pairs, err := s.kv.Scan(ctx, prefix, start, limit+1, false)
	if err != nil {
		return nil, uuid.Nil, err
	}
	for i, p := range pairs {
		if i == limit {
			next = rows[len(rows)-1].ID
			break
		}
		id, err := uuid.Parse(string(p.Key[len(prefix):]))
		if err != nil {
			return nil, uuid.Nil, fmt.Errorf("webhook owner index: %w", err)
		}
		row, err := s.Webhook(ctx, owner, id)
		if err != nil {
			return nil, uuid.Nil, err
		}
		rows = append(rows, *row)
	}
	return rows, next, nil
}

// DeliveryFilter narrows a delivery listing; the zero value means any.
type DeliveryFilter struct {
	Status string
}

// Deliveries lists the deliveries of one of owner's webhooks, newest first,
// before the position before (es.Start for the newest); next is the cursor of the
// following page, or es.Start.
func (s *WebhookStore) Deliveries(ctx context.Context, owner webhook.Owner, id uuid.UUID, f DeliveryFilter, before es.Position, limit int) (out []DeliveryRow, next es.Position, err error) {
	if _, err := s.Webhook(ctx, owner, id); err != nil {
		return nil, es.Start, err
	}
	prefix := dlvPrefix(id)
	bound := before
	for len(out) <= limit {
		var start []byte
		if !bound.IsZero() {
			start = dlvKey(id, bound)
		}
		pairs, err := s.kv.Scan(ctx, prefix, start, 512, true)
		if err != nil {
			return nil, es.Start, err
		}
		scanned := 0
		for _, p := range pairs {
			var d DeliveryRow
			if err := json.Unmarshal(p.Value, &d); err != nil {
				return nil, es.Start, err
			}
			if !bound.IsZero() && !d.Position.Less(bound) {
				continue
			}
			scanned++
			bound = d.Position
			if f.Status == "" || d.Status == f.Status {
				out = append(out, d)
			}
		}
		if scanned == 0 {
			break
		}
	}
	if len(out) > limit {
		out, next = out[:limit], out[limit-1].Position
	}
	return out, next, nil
}

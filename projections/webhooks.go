package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/domain/webhook"
)

// WebhookDeliveries is the process manager of SPEC W1: it reads the log and, for
// every event of a lock that an owner's (or organization's) webhook has chosen,
// enqueues a delivery in the WebhookStore, then wakes the webhook's worker through
// notify. It never talks to a receiver itself, so a slow or dead receiver slows
// neither the log's readers nor the commands; the workers (infra/hook) deliver,
// retry and record.
//
// An owner only ever receives events of locks they own (E2): the projection keeps
// each lock's tenures (who owned it from which position on) and sends an event to
// the webhooks of whoever owned the lock at the event's place in the log; a webhook
// receives the events after its own registration. An organization's webhook
// receives only the events of the keys the organization issued on a lock and of
// its own key to the lock (what its managers see, L12). All is decided from the
// log alone, so an event handled again after a crash is routed exactly as the first
// time, and its delivery, keyed by webhook and position, is enqueued once.
type WebhookDeliveries struct {
	store  *WebhookStore
	notify func(webhookID uuid.UUID)

	loaded  bool
	byID    map[uuid.UUID]*WebhookRow
	byOwner map[webhook.Owner][]*WebhookRow // active webhooks only
	active  int
	// activeOrgs counts the active webhooks of organizations: with none, no key's
	// organization is looked up.
	activeOrgs int
	tenures    *memo[uuid.UUID, []tenure]
}

// NewWebhookDeliveries returns the projection over store; notify (which must not
// block) is called with a webhook's id after deliveries for it were enqueued.
func NewWebhookDeliveries(store *WebhookStore, notify func(webhookID uuid.UUID)) *WebhookDeliveries {
	if notify == nil {
		notify = func(uuid.UUID) {}
	}
	return &WebhookDeliveries{store: store, notify: notify, tenures: newMemo[uuid.UUID, []tenure](100_000)}
}

// WebhookDeliveriesName is the projection's name and checkpoint key.
const WebhookDeliveriesName = "webhook_deliveries_v1"

// Name implements Projection.
func (*WebhookDeliveries) Name() string { return WebhookDeliveriesName }

// Filter implements Filtered: locks, their device reports, and webhooks.
func (*WebhookDeliveries) Filter() es.Filter {
	return es.Filter{Categories: []string{lock.Category, report.Category, webhook.Category}}
}

// tenure is a change of a lock's owner at a position: from a registration on
// (inclusive: the Registered event is the new owner's), or after a removal
// (exclusive: the Removed event is still the old owner's).
type tenure struct {
	Pos        es.Position `json:"pos"`
	Owner      uuid.UUID   `json:"owner"` // uuid.Nil after a removal
	Registered bool        `json:"registered,omitempty"`
}

// Handle implements Projection.
func (p *WebhookDeliveries) Handle(ctx context.Context, env es.Envelope) error {
	if err := p.load(ctx); err != nil {
		return err
	}
	switch e := env.Event.(type) {
	case webhook.Registered:
		return p.registered(ctx, env, e)
	case webhook.Deleted:
		return p.deleted(ctx, e)
	}
	if c := es.Category(env.Stream); c != lock.Category && c != report.Category {
		return nil
	}
	lockID, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	switch e := env.Event.(type) {
	case lock.Registered:
		if err := p.addTenure(ctx, lockID, tenure{Pos: env.Position, Owner: e.OwnerID, Registered: true}); err != nil {
			return err
		}
	case lock.Removed:
		if err := p.addTenure(ctx, lockID, tenure{Pos: env.Position}); err != nil {
			return err
		}
	}
	if e, ok := env.Event.(lock.KeyIssued); ok && e.Organization != uuid.Nil {
		// Remembered whether or not a webhook wants it now: a webhook registered
		// later still hears of the key's change, use and revocation.
		if err := p.addKeyOrganization(ctx, lockID, e.KeyID, e.Organization); err != nil {
			return err
		}
	}
	if p.active == 0 {
		return nil // no webhooks at all: nothing to route
	}
	owner, err := p.ownerAt(ctx, lockID, env.Position)
	if err != nil || owner == uuid.Nil {
		return err
	}
	targets := p.wanting(nil, webhook.AccountOwner(owner), env)
	org, err := p.organizationOf(ctx, lockID, env.Event)
	if err != nil {
		return err
	}
	if org != uuid.Nil {
		targets = p.wanting(targets, webhook.OrganizationOwner(org), env)
	}
	if len(targets) == 0 {
		return nil
	}
	data, err := redacted(env) // the log's view: no credential or device-token digests
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", WebhookDeliveriesName, env.Stream, env.Revision, err)
	}
	enqueued, err := p.store.enqueue(ctx, env, lockID, data, targets)
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", WebhookDeliveriesName, env.Stream, env.Revision, err)
	}
	for _, id := range enqueued {
		p.notify(id)
	}
	return nil
}

// wanting appends to targets owner's webhooks that chose env's type and were
// registered before it.
func (p *WebhookDeliveries) wanting(targets []*WebhookRow, owner webhook.Owner, env es.Envelope) []*WebhookRow {
	for _, h := range p.byOwner[owner] {
		if h.Since.Less(env.Position) && slices.Contains(h.EventTypes, env.Type) {
			targets = append(targets, h)
		}
	}
	return targets
}

// organizationOf returns the organization whose webhooks may hear of a lock event
// (W1, E2): the one that issued the key an event is about (L12), or the one a key
// to the lock is given to or taken from; uuid.Nil for every other event, which
// only the lock's owner receives. The event types an organization's webhook may
// choose are these (commands.WebhookEventTypes).
func (p *WebhookDeliveries) organizationOf(ctx context.Context, lockID uuid.UUID, e es.Event) (uuid.UUID, error) {
	switch e := e.(type) {
	case lock.KeyIssued:
		return e.Organization, nil
	case lock.KeyChanged:
		return p.keyOrganization(ctx, lockID, e.KeyID)
	case lock.KeyRevoked:
		return p.keyOrganization(ctx, lockID, e.KeyID)
	case lock.KeyUsed:
		return p.keyOrganization(ctx, lockID, e.KeyID)
	case lock.OrganizationKeyIssued:
		return e.OrganizationID, nil
	case lock.OrganizationKeyRevoked:
		return e.OrganizationID, nil
	}
	return uuid.Nil, nil
}

func keyOrgKey(lockID, keyID uuid.UUID) []byte {
	return key(webhookPrefix, "keyorg", lockID.String(), keyID.String())
}

// addKeyOrganization remembers that org issued key keyID on the lock.
func (p *WebhookDeliveries) addKeyOrganization(ctx context.Context, lockID, keyID, org uuid.UUID) error {
	if err := p.store.kv.Write(ctx, func(b Batch) error { return b.Set(keyOrgKey(lockID, keyID), org[:]) }); err != nil {
		return fmt.Errorf("%s: organization of key %s: %w", WebhookDeliveriesName, keyID, err)
	}
	return nil
}

// keyOrganization returns the organization that issued a key, or uuid.Nil for the
// owner's own keys (the great majority: they have no row).
func (p *WebhookDeliveries) keyOrganization(ctx context.Context, lockID, keyID uuid.UUID) (uuid.UUID, error) {
	if p.activeOrgs == 0 {
		return uuid.Nil, nil // no organization has a webhook: nobody to ask for
	}
	v, err := p.store.kv.Get(ctx, keyOrgKey(lockID, keyID))
	if err != nil || len(v) != 16 {
		return uuid.Nil, err
	}
	return uuid.UUID(v), nil
}

// load reads the webhooks once: the projection is their only writer, so what it
// holds in memory afterwards is what the store holds.
func (p *WebhookDeliveries) load(ctx context.Context) error {
	if p.loaded {
		return nil
	}
	p.byID, p.byOwner, p.active, p.activeOrgs = map[uuid.UUID]*WebhookRow{}, map[webhook.Owner][]*WebhookRow{}, 0, 0
	prefix := key(webhookPrefix, "hook", "")
	var start []byte
	for {
		pairs, err := p.store.kv.Scan(ctx, prefix, start, 1024, false)
		if err != nil {
			return fmt.Errorf("%s: load webhooks: %w", WebhookDeliveriesName, err)
		}
		for _, pair := range pairs {
			row := new(WebhookRow)
			if err := json.Unmarshal(pair.Value, row); err != nil {
				return fmt.Errorf("%s: load webhooks: %w", WebhookDeliveriesName, err)
			}
			p.remember(row)
		}
		if len(pairs) < 1024 {
			break
		}
		start = append(pairs[len(pairs)-1].Key, 0)
	}
	p.loaded = true
	return nil
}

func (p *WebhookDeliveries) remember(row *WebhookRow) {
	p.byID[row.ID] = row
	if !row.Deleted {
		p.byOwner[row.Owner] = append(p.byOwner[row.Owner], row)
		p.active++
		if row.Owner.Kind == webhook.OwnerOrganization {
			p.activeOrgs++
		}
	}
}

func (p *WebhookDeliveries) registered(ctx context.Context, env es.Envelope, e webhook.Registered) error {
	if p.byID[e.WebhookID] != nil {
		return nil // seen before (at-least-once delivery)
	}
	row := &WebhookRow{ID: e.WebhookID, Owner: e.Owner, URL: e.URL, EventTypes: e.EventTypes, SecretSalt: e.SecretSalt,
		RegisteredAt: e.RegisteredAt, Since: env.Position}
	if err := p.store.putWebhook(ctx, row); err != nil {
		return fmt.Errorf("%s %s/%d: %w", WebhookDeliveriesName, env.Stream, env.Revision, err)
	}
	p.remember(row)
	return nil
}

func (p *WebhookDeliveries) deleted(ctx context.Context, e webhook.Deleted) error {
	row := p.byID[e.WebhookID]
	if row == nil || row.Deleted {
		return nil
	}
	gone := *row
	gone.Deleted = true
	if err := p.store.deleteWebhook(ctx, &gone); err != nil {
		return fmt.Errorf("%s: delete webhook %s: %w", WebhookDeliveriesName, e.WebhookID, err)
	}
	p.byID[row.ID] = &gone
	p.byOwner[row.Owner] = slices.DeleteFunc(p.byOwner[row.Owner], func(h *WebhookRow) bool { return h.ID == row.ID })
	p.active--
	if row.Owner.Kind == webhook.OwnerOrganization {
		p.activeOrgs--
	}
	return nil
}

func (p *WebhookDeliveries) tenuresOf(ctx context.Context, lockID uuid.UUID) ([]tenure, error) {
	if c, ok := p.tenures.get(lockID); ok {
		return c.val, nil
	}
	pairs, err := p.store.kv.Scan(ctx, tenurePrefix(lockID), nil, 100_000, false)
	if err != nil {
		return nil, err
	}
	out := make([]tenure, 0, len(pairs))
	for _, pair := range pairs {
		var t tenure
		if err := json.Unmarshal(pair.Value, &t); err != nil {
			return nil, fmt.Errorf("%s: tenure of lock %s: %w", WebhookDeliveriesName, lockID, err)
		}
		out = append(out, t)
	}
	p.tenures.put(lockID, 0, out)
	return out, nil
}

func (p *WebhookDeliveries) addTenure(ctx context.Context, lockID uuid.UUID, t tenure) error {
	ts, err := p.tenuresOf(ctx, lockID)
	if err != nil {
		return err
	}
	i, found := slices.BinarySearchFunc(ts, t.Pos, func(e tenure, pos es.Position) int {
		switch {
		case e.Pos.Less(pos):
			return -1
		case pos.Less(e.Pos):
			return 1
		}
		return 0
	})
	if found {
		return nil // seen before
	}
	if err := p.store.kv.Write(ctx, func(b Batch) error {
		return setJSON(b, append(tenurePrefix(lockID), posKey(t.Pos)...), &t)
	}); err != nil {
		return fmt.Errorf("%s: tenure of lock %s: %w", WebhookDeliveriesName, lockID, err)
	}
	p.tenures.put(lockID, 0, slices.Insert(slices.Clone(ts), i, t))
	return nil
}

// ownerAt returns who owned the lock at pos: the owner of the last tenure change
// before it (a registration at pos itself counts), or uuid.Nil.
func (p *WebhookDeliveries) ownerAt(ctx context.Context, lockID uuid.UUID, pos es.Position) (uuid.UUID, error) {
	ts, err := p.tenuresOf(ctx, lockID)
	if err != nil {
		return uuid.Nil, err
	}
	owner := uuid.Nil
	for _, t := range ts {
		if t.Pos.Less(pos) || t.Pos == pos && t.Registered {
			owner = t.Owner
			continue
		}
		break
	}
	return owner, nil
}

func tenurePrefix(lockID uuid.UUID) []byte {
	return append(key(webhookPrefix, "tenure", lockID.String()), '/')
}

// deliveryNamespace makes delivery ids; it never changes.
var deliveryNamespace = uuid.MustParse("8c5e2f1a-7d43-4b90-a6e1-3f0c9d2b7a58")

// DeliveryID returns the id of the delivery of event eventID to webhook
// webhookID: the same on every attempt and after every restart, so a receiver
// can recognise a delivery it has had (the Sleutel-Delivery header).
func DeliveryID(webhookID, eventID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(deliveryNamespace, append(webhookID[:], eventID[:]...))
}

// WebhookPayload is the JSON body of a delivery: the event as the lock's log shows
// it (L14), with the ids a receiver needs.
type WebhookPayload struct {
	DeliveryID uuid.UUID       `json:"delivery_id"`
	WebhookID  uuid.UUID       `json:"webhook_id"`
	EventID    uuid.UUID       `json:"event_id"`
	Type       string          `json:"type"`
	LockID     uuid.UUID       `json:"lock_id"`
	Position   es.Position     `json:"position"`
	RecordedAt time.Time       `json:"recorded_at"`
	Actor      string          `json:"actor,omitempty"`
	Data       json.RawMessage `json:"data"`
}

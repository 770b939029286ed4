package commands

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/domain/webhook"
)

// webhookEventTypes are the event types a webhook may receive (W1): the events of
// a lock's own streams, its management stream and its device's reports, which the
// delivery side sends to the lock's owner as of the event's place in the log, so an
// owner only ever receives events of locks they own (E2). Account, code, serial and
// webhook events belong to no lock and are never delivered.
var webhookEventTypes = []string{
	lock.RegisteredType, lock.UpdatedType, lock.RemovedType, lock.ManagementExtendedType, lock.KeyAllowanceIncreasedType,
	lock.SharedManagementActivatedType, lock.PeriodEndedType, lock.PeriodReminderDueType, lock.FrozenType, lock.UnfrozenType,
	lock.ReplacedType, lock.DeviceTokenRotatedType, lock.KeyIssuedType, lock.KeyChangedType, lock.KeyRevokedType,
	lock.KeyUsedType, lock.OrganizationKeyIssuedType, lock.OrganizationKeyRevokedType, report.RecordedType,
}

// organizationWebhookEventTypes are those an organization's webhook may receive
// (W1, E2): the events of the keys the organization issued on locks shared with it
// (L12) and of its own key to a lock. Nothing of the owner's keys, other
// organizations' keys or the lock's device reports: the organization's managers
// do not see those either.
var organizationWebhookEventTypes = []string{
	lock.KeyIssuedType, lock.KeyChangedType, lock.KeyRevokedType, lock.KeyUsedType,
	lock.OrganizationKeyIssuedType, lock.OrganizationKeyRevokedType,
}

// WebhookEventTypes returns the event types a webhook of an owner of kind may be
// registered for (webhook.OwnerAccount or webhook.OwnerOrganization), sorted.
func WebhookEventTypes(kind string) []string {
	out := slices.Clone(webhookEventTypes)
	if kind == webhook.OwnerOrganization {
		out = slices.Clone(organizationWebhookEventTypes)
	}
	slices.Sort(out)
	return out
}

// Webhooks handles the commands on webhooks (W1).
type Webhooks struct {
	sets    *Repository[*webhook.Set]
	secrets Secrets
	clock   Clock
	rand    io.Reader
	policy  webhook.URLPolicy
}

// WebhooksConfig wires Webhooks.
type WebhooksConfig struct {
	Store    EventStore
	Registry *es.Registry
	Secrets  Secrets
	Clock    Clock
	Rand     io.Reader
	// Policy says which URLs a webhook may target (see webhook.URLPolicy).
	Policy webhook.URLPolicy
}

// NewWebhooks returns the webhook command handlers.
func NewWebhooks(c WebhooksConfig) *Webhooks {
	if c.Store == nil || c.Registry == nil || c.Secrets == nil || c.Clock == nil || c.Rand == nil {
		panic("commands: nil dependency")
	}
	return &Webhooks{
		sets:    NewRepository(c.Store, c.Registry, func(string) *webhook.Set { return webhook.New() }, 1024),
		secrets: c.Secrets, clock: c.Clock, rand: c.Rand, policy: c.Policy,
	}
}

// CreateWebhook registers a webhook for the caller's locks' events.
type CreateWebhook struct {
	URL        string
	EventTypes []string
}

// CreatedWebhook is the outcome of CreateWebhook: the webhook and its signing
// secret, shown this once.
type CreatedWebhook struct {
	Result
	Webhook webhook.Webhook
	Secret  string
}

// CreateWebhook checks the URL and that every event type is one a webhook of the
// owner's kind may receive, and adds the webhook to the owner's set. That the
// caller may act for owner (the account itself, an admin of the organization) is
// the caller's to check. A retry with the same Idempotency-Key answers with the
// webhook and secret of the first attempt.
func (h *Webhooks) CreateWebhook(ctx context.Context, o webhook.Owner, meta Meta, cmd CreateWebhook) (CreatedWebhook, error) {
	allowed := webhookEventTypes
	if o.Kind == webhook.OwnerOrganization {
		allowed = organizationWebhookEventTypes
	}
	for _, t := range cmd.EventTypes {
		if slices.Contains(allowed, t) {
			continue
		}
		if o.Kind == webhook.OwnerOrganization {
			return CreatedWebhook{}, domain.Errorf(domain.EInvalid,
				"event_types: %q is not an event an organization's webhook can receive; choose from %s", t, strings.Join(WebhookEventTypes(o.Kind), ", "))
		}
		return CreatedWebhook{}, domain.Errorf(domain.EInvalid,
			"event_types: %q is not an event a webhook can receive; use lock events (lock.key_issued, lock.period_reminder_due …) or report.recorded", t)
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return CreatedWebhook{}, fmt.Errorf("create webhook: %w", err)
	}
	id := NewID()
	res, err := h.sets.Update(ctx, webhook.Stream(o), meta, func(s *webhook.Set) error {
		return s.Register(id, o, cmd.URL, cmd.EventTypes, hex.EncodeToString(salt), h.policy, h.clock.Now())
	})
	if err != nil {
		return CreatedWebhook{}, err
	}
	var w webhook.Webhook
	if reg, ok := res.First.(webhook.Registered); res.Replayed && ok {
		// A retry: the webhook the first attempt registered.
		w = webhook.Webhook{ID: reg.WebhookID, Owner: reg.Owner, URL: reg.URL, EventTypes: reg.EventTypes, SecretSalt: reg.SecretSalt, RegisteredAt: reg.RegisteredAt}
	} else if err := h.sets.Read(ctx, webhook.Stream(o), func(s *webhook.Set) error {
		var found bool
		if w, found = s.Webhook(id); !found {
			return fmt.Errorf("create webhook %s: not in the set after registering", id)
		}
		return nil
	}); err != nil {
		return CreatedWebhook{}, err
	}
	return CreatedWebhook{Result: res, Webhook: w, Secret: WebhookSecret(h.secrets, w.ID, w.SecretSalt)}, nil
}

// DeleteWebhook deletes one of owner's webhooks; any other reads as not found
// (E2). Deliveries still waiting are dropped.
func (h *Webhooks) DeleteWebhook(ctx context.Context, owner webhook.Owner, id uuid.UUID, meta Meta) (Result, error) {
	return h.sets.Update(ctx, webhook.Stream(owner), meta, func(s *webhook.Set) error {
		return s.Delete(id, h.clock.Now())
	})
}

// WebhookSecretPrefix starts every webhook secret, so one is recognised in a
// receiver's configuration.
const WebhookSecretPrefix = "whsec_"

// WebhookSecret returns the signing secret of webhook id: WebhookSecretPrefix and
// 32 bytes the keyring derives from the id and the webhook's salt, in base64url.
// It is stored nowhere: it is derived again for every delivery, so neither the log
// nor the read models hold it (STYLE §2), and losing the keyring changes it.
func WebhookSecret(s Secrets, id uuid.UUID, salt string) string {
	return WebhookSecretPrefix + base64.RawURLEncoding.EncodeToString(s.Derive("webhook-secret/v1", id.String(), salt))
}

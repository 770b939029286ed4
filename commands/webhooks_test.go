package commands_test

import (
	"crypto/rand"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/domain/webhook"
)

func newWebhooks(t *testing.T) (*harness, *commands.Webhooks) {
	t.Helper()
	h := newHarness(t)
	webhook.RegisterEvents(h.registry)
	return h, commands.NewWebhooks(commands.WebhooksConfig{Store: h.store, Registry: h.registry, Secrets: h.secrets, Clock: h.clock, Rand: rand.Reader})
}

// TestCreateWebhook covers W1's registration: the secret is shown once and is in no
// event; a retry answers with the same webhook and secret; only lock events may be
// chosen (E2); bad input is invalid_input (E1).
func TestCreateWebhook(t *testing.T) {
	t.Parallel()
	h, hooks := newWebhooks(t)
	ctx := t.Context()
	ownerID, strangerID := uuid.New(), uuid.New()
	owner, stranger := webhook.AccountOwner(ownerID), webhook.AccountOwner(strangerID)
	cmd := commands.CreateWebhook{URL: "https://hooks.example.org/s", EventTypes: []string{lock.KeyIssuedType, report.RecordedType}}
	created, err := hooks.CreateWebhook(ctx, owner, meta(ownerID, "k1"), cmd)
	require.NoError(t, err)
	require.Equal(t, byte(7), created.Webhook.ID[6]>>4, "E3 a UUIDv7")
	require.True(t, strings.HasPrefix(created.Secret, commands.WebhookSecretPrefix))
	require.Equal(t, commands.WebhookSecret(h.secrets, created.Webhook.ID, created.Webhook.SecretSalt), created.Secret, "derived, so the deliveries can sign")
	stream := webhook.Stream(owner)
	recs, err := h.store.ReadStream(ctx, stream, 0, 10)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.NotContains(t, string(recs[0].Data), created.Secret[len(commands.WebhookSecretPrefix):], "STYLE §2 the secret is in no payload")

	again, err := hooks.CreateWebhook(ctx, owner, meta(ownerID, "k1"), cmd)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, created.Webhook, again.Webhook, "a retry answers with the first webhook")
	require.Equal(t, created.Secret, again.Secret, "and its secret")
	other, err := hooks.CreateWebhook(ctx, owner, meta(ownerID, ""), cmd)
	require.NoError(t, err)
	require.NotEqual(t, created.Secret, other.Secret, "each webhook has its own secret")
	require.Equal(t, []string{webhook.RegisteredType, webhook.RegisteredType}, h.stored(t, stream))

	for _, bad := range []commands.CreateWebhook{
		{URL: "https://hooks.example.org/s", EventTypes: []string{"account.registered"}},
		{URL: "https://hooks.example.org/s", EventTypes: []string{"code.redeemed"}},
		{URL: "https://hooks.example.org/s", EventTypes: []string{"webhook.registered"}},
		{URL: "https://hooks.example.org/s", EventTypes: []string{"lock.no_such_thing"}},
		{URL: "https://hooks.example.org/s"},
		{URL: "ftp://hooks.example.org/s", EventTypes: []string{lock.KeyIssuedType}},
		{URL: "http://127.0.0.1:9/s", EventTypes: []string{lock.KeyIssuedType}},
		{URL: "https://me:pw@hooks.example.org/s", EventTypes: []string{lock.KeyIssuedType}},
	} {
		_, err := hooks.CreateWebhook(ctx, owner, meta(ownerID, ""), bad)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "%+v: %v", bad, err)
	}

	_, err = hooks.DeleteWebhook(ctx, stranger, created.Webhook.ID, meta(strangerID, ""))
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err), "E2 a stranger cannot delete another's webhook")
	res, err := hooks.DeleteWebhook(ctx, owner, created.Webhook.ID, meta(ownerID, ""))
	require.NoError(t, err)
	require.False(t, res.Position.IsZero())
	_, err = hooks.DeleteWebhook(ctx, owner, created.Webhook.ID, meta(ownerID, ""))
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err))
	require.Empty(t, h.stored(t, webhook.Stream(stranger)), "a refusal stores nothing")
}

// TestOrganizationWebhook: an organization's webhook (W1) is in the
// organization's own set and may choose only the events of keys (L12): none of
// the owner's lock events, nor device reports (E2).
func TestOrganizationWebhook(t *testing.T) {
	t.Parallel()
	h, hooks := newWebhooks(t)
	ctx := t.Context()
	org, admin := webhook.OrganizationOwner(uuid.New()), uuid.New()
	created, err := hooks.CreateWebhook(ctx, org, meta(admin, ""), commands.CreateWebhook{URL: "https://hooks.example.org/o",
		EventTypes: []string{lock.KeyIssuedType, lock.KeyRevokedType, lock.OrganizationKeyRevokedType}})
	require.NoError(t, err)
	require.Equal(t, org, created.Webhook.Owner)
	require.Equal(t, []string{webhook.RegisteredType}, h.stored(t, webhook.Stream(org)))
	for _, typ := range []string{lock.RegisteredType, lock.FrozenType, lock.PeriodReminderDueType, report.RecordedType, lock.DeviceTokenRotatedType} {
		_, err := hooks.CreateWebhook(ctx, org, meta(admin, ""), commands.CreateWebhook{URL: "https://hooks.example.org/o", EventTypes: []string{typ}})
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "%s is not an organization's to receive", typ)
	}
	types := commands.WebhookEventTypes(webhook.OwnerOrganization)
	require.Subset(t, commands.WebhookEventTypes(webhook.OwnerAccount), types)
	_, err = hooks.DeleteWebhook(ctx, webhook.AccountOwner(admin), created.Webhook.ID, meta(admin, ""))
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err), "the admin's own set does not hold it")
	_, err = hooks.DeleteWebhook(ctx, org, created.Webhook.ID, meta(admin, ""))
	require.NoError(t, err)
}

// TestWebhookEventTypes checks every type a webhook may receive is a lock's own
// event (E2): of the lock or lockreport category, and registered.
func TestWebhookEventTypes(t *testing.T) {
	t.Parallel()
	r := es.NewRegistry()
	lock.RegisterEvents(r)
	report.RegisterEvents(r)
	types := commands.WebhookEventTypes(webhook.OwnerAccount)
	require.Contains(t, types, lock.PeriodReminderDueType, "L16 reminders go by webhook too")
	// Every event of a lock's streams but the serial reservations (not a lock's
	// stream): a new lock event fails this test until it is deliverable.
	require.Len(t, types, r.Types()-len([]string{lock.SerialAssignedType, lock.SerialRetiredType}))
	for _, typ := range types {
		require.True(t, r.Known(typ), typ)
		require.True(t, strings.HasPrefix(typ, "lock.") || typ == report.RecordedType, typ)
	}
}

package platform

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"sleutel/commands"
	"sleutel/domain/es"
	"sleutel/domain/webhook"
	"sleutel/infra/bus"
	"sleutel/infra/hook"
	"sleutel/infra/httpapi"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// WebhookConfig configures webhooks (W1). The zero value is production's.
type WebhookConfig struct {
	// AllowPrivate lets webhooks target loopback, private and link-local
	// addresses (sleuteld --webhooks-allow-private): for tests and closed
	// networks, never for a platform open to the public (SSRF).
	AllowPrivate bool
	// FirstRetry, MaxRetry, MaxAttempts and Timeout override the delivery
	// defaults (30 s doubling to 4 h, 15 attempts, 10 s an attempt); tests
	// shorten them.
	FirstRetry, MaxRetry time.Duration
	MaxAttempts          int
	Timeout              time.Duration
}

// webhookAPI is what the HTTP API needs of webhooks: the commands, the webhook
// store's queries, and a wait on the runtime that feeds the store.
type webhookAPI struct {
	*projections.WebhookStore
	commands *commands.Webhooks
	runtime  *bus.Runtime
}

var _ httpapi.Webhooks = webhookAPI{}

// CreateWebhook runs the command.
func (w webhookAPI) CreateWebhook(ctx context.Context, owner webhook.Owner, m commands.Meta, cmd commands.CreateWebhook) (commands.CreatedWebhook, error) {
	return w.commands.CreateWebhook(ctx, owner, m, cmd)
}

// DeleteWebhook runs the command.
func (w webhookAPI) DeleteWebhook(ctx context.Context, owner webhook.Owner, id uuid.UUID, m commands.Meta) (commands.Result, error) {
	return w.commands.DeleteWebhook(ctx, owner, id, m)
}

// WaitFor waits until the webhook views have applied the log up to pos.
func (w webhookAPI) WaitFor(ctx context.Context, pos es.Position) error {
	return w.runtime.WaitFor(ctx, projections.WebhookDeliveriesName, pos)
}

// startWebhooks opens the webhook store in the data directory's "webhooks"
// folder and starts the deliveries: the webhook_deliveries projection on a
// runtime of its own, and the workers.
//
// The store is apart from the read models, like the mail outbox: it records what
// was sent to the outside world, which no replay of the log can reproduce, so it
// is not one of the read models a replay rebuilds and compares (H2). Its runtime
// keeps the projection's checkpoint in the same store as the queue, so the queue
// is never behind the checkpoint, even after a kill -9. Deleting the folder would
// deliver the whole history again (with the same delivery ids).
func (m *Main) startWebhooks(runCtx context.Context, registry *es.Registry, secrets commands.Secrets) (httpapi.Webhooks, error) {
	kv, err := readstore.Open(filepath.Join(m.DataDir, "webhooks"))
	if err != nil {
		return nil, err
	}
	m.closers = append(m.closers, kv.Close)
	store := projections.NewWebhookStore(kv)
	log := m.Logger.Named("webhooks")
	workers := hook.Start(runCtx, hook.Config{Queue: store, Logger: log, AllowPrivate: m.Webhooks.AllowPrivate,
		Secret:     func(id uuid.UUID, salt string) string { return commands.WebhookSecret(secrets, id, salt) },
		FirstRetry: m.Webhooks.FirstRetry, MaxRetry: m.Webhooks.MaxRetry, MaxAttempts: m.Webhooks.MaxAttempts, Timeout: m.Webhooks.Timeout})
	m.closers = append(m.closers, workers.Close)
	runtime, err := bus.NewRuntime(bus.RuntimeConfig{Log: m.Events, Checkpoints: kv, Registry: registry, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := runtime.Register(projections.NewWebhookDeliveries(store, workers.Notify)); err != nil {
		return nil, err
	}
	m.closers = append(m.closers, runtime.Close)
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		if err := runtime.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("webhook runtime stopped", zap.Error(err))
		}
	}()
	hooks := commands.NewWebhooks(commands.WebhooksConfig{Store: m.Events, Registry: registry, Secrets: secrets, Clock: m.Clock,
		Rand: rand.Reader, Policy: webhook.URLPolicy{AllowPrivate: m.Webhooks.AllowPrivate}})
	return webhookAPI{WebhookStore: store, commands: hooks, runtime: runtime}, nil
}

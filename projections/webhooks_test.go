package projections_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/domain/webhook"
	"sleutel/projections"
)

// notes records which webhooks the projection woke.
type notes struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (n *notes) notify(id uuid.UUID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ids = append(n.ids, id)
}

func (n *notes) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.ids)
}

// deliveries returns a webhook's delivery log, newest first.
func deliveries(t *testing.T, s *projections.WebhookStore, owner webhook.Owner, id uuid.UUID) []projections.DeliveryRow {
	t.Helper()
	out, next, err := s.Deliveries(t.Context(), owner, id, projections.DeliveryFilter{}, es.Start, 500)
	require.NoError(t, err)
	require.True(t, next.IsZero())
	return out
}

// feedDeliveries hands the projection the envelopes its filter lets through.
func feedDeliveries(t *testing.T, p *projections.WebhookDeliveries, envs []es.Envelope) {
	t.Helper()
	for _, env := range envs {
		if projections.FilterOf(p).Match(env.Stream, env.Type) {
			require.NoError(t, p.Handle(t.Context(), env), env.Type)
		}
	}
}

// TestWebhookRouting checks W1 with E2: a webhook gets the chosen events of the
// locks its owner owned at each event's place in the log, after its own
// registration, and nothing of the lock once it changed hands; a redelivered
// history, also to a projection that restarted with cold caches, enqueues nothing
// twice; a deleted webhook gets nothing more.
func TestWebhookRouting(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	webhook.RegisterEvents(h.reg)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	lockID, anna, bert := uuid.New(), webhook.AccountOwner(uuid.New()), webhook.AccountOwner(uuid.New())
	ls, rs := lock.Stream(lockID), report.Stream(lockID)
	annaHook, annaLate, bertHook := uuid.New(), uuid.New(), uuid.New()
	types := []string{lock.KeyIssuedType, lock.RegisteredType, lock.RemovedType, report.RecordedType}
	reg := func(id uuid.UUID, o webhook.Owner, types []string) webhook.Registered {
		return webhook.Registered{WebhookID: id, Owner: o, URL: "https://h.example.org/" + id.String(), EventTypes: types, SecretSalt: "s", RegisteredAt: t0}
	}
	issued := func(by webhook.Owner) lock.KeyIssued {
		return lock.KeyIssued{KeyID: uuid.New(), Type: lock.KeyTag, HolderName: "H", CredentialDigest: "secret-digest", IssuedBy: by.ID, IssuedAt: t0}
	}
	before := h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: anna.ID, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, DeviceTokenDigest: "dev"})
	h.add(webhook.Stream(anna), reg(annaHook, anna, types))
	h.add(webhook.Stream(bert), reg(bertHook, bert, types))
	k1 := h.add(ls, issued(anna))                                                                                         // anna's
	h.add(ls, lock.Frozen{FrozenBy: anna.ID, FrozenAt: t0})                                                               // not chosen
	r1 := h.add(rs, report.Recorded{ReportID: "r1", LockID: lockID, Type: report.Tamper, OccurredAt: t0, RecordedAt: t0}) // anna's
	rm := h.add(ls, lock.Removed{OwnerID: anna.ID, RemovedBy: anna.ID, RemovedAt: t0})                                    // still anna's
	h.add(rs, report.Recorded{ReportID: "r2", LockID: lockID, Type: report.Tamper, OccurredAt: t0, RecordedAt: t0})       // nobody's
	rb := h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: bert.ID, Name: "Mine", TimeZone: "UTC", RegisteredAt: t0, DeviceTokenDigest: "dev2"})
	k2 := h.add(ls, issued(bert)) // bert's
	h.add(webhook.Stream(anna), reg(annaLate, anna, []string{lock.KeyIssuedType}))
	k3 := h.add(ls, issued(bert)) // bert's: anna's late webhook gets nothing of bert's lock

	kv := openKV(t)
	store := projections.NewWebhookStore(kv)
	n := &notes{}
	feed := func(p *projections.WebhookDeliveries, envs []es.Envelope) { feedDeliveries(t, p, envs) }
	feed(projections.NewWebhookDeliveries(store, n.notify), h.envs)
	positions := func(ds []projections.DeliveryRow) []es.Position {
		out := make([]es.Position, len(ds))
		for i, d := range ds {
			out[i] = d.Position
		}
		return out
	}
	annas := deliveries(t, store, anna, annaHook)
	require.Equal(t, []es.Position{rm.Position, r1.Position, k1.Position}, positions(annas), "E2 only events of anna's tenure, newest first")
	require.Equal(t, []es.Position{k3.Position, k2.Position, rb.Position}, positions(deliveries(t, store, bert, bertHook)), "bert's tenure")
	require.Empty(t, deliveries(t, store, anna, annaLate))
	require.NotContains(t, positions(annas), before.Position, "nothing from before the webhook")
	require.Equal(t, 6, n.count(), "one wake-up per enqueued delivery")

	d := annas[2]
	require.Equal(t, projections.DeliveryID(annaHook, k1.ID), d.ID)
	require.Equal(t, projections.DeliveryPending, d.Status)
	require.Equal(t, lock.KeyIssuedType, d.EventType)
	require.Equal(t, lockID, d.LockID)

	all := dump(t, kv)
	again := projections.NewWebhookDeliveries(store, n.notify) // a restart: cold caches
	feed(again, h.envs[3:])                                    // a checkpoint behind the store
	feed(again, h.envs)
	require.Equal(t, all, dump(t, kv), "a redelivered history enqueues nothing again")
	require.Equal(t, 6, n.count())

	// The queue: the first due delivery is k1's, with its body, signed as stored.
	task, _, err := store.Next(t.Context(), annaHook, time.Now())
	require.NoError(t, err)
	require.NotNil(t, task)
	require.Equal(t, k1.Position, task.Delivery.Position)
	require.Equal(t, "https://h.example.org/"+annaHook.String(), task.URL)
	var body projections.WebhookPayload
	require.NoError(t, json.Unmarshal(task.Body, &body))
	require.Equal(t, projections.WebhookPayload{DeliveryID: d.ID, WebhookID: annaHook, EventID: k1.ID, Type: lock.KeyIssuedType, LockID: lockID,
		Position: k1.Position, RecordedAt: k1.RecordedAt, Actor: "account:x", Data: body.Data}, body)
	require.NotContains(t, string(task.Body), "secret-digest", "digests never leave the platform")
	require.Contains(t, string(body.Data), `"key_id"`)

	pending, err := store.Pending(t.Context())
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{annaHook, bertHook}, pending)

	// Deleting anna's webhook drops its deliveries; later events reach it no more.
	p := projections.NewWebhookDeliveries(store, n.notify)
	feed(p, []es.Envelope{h.add(webhook.Stream(anna), webhook.Deleted{WebhookID: annaHook, DeletedAt: t0})})
	_, _, err = store.Deliveries(t.Context(), anna, annaHook, projections.DeliveryFilter{}, es.Start, 10)
	require.ErrorIs(t, err, projections.ErrWebhookNotFound)
	task, due, err := store.Next(t.Context(), annaHook, time.Now())
	require.NoError(t, err)
	require.Nil(t, task)
	require.True(t, due.IsZero(), "nothing waits for a deleted webhook")
	require.NoError(t, store.Record(t.Context(), projections.WebhookAttempt{WebhookID: annaHook, Position: k1.Position, At: t0, Delivered: true}),
		"an attempt in flight while its webhook was deleted is dropped")
	feed(p, h.envs) // a redelivery does not bring it back
	_, err = store.Webhook(t.Context(), anna, annaHook)
	require.ErrorIs(t, err, projections.ErrWebhookNotFound)
	rows, _, err := store.Webhooks(t.Context(), anna, uuid.Nil, 10)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, annaLate, rows[0].ID)
	_, err = store.Webhook(t.Context(), anna, bertHook)
	require.ErrorIs(t, err, projections.ErrWebhookNotFound, "E2 another's webhook reads as not found")
}

// TestOrganizationWebhookRouting checks W1 with E2 for an organization's webhook:
// it gets the events of the keys its organization issued on a shared lock (also
// their change, use and revocation, and a key issued before the webhook was
// registered) and of its own key to the lock; nothing of the owner's keys, of
// another organization's keys, or of the lock itself. A redelivery, to a
// projection with cold caches, enqueues nothing twice.
func TestOrganizationWebhookRouting(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	webhook.RegisterEvents(h.reg)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	lockID, owner, org, other := uuid.New(), uuid.New(), webhook.OrganizationOwner(uuid.New()), webhook.OrganizationOwner(uuid.New())
	ls := lock.Stream(lockID)
	orgHook, ownerHook := uuid.New(), uuid.New()
	keyTypes := []string{lock.KeyIssuedType, lock.KeyChangedType, lock.KeyRevokedType, lock.KeyUsedType, lock.OrganizationKeyIssuedType, lock.OrganizationKeyRevokedType}
	issued := func(by uuid.UUID, o webhook.Owner) lock.KeyIssued {
		return lock.KeyIssued{KeyID: uuid.New(), Type: lock.KeyTag, HolderName: "H", CredentialDigest: "secret-digest", IssuedBy: by, Organization: o.ID, IssuedAt: t0}
	}
	h.add(ls, lock.Registered{LockID: lockID, Serial: "FX-9", OwnerID: owner, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true, DeviceTokenDigest: "dev"})
	h.add(ls, lock.OrganizationKeyIssued{OrganizationID: org.ID, IssuedBy: owner, IssuedAt: t0})
	early := issued(uuid.New(), org) // before the webhook: not sent, but remembered
	h.add(ls, early)
	h.add(webhook.Stream(org), webhook.Registered{WebhookID: orgHook, Owner: org, URL: "https://h.example.org/org", EventTypes: keyTypes, SecretSalt: "s", RegisteredAt: t0})
	h.add(webhook.Stream(webhook.AccountOwner(owner)), webhook.Registered{WebhookID: ownerHook, Owner: webhook.AccountOwner(owner), URL: "https://h.example.org/own",
		EventTypes: keyTypes, SecretSalt: "s", RegisteredAt: t0})
	changed := h.add(ls, lock.KeyChanged{KeyID: early.KeyID, HolderName: "Renamed", ChangedBy: uuid.New(), ChangedAt: t0})
	h.add(ls, issued(owner, webhook.Owner{}))                                                      // the owner's own key
	h.add(ls, lock.OrganizationKeyIssued{OrganizationID: other.ID, IssuedBy: owner, IssuedAt: t0}) // another organization's
	theirs := issued(uuid.New(), other)
	h.add(ls, theirs)
	h.add(ls, lock.Frozen{FrozenBy: owner, FrozenAt: t0}) // the lock's own: not the organization's
	mine := issued(uuid.New(), org)
	k := h.add(ls, mine)
	h.add(ls, lock.KeyRevoked{KeyID: theirs.KeyID, RevokedBy: owner, Reason: "x", RevokedAt: t0})
	used := h.add(ls, lock.KeyUsed{KeyID: mine.KeyID, UsedAt: t0})
	rv := h.add(ls, lock.KeyRevoked{KeyID: early.KeyID, RevokedBy: owner, Reason: "cascade", RevokedAt: t0})
	back := h.add(ls, lock.OrganizationKeyRevoked{OrganizationID: org.ID, RevokedBy: owner, RevokedAt: t0})

	kv := openKV(t)
	store := projections.NewWebhookStore(kv)
	n := &notes{}
	feed := func(p *projections.WebhookDeliveries, envs []es.Envelope) { feedDeliveries(t, p, envs) }
	feed(projections.NewWebhookDeliveries(store, n.notify), h.envs)
	var got []es.Position
	for _, d := range deliveries(t, store, org, orgHook) {
		got = append(got, d.Position)
	}
	require.Equal(t, []es.Position{back.Position, rv.Position, used.Position, k.Position, changed.Position}, got,
		"E2 the organization hears only of its own keys and its key to the lock, newest first")
	require.Len(t, deliveries(t, store, webhook.AccountOwner(owner), ownerHook), 9, "the owner hears of every key event of the lock after registering")
	_, err := store.Webhook(t.Context(), other, orgHook)
	require.ErrorIs(t, err, projections.ErrWebhookNotFound, "E2 another organization does not read it")
	o, err := store.OwnerOf(t.Context(), orgHook)
	require.NoError(t, err)
	require.Equal(t, org, o)

	all := dump(t, kv)
	feed(projections.NewWebhookDeliveries(store, n.notify), h.envs)
	require.Equal(t, all, dump(t, kv), "a redelivered history enqueues nothing again")
}

// TestWebhookQueue walks a delivery through failed attempts, backoff and success,
// and another to its giving up, as the workers record them (W1).
func TestWebhookQueue(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	webhook.RegisterEvents(h.reg)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	lockID, owner, hook := uuid.New(), webhook.AccountOwner(uuid.New()), uuid.New()
	h.add(webhook.Stream(owner), webhook.Registered{WebhookID: hook, Owner: owner, URL: "https://h.example.org/", EventTypes: []string{lock.FrozenType, lock.UnfrozenType}, SecretSalt: "s", RegisteredAt: t0})
	h.add(lock.Stream(lockID), lock.Registered{LockID: lockID, Serial: "FX-1", OwnerID: owner.ID, Name: "Door", TimeZone: "UTC", RegisteredAt: t0, FirstRegistration: true})
	for i := range 30 {
		if i%2 == 0 {
			h.add(lock.Stream(lockID), lock.Frozen{FrozenBy: owner.ID, FrozenAt: t0})
		} else {
			h.add(lock.Stream(lockID), lock.Unfrozen{UnfrozenBy: owner.ID, UnfrozenAt: t0})
		}
	}
	store := projections.NewWebhookStore(openKV(t))
	p := projections.NewWebhookDeliveries(store, nil)
	for _, env := range h.envs {
		require.NoError(t, p.Handle(t.Context(), env))
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first, _, err := store.Next(t.Context(), hook, now)
	require.NoError(t, err)
	require.Equal(t, h.envs[2].Position, first.Delivery.Position, "the oldest first")

	// Two failures, then success.
	require.NoError(t, store.Record(t.Context(), projections.WebhookAttempt{WebhookID: hook, Position: first.Delivery.Position, At: now,
		StatusCode: 500, Error: "HTTP 500", Retry: now.Add(time.Minute)}))
	second, _, err := store.Next(t.Context(), hook, now)
	require.NoError(t, err)
	require.Equal(t, h.envs[3].Position, second.Delivery.Position, "a failed delivery does not hold up the next")
	require.NoError(t, store.Record(t.Context(), projections.WebhookAttempt{WebhookID: hook, Position: second.Delivery.Position, At: now,
		Error: "connection refused"}), "no retry left: failed")
	for range 28 {
		task, _, err := store.Next(t.Context(), hook, now)
		require.NoError(t, err)
		require.NotNil(t, task)
		require.NoError(t, store.Record(t.Context(), projections.WebhookAttempt{WebhookID: hook, Position: task.Delivery.Position, At: now, StatusCode: 204, Delivered: true}))
	}
	task, due, err := store.Next(t.Context(), hook, now)
	require.NoError(t, err)
	require.Nil(t, task)
	require.Equal(t, now.Add(time.Minute), due, "the retry falls due after its backoff")
	task, _, err = store.Next(t.Context(), hook, due)
	require.NoError(t, err)
	require.NotNil(t, task)
	require.Equal(t, 1, task.Delivery.Attempts)
	require.NoError(t, store.Record(t.Context(), projections.WebhookAttempt{WebhookID: hook, Position: task.Delivery.Position, At: due, StatusCode: 200, Delivered: true}))
	require.NoError(t, store.Record(t.Context(), projections.WebhookAttempt{WebhookID: hook, Position: task.Delivery.Position, At: due, StatusCode: 200, Delivered: true}),
		"a second outcome of a finished delivery changes nothing")
	pending, err := store.Pending(t.Context())
	require.NoError(t, err)
	require.Empty(t, pending)

	page, next, err := store.Deliveries(t.Context(), owner, hook, projections.DeliveryFilter{}, es.Start, 20)
	require.NoError(t, err)
	require.Len(t, page, 20)
	rest, last, err := store.Deliveries(t.Context(), owner, hook, projections.DeliveryFilter{}, next, 20)
	require.NoError(t, err)
	require.Len(t, rest, 10, "paging neither skips nor repeats")
	require.True(t, last.IsZero())
	all := append(page, rest...)
	require.True(t, slices.IsSortedFunc(all, func(a, b projections.DeliveryRow) int {
		if b.Position.Less(a.Position) {
			return -1
		}
		return 1
	}), "newest first")
	retried := all[len(all)-1]
	require.Equal(t, projections.DeliveryDelivered, retried.Status)
	require.Equal(t, 2, retried.Attempts)
	require.Equal(t, 200, retried.LastStatusCode)
	require.Equal(t, "HTTP 500", retried.LastError, "the delivery log keeps why it was retried")
	require.Equal(t, due, *retried.DeliveredAt)
	require.Nil(t, retried.NextAttemptAt)
	failed, _, err := store.Deliveries(t.Context(), owner, hook, projections.DeliveryFilter{Status: projections.DeliveryFailed}, es.Start, 20)
	require.NoError(t, err)
	require.Len(t, failed, 1)
	require.Equal(t, "connection refused", failed[0].LastError)
	require.Equal(t, 1, failed[0].Attempts)
	_, _, err = store.Deliveries(t.Context(), webhook.AccountOwner(uuid.New()), hook, projections.DeliveryFilter{}, es.Start, 20)
	require.ErrorIs(t, err, projections.ErrWebhookNotFound, "E2 a stranger does not see another's delivery log")
}

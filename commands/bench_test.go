package commands_test

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// hotLock builds a lock whose stream holds 20,000 events with 2,500 active keys,
// appended in batches straight to the store (real events, quickly).
func hotLock(b *testing.B, h *harness, owner uuid.UUID) uuid.UUID {
	b.Helper()
	ctx := b.Context()
	reg, err := h.locks.RegisterLock(ctx, owner, meta(owner, ""), commands.RegisterLock{Serial: "HOT-1", Name: "Hot", TimeZone: "UTC"})
	require.NoError(b, err)
	l := lock.New()
	recs, err := h.store.ReadStream(ctx, lock.Stream(reg.LockID), 0, 10)
	require.NoError(b, err)
	for _, r := range recs {
		env, err := h.registry.Envelope(r)
		require.NoError(b, err)
		l.Replay(env.Event)
	}
	now := h.clock.Now()
	l.ApplyCode(uuid.New(), uuid.New(), lock.Benefit{Kind: lock.BenefitKeys, Keys: lock.MaxActiveKeys - lock.InitialKeyAllowance}, now)
	l.ApplyCode(uuid.New(), uuid.New(), lock.Benefit{Kind: lock.BenefitManagement}, now)
	var active []uuid.UUID
	for i := 0; l.Version()+uint64(len(l.Changes())) < 20_000; i++ {
		if len(active) == lock.MaxActiveKeys-1 || (len(active) > 2000 && i%3 == 0) {
			require.NoError(b, l.RevokeKey(lock.Owner(owner), active[0], now))
			active = active[1:]
		} else {
			id := uuid.New()
			require.NoError(b, l.IssueKey(lock.Owner(owner), lock.KeyRequest{KeyID: id, Type: lock.KeyTag, CredentialDigest: id.String(), Terms: lock.KeyTerms{HolderName: "h"}}, now))
			active = append(active, id)
		}
		if len(l.Changes()) == 1000 {
			flush(b, h, reg.LockID, l)
		}
	}
	for len(active) < lock.MaxActiveKeys-1 {
		id := uuid.New()
		require.NoError(b, l.IssueKey(lock.Owner(owner), lock.KeyRequest{KeyID: id, Type: lock.KeyTag, CredentialDigest: id.String(), Terms: lock.KeyTerms{HolderName: "h"}}, now))
		active = append(active, id)
	}
	flush(b, h, reg.LockID, l)
	require.Equal(b, lock.MaxActiveKeys-1, l.ActiveKeys())
	return reg.LockID
}

func flush(b *testing.B, h *harness, id uuid.UUID, l *lock.Lock) {
	data := make([]es.EventData, len(l.Changes()))
	for i, e := range l.Changes() {
		d, err := h.registry.Encode(uuid.New(), e, es.Metadata{Actor: "system:bench"})
		require.NoError(b, err)
		data[i] = d
	}
	_, err := h.store.Append(b.Context(), lock.Stream(id), es.AfterVersion(l.Version()), data...)
	require.NoError(b, err)
	l.Committed()
}

// BenchmarkHotLock measures an issue-then-revoke pair on a lock with 20,000 events
// and 2,499 active keys: with the aggregate cached (what the platform does) and
// with the stream reloaded for every command (the naive baseline). Compare the two
// ns/op: go test -run '^$' -bench HotLock ./commands/
func BenchmarkHotLock(b *testing.B) {
	owner := uuid.New()
	h := newHarness(b)
	id := hotLock(b, h, owner)
	stream := lock.Stream(id)
	pair := func(b *testing.B, forget bool) {
		for i := 0; i < b.N; i++ {
			if forget {
				h.locks.LockRepository().Forget(stream)
			}
			k, err := h.locks.IssueKey(b.Context(), owner, meta(owner, ""), commands.IssueKey{LockID: id, Type: "tag", Credential: fmt.Sprintf("HOT%08d%d", i, b.N), Terms: lock.KeyTerms{HolderName: "x"}})
			if err != nil {
				b.Fatal(err)
			}
			if forget {
				h.locks.LockRepository().Forget(stream)
			}
			if _, err := h.locks.RevokeKey(b.Context(), owner, id, k.KeyID, meta(owner, "")); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("cached", func(b *testing.B) { pair(b, false) })
	b.Run("reload_every_command", func(b *testing.B) { pair(b, true) })
}

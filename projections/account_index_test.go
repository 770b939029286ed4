package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/account"
	"sleutel/projections"
)

// TestAccountIndex_A4_A6: accounts are found by email (any case, following A5
// changes) and by their latest activation code; feeding the log again changes
// nothing.
func TestAccountIndex_A4_A6(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	kv := openKV(t)
	p := projections.NewAccountIndex(kv)
	a, b, admin := uuid.New(), uuid.New(), uuid.New()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	h.add("account-"+a.String(), account.Registered{AccountID: a, Username: "anna", Email: "Anna@example.org", PasswordHash: "h", RegisteredAt: t0})
	h.add("account-"+b.String(), account.Registered{AccountID: b, Username: "bert", Email: "anna@example.org", CreatedBy: admin, OrganizationID: uuid.New(), RegisteredAt: t0})
	h.add("account-"+b.String(), account.ActivationIssued{ActivationID: uuid.New(), CodeDigest: "first", IssuedBy: admin, ExpiresAt: t0.Add(time.Hour), IssuedAt: t0})
	h.add("account-"+b.String(), account.ActivationIssued{ActivationID: uuid.New(), CodeDigest: "second", IssuedBy: admin, ExpiresAt: t0.Add(time.Hour), IssuedAt: t0})
	h.add("account-"+a.String(), account.EmailChanged{Email: "anna@elders.nl", ChangedBy: admin, ChangedAt: t0})
	for range 2 {
		for _, env := range h.envs {
			require.NoError(t, p.Handle(t.Context(), env))
		}
	}
	ctx := t.Context()
	got, err := p.AccountsByEmail(ctx, "ANNA@EXAMPLE.ORG")
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{b}, got, "A5 the old address no longer leads to anna")
	got, err = p.AccountsByEmail(ctx, "anna@elders.nl")
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{a}, got)
	_, found, err := p.AccountByActivation(ctx, "first")
	require.NoError(t, err)
	require.False(t, found, "A6 a replaced code leads nowhere")
	id, found, err := p.AccountByActivation(ctx, "second")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, b, id)
}

type mails struct {
	mu   sync.Mutex
	sent map[string]projections.Mail
}

func (m *mails) Send(_ context.Context, mail projections.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sent == nil {
		m.sent = map[string]projections.Mail{}
	}
	m.sent[mail.ID] = mail
	return nil
}

// TestPasswordResetMail_A4: the link goes to the address of the request, once per
// event.
func TestPasswordResetMail_A4(t *testing.T) {
	t.Parallel()
	h := newHistory(t)
	a, reset := uuid.New(), uuid.New()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	env := h.add("account-"+a.String(), account.PasswordResetRequested{ResetID: reset, TokenDigest: "d", Email: "anna@example.org", ExpiresAt: t0.Add(time.Hour), RequestedAt: t0})
	m := &mails{}
	p := projections.NewPasswordResetMail(m, func(acc, id uuid.UUID) string {
		return projections.ResetURL("https://sleutel.example", acc.String()+"."+id.String())
	})
	require.NoError(t, p.Handle(t.Context(), env))
	require.NoError(t, p.Handle(t.Context(), env))
	require.Len(t, m.sent, 1)
	mail := m.sent[env.ID.String()]
	require.Equal(t, "anna@example.org", mail.To)
	require.Contains(t, mail.Text, "https://sleutel.example/v1/password-resets/"+a.String()+"."+reset.String())
	require.Contains(t, mail.Text, "1 March 2026 10:00 UTC", "A4 the mail says until when the link works")
}

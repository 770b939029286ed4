package platform

import (
	"context"

	"github.com/google/uuid"

	"sleutel/commands"
	"sleutel/domain/code"

	"sleutel/infra/mail"
	"sleutel/infra/secret"
	"sleutel/projections"
)

// openKeyring opens (creating on first start) the platform's keyring in the data
// directory's secrets folder.
func openKeyring(dataDir string) (*secret.Keyring, error) { return secret.OpenKeyring(dataDir) }

// passwords adapts infra/secret's argon2id hasher to commands.Passwords.
type passwords struct{ h *secret.Hasher }

func newPasswords() (passwords, error) {
	h, err := secret.NewHasher(secret.DefaultParams())
	return passwords{h: h}, err
}

func (p passwords) Hash(ctx context.Context, pw string) (string, error) { return p.h.Hash(ctx, pw) }
func (p passwords) Verify(ctx context.Context, pw, hash string) (bool, error) {
	return p.h.Verify(ctx, pw, hash)
}
func (p passwords) Dummy(ctx context.Context, pw string) error { return p.h.Dummy(ctx, pw) }

// mailer adapts a mail sender to projections.Mailer.
type mailer struct{ s mail.Sender }

func (m mailer) Send(ctx context.Context, msg projections.Mail) error {
	return m.s.Send(ctx, mail.Message{ID: msg.ID, To: msg.To, Subject: msg.Subject, Text: msg.Text})
}

// mailFrom is the sender address of the platform's mail.
const mailFrom = "Sleutel <no-reply@sleutel.localhost>"

// redemptions completes consumed codes of both kinds (P3): lock codes through the
// code handlers, organization-management codes through the organization handlers.
type redemptions struct {
	codes *commands.Codes
	orgs  *commands.Organizations
}

func (r redemptions) CompleteRedemption(ctx context.Context, e code.Redeemed) error {
	if e.AccountID != uuid.Nil {
		return r.orgs.CompleteAccountRedemption(ctx, e)
	}
	return r.codes.CompleteRedemption(ctx, e)
}

// invitationLinks builds invitation links from the keyring (O2).
type invitationLinks struct{ secrets commands.Secrets }

func (l invitationLinks) InvitationLink(org, id uuid.UUID) string {
	return "/v1/organizations/" + org.String() + "/invitations/" + commands.InvitationToken(l.secrets, id) + "/acceptance"
}

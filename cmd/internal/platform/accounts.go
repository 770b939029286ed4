package platform

import (
	"crypto/tls"
	"fmt"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"sleutel/commands"
	"sleutel/infra/mail"
	"sleutel/projections"
)

// MailConfig selects how the platform's mail leaves (reset links, invitations,
// reminders): through an SMTP server when SMTP is set, into the data directory's
// outbox folder otherwise.
type MailConfig struct {
	// SMTP is the server's host:port (--smtp); STARTTLS is required.
	SMTP string
	// Username and Password log in with AUTH PLAIN when Username is set
	// (--smtp-user; the password only from SLEUTEL_SMTP_PASSWORD).
	Username string
	Password string
	// From is the sender address (--smtp-from); Sleutel's no-reply when empty.
	From string
	// TLS configures STARTTLS: nil trusts the system's roots. Tests set it; no
	// flag does.
	TLS *tls.Config
}

// newMailer returns the SMTP sender of c.Mail, or the outbox in the data directory.
func (m *Main) newMailer(now func() time.Time) (mailer, error) {
	from := m.Mail.From
	if from == "" {
		from = mailFrom
	}
	if m.Mail.SMTP == "" {
		o, err := mail.NewOutbox(mail.OutboxConfig{Dir: filepath.Join(m.DataDir, "outbox"), From: from, Now: now})
		return mailer{s: o}, err
	}
	s, err := mail.NewSMTP(mail.SMTPConfig{Addr: m.Mail.SMTP, From: from, Username: m.Mail.Username, Password: m.Mail.Password,
		TLS: m.Mail.TLS, Now: now})
	if err != nil {
		return mailer{}, fmt.Errorf("--smtp: %w", err)
	}
	return mailer{s: s}, nil
}

// resetLinks writes the link of a password reset from the keyring (A4); like an
// invitation's, it is a path on the platform's own address.
func resetLinks(secrets commands.Secrets) projections.ResetLink {
	return func(accountID, resetID uuid.UUID) string {
		return projections.ResetURL("", commands.PasswordResetToken(secrets, accountID, resetID))
	}
}

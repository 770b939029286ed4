package projections

import (
	"context"
	"fmt"
	"net/url"

	"github.com/google/uuid"

	"sleutel/domain/account"
	"sleutel/domain/es"
)

// ResetLink returns the link of a password reset (A4): the platform derives its
// token from the keyring and the reset's id, so this process manager can write it
// from the event, which holds only the token's digest.
type ResetLink func(accountID, resetID uuid.UUID) string

// PasswordResetMail mails the link of each password-reset request (A4) to the
// address the account had when it asked. The mail's ID is the event's, so a
// redelivered event sends nothing new. Shared generic accounts never get here:
// their requests are not recorded.
type PasswordResetMail struct {
	mailer Mailer
	link   ResetLink
}

// NewPasswordResetMail returns the process manager.
func NewPasswordResetMail(m Mailer, link ResetLink) *PasswordResetMail {
	return &PasswordResetMail{mailer: m, link: link}
}

// Name implements Projection.
func (*PasswordResetMail) Name() string { return "password_reset_mail_v1" }

// Filter implements Filtered.
func (*PasswordResetMail) Filter() es.Filter {
	return es.Filter{EventTypes: []string{account.PasswordResetRequestedType}}
}

// Handle implements Projection.
func (p *PasswordResetMail) Handle(ctx context.Context, env es.Envelope) error {
	e, ok := env.Event.(account.PasswordResetRequested)
	id, isAccount := es.StreamID(env.Stream)
	if !ok || !isAccount || e.Email == "" {
		return nil
	}
	link := p.link(id, e.ResetID)
	text := fmt.Sprintf("Hello,\n\nSomeone asked to reset the password of your Sleutel account. "+
		"To choose a new password, follow this link before %s:\n\n%s\n\n"+
		"The link works once. If you did not ask for it, ignore this mail: your password stays as it is.\n\n— Sleutel\n",
		e.ExpiresAt.UTC().Format("2 January 2006 15:04 MST"), link)
	return p.mailer.Send(ctx, Mail{ID: env.ID.String(), To: e.Email, Subject: "Reset your Sleutel password", Text: text})
}

// ResetURL builds the link of a reset token on the API at base: the token in the
// path of POST /v1/password-resets/{token}, which a web page or a client
// completes with the new password.
func ResetURL(base, token string) string {
	return base + "/v1/password-resets/" + url.PathEscape(token)
}

// UsernameGuard reserves the look-alike keys of an account's username.
type UsernameGuard interface {
	GuardUsername(ctx context.Context, accountID uuid.UUID) error
}

// Lookalikes is the process manager that gives every account that holds its
// username the look-alike keys of that username (A1). New sign-ups reserve them
// themselves; this one covers the accounts made before look-alikes were refused,
// once, when it first reads the log from the start, and then finds nothing to do.
type Lookalikes struct{ guard UsernameGuard }

// NewLookalikes returns the process manager.
func NewLookalikes(g UsernameGuard) *Lookalikes { return &Lookalikes{guard: g} }

// Name implements Projection.
func (*Lookalikes) Name() string { return "lookalikes_v1" }

// Filter implements Filtered.
func (*Lookalikes) Filter() es.Filter {
	return es.Filter{Categories: []string{account.UsernameCategory}}
}

// Handle implements Projection.
func (p *Lookalikes) Handle(ctx context.Context, env es.Envelope) error {
	if e, ok := env.Event.(account.UsernameReserved); ok {
		return p.guard.GuardUsername(ctx, e.AccountID)
	}
	return nil
}

package projections

import (
	"context"
	"fmt"

	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// Mail is a message to send.
type Mail struct {
	ID      string // the same ID is delivered once
	To      string
	Subject string
	Text    string
}

// Mailer sends mail; sending a message ID twice delivers it once.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// ReminderMail mails a lock's owner when a period is about to end (L16), from the
// lock.period_reminder_due events the scheduler records. The mail's ID is the
// event's, so a redelivered event sends nothing new.
type ReminderMail struct {
	mailer   Mailer
	locks    *LockQueries
	accounts *AccountQueries
}

// NewReminderMail returns the process manager.
func NewReminderMail(m Mailer, locks *LockQueries, accounts *AccountQueries) *ReminderMail {
	return &ReminderMail{mailer: m, locks: locks, accounts: accounts}
}

// Name implements Projection.
func (*ReminderMail) Name() string { return "reminder_mail_v1" }

// Filter implements Filtered.
func (*ReminderMail) Filter() es.Filter {
	return es.Filter{EventTypes: []string{lock.PeriodReminderDueType}}
}

// Handle implements Projection.
func (p *ReminderMail) Handle(ctx context.Context, env es.Envelope) error {
	e, ok := env.Event.(lock.PeriodReminderDue)
	if !ok {
		return nil
	}
	owner, err := p.accounts.Account(ctx, e.OwnerID)
	if err != nil {
		return err
	}
	if owner == nil || owner.Email == "" {
		return nil // no address to remind
	}
	name := "your lock"
	if id, ok := es.StreamID(env.Stream); ok {
		if row, err := p.locks.AnyLock(ctx, id); err != nil {
			return err
		} else if row != nil {
			name = fmt.Sprintf("%q (%s)", row.Name, row.Serial)
		}
	}
	what := map[string]string{
		lock.PeriodManagement:       "Full management",
		lock.PeriodSharedManagement: "Shared management",
	}[e.Period]
	if what == "" {
		what = "A period"
	}
	text := fmt.Sprintf("Hello %s,\n\n%s of %s ends on %s, in %d days.\n\n"+
		"After that you can still revoke keys and see the log, and every key keeps working at the door, "+
		"but issuing or changing keys needs a management code: redeem one on the lock to continue.\n\n— Sleutel\n",
		owner.Username, what, name, e.EndsAt.UTC().Format("2 January 2006 15:04 MST"), e.DaysBefore)
	return p.mailer.Send(ctx, Mail{ID: env.ID.String(), To: owner.Email,
		Subject: fmt.Sprintf("%s of %s ends in %d days", what, name, e.DaysBefore), Text: text})
}

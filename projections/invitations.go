package projections

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"sleutel/domain/es"
	"sleutel/domain/organization"
)

// InvitationLinks builds the link of an invitation: its token derives from the
// platform's keyring and the invitation's id, so the event holds only a digest.
type InvitationLinks interface {
	InvitationLink(org, invitationID uuid.UUID) string
}

// InvitationMail mails each invitation (O2) from its organization.invited event;
// the mail's ID is the event's, so a redelivered event sends nothing new.
type InvitationMail struct {
	mailer Mailer
	links  InvitationLinks
	orgs   *OrganizationQueries
}

// NewInvitationMail returns the process manager.
func NewInvitationMail(m Mailer, links InvitationLinks, orgs *OrganizationQueries) *InvitationMail {
	return &InvitationMail{mailer: m, links: links, orgs: orgs}
}

// Name implements Projection.
func (*InvitationMail) Name() string { return "invitation_mail_v1" }

// Filter implements Filtered.
func (*InvitationMail) Filter() es.Filter {
	return es.Filter{EventTypes: []string{organization.InvitedType}}
}

// Handle implements Projection.
func (p *InvitationMail) Handle(ctx context.Context, env es.Envelope) error {
	e, ok := env.Event.(organization.Invited)
	if !ok {
		return nil
	}
	org, _ := es.StreamID(env.Stream)
	name := "an organization"
	if row, err := p.orgs.Organization(ctx, uuid.Nil, org, true); err == nil {
		name = fmt.Sprintf("%q", row.Name)
	}
	text := fmt.Sprintf("Hello,\n\nYou are invited to join %s on Sleutel as %s.\n\n"+
		"Accept the invitation (with your account, or by choosing a username and password):\n%s\n\n"+
		"The link works once, until %s.\n\n— Sleutel\n",
		name, e.Role, p.links.InvitationLink(org, e.InvitationID), e.ExpiresAt.UTC().Format("2 January 2006 15:04 MST"))
	return p.mailer.Send(ctx, Mail{ID: env.ID.String(), To: e.Email, Subject: "Your invitation to " + name + " on Sleutel", Text: text})
}

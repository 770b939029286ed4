package account

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Event type names are stored forever: never rename.
const (
	// AuditorAppointedType is the stored type of AuditorAppointed.
	AuditorAppointedType = "account.auditor_appointed"
	// AuditorDismissedType is the stored type of AuditorDismissed.
	AuditorDismissedType = "account.auditor_dismissed"
)

// AuditorAppointed records that the account may read history (SPEC Actors: an
// auditor reads history and changes nothing): platform-wide when OrganizationID is
// uuid.Nil (appointed by the operator), else for that organization's locks,
// members and changes (appointed by its admin or the operator).
type AuditorAppointed struct {
	OrganizationID uuid.UUID `json:"organization_id,omitzero"`
	By             uuid.UUID `json:"by"`
	At             time.Time `json:"at"`
}

// EventType implements es.Event.
func (AuditorAppointed) EventType() string { return AuditorAppointedType }

// AuditorDismissed records that an audit appointment ended: platform-wide when
// OrganizationID is uuid.Nil, else for that organization.
type AuditorDismissed struct {
	OrganizationID uuid.UUID `json:"organization_id,omitzero"`
	By             uuid.UUID `json:"by"`
	At             time.Time `json:"at"`
}

// EventType implements es.Event.
func (AuditorDismissed) EventType() string { return AuditorDismissedType }

func registerAuditEvents(r *es.Registry) {
	es.Register[AuditorAppointed](r, AuditorAppointedType)
	es.Register[AuditorDismissed](r, AuditorDismissedType)
}

// ErrAppointedBy refuses an appointment or dismissal that names no one making it.
var ErrAppointedBy = &domain.Error{Code: domain.EInvalid, Message: "an auditor is appointed and dismissed by an account"}

// AppointAuditor makes the account an auditor: platform-wide for org uuid.Nil, else
// for organization org. Appointing again records nothing. The caller has checked
// that by may appoint (the operator; for an organization, also its admins).
func (a *Account) AppointAuditor(org, by uuid.UUID, now time.Time) error {
	if a.id == uuid.Nil {
		return ErrNoAccount
	}
	if by == uuid.Nil {
		return ErrAppointedBy
	}
	if a.Audits(org) {
		return nil
	}
	a.record(AuditorAppointed{OrganizationID: org, By: by, At: now.UTC()})
	return nil
}

// DismissAuditor ends the appointment for org (uuid.Nil: platform-wide). Dismissing
// an account that is no auditor there records nothing. The platform-wide auditor
// role an operator gave at registration is dismissed the same way.
func (a *Account) DismissAuditor(org, by uuid.UUID, now time.Time) error {
	if a.id == uuid.Nil {
		return ErrNoAccount
	}
	if by == uuid.Nil {
		return ErrAppointedBy
	}
	if !a.Audits(org) {
		return nil
	}
	a.record(AuditorDismissed{OrganizationID: org, By: by, At: now.UTC()})
	return nil
}

// Audits reports whether the account is an auditor for org, or platform-wide for
// uuid.Nil. A platform-wide auditor is not reported for each organization: ask for
// uuid.Nil for that.
func (a *Account) Audits(org uuid.UUID) bool {
	if org == uuid.Nil {
		return a.HasRole(RoleAuditor)
	}
	return slices.Contains(a.auditOrgs, org)
}

// AuditOrganizations returns the organizations the account audits, in the order
// of appointment.
func (a *Account) AuditOrganizations() []uuid.UUID { return slices.Clone(a.auditOrgs) }

// applyAudit applies an appointment or dismissal; false for any other event.
func (a *Account) applyAudit(e es.Event) bool {
	switch e := e.(type) {
	case AuditorAppointed:
		if e.OrganizationID == uuid.Nil {
			a.roles = append(a.roles, RoleAuditor)
		} else {
			a.auditOrgs = append(a.auditOrgs, e.OrganizationID)
		}
	case AuditorDismissed:
		if e.OrganizationID == uuid.Nil {
			a.roles = slices.DeleteFunc(a.roles, func(r Role) bool { return r == RoleAuditor })
		} else {
			a.auditOrgs = slices.DeleteFunc(a.auditOrgs, func(o uuid.UUID) bool { return o == e.OrganizationID })
		}
	default:
		return false
	}
	return true
}

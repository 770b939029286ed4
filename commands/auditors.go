package commands

import (
	"context"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/organization"
)

// ErrAppointAuditor refuses an appointment the caller may not make: platform-wide
// auditors are the operator's to appoint, an organization's also its admins'.
var ErrAppointAuditor = &domain.Error{Code: domain.EForbidden,
	Message: "only the operator appoints platform-wide auditors; an organization's auditors are appointed by its admins or the operator"}

// AppointAuditor makes account id an auditor (SPEC Actors): platform-wide for org
// uuid.Nil, which only the operator may do, or for organization org, which its
// admins and the operator may do. The appointed account may be anyone's (an
// outside accountant): it gets read access to history and nothing else. A caller
// who is not a member of org gets organization.ErrNotFound, a member who is no
// admin ErrAppointAuditor, an unknown account account.ErrNotFound.
func (h *AccountAdmin) AppointAuditor(ctx context.Context, by Caller, m Meta, id, org uuid.UUID) (Result, error) {
	return h.auditor(ctx, by, m, id, org, (*account.Account).AppointAuditor)
}

// DismissAuditor ends an appointment made by AppointAuditor, with the same rights.
func (h *AccountAdmin) DismissAuditor(ctx context.Context, by Caller, m Meta, id, org uuid.UUID) (Result, error) {
	return h.auditor(ctx, by, m, id, org, (*account.Account).DismissAuditor)
}

func (h *AccountAdmin) auditor(ctx context.Context, by Caller, m Meta, id, org uuid.UUID,
	change func(a *account.Account, org, by uuid.UUID, now time.Time) error) (Result, error) {
	if err := h.mayAppoint(ctx, by, org); err != nil {
		return Result{}, err
	}
	return h.accounts.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		if !a.Registered() {
			return account.ErrNotFound
		}
		return change(a, org, by.ID, h.accounts.clock.Now())
	})
}

// mayAppoint checks that by may appoint auditors for org (uuid.Nil: platform-wide).
func (h *AccountAdmin) mayAppoint(ctx context.Context, by Caller, org uuid.UUID) error {
	if org == uuid.Nil {
		if !by.Operator {
			return ErrAppointAuditor
		}
		return nil
	}
	var exists bool
	var role organization.Role
	var member bool
	if err := h.orgs.read(ctx, org, func(o *organization.Organization) error {
		exists = o.Exists()
		role, member = o.Role(by.ID)
		return nil
	}); err != nil {
		return err
	}
	switch {
	case !exists || !member && !by.Operator:
		return organization.ErrNotFound
	case by.Operator || role == organization.RoleAdmin:
		return nil
	}
	return ErrAppointAuditor
}

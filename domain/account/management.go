package account

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// OrganizationManagementGrantedType is stored forever: never rename.
const OrganizationManagementGrantedType = "account.organization_management_granted"

// OrganizationManagementGranted records that the account redeemed an
// organization-management code: it may run organizations that take part in shared
// key management (O6).
type OrganizationManagementGranted struct {
	CodeID       uuid.UUID `json:"code_id"`
	RedemptionID uuid.UUID `json:"redemption_id"`
	GrantedAt    time.Time `json:"granted_at"`
}

// EventType implements es.Event.
func (OrganizationManagementGranted) EventType() string { return OrganizationManagementGrantedType }

func registerManagementEvents(r *es.Registry) {
	es.Register[OrganizationManagementGranted](r, OrganizationManagementGrantedType)
}

// GrantOrganizationManagement gives the account organization management for a
// consumed code (O6, P3). It never refuses a registered account: the code was
// consumed; applying the same redemption twice records nothing.
func (a *Account) GrantOrganizationManagement(codeID, redemptionID uuid.UUID, now time.Time) {
	if a.id == uuid.Nil || a.grants[redemptionID] {
		return
	}
	a.record(OrganizationManagementGranted{CodeID: codeID, RedemptionID: redemptionID, GrantedAt: now.UTC()})
}

// HasOrganizationManagement reports whether the account redeemed an
// organization-management code (O6).
func (a *Account) HasOrganizationManagement() bool { return len(a.grants) > 0 }

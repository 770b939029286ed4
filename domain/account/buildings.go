package account

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// BuildingManagementEnabledType is stored forever: never rename.
const BuildingManagementEnabledType = "account.building_management_enabled"

// BuildingManagementEnabled records that the account switched building management
// on (L13): it may group its locks in buildings. No code is needed.
type BuildingManagementEnabled struct {
	EnabledAt time.Time `json:"enabled_at"`
}

// EventType implements es.Event.
func (BuildingManagementEnabled) EventType() string { return BuildingManagementEnabledType }

func registerBuildingEvents(r *es.Registry) {
	es.Register[BuildingManagementEnabled](r, BuildingManagementEnabledType)
}

// ErrNoAccount refuses a change to an account that was never registered.
var ErrNoAccount = &domain.Error{Code: domain.ENotFound, Message: "account not found"}

// EnableBuildingManagement switches building management on (L13), without a code.
// Switching it on again records nothing. An account never registered returns
// ErrNoAccount.
func (a *Account) EnableBuildingManagement(now time.Time) error {
	if a.id == uuid.Nil {
		return ErrNoAccount
	}
	if !a.buildingsSince.IsZero() {
		return nil
	}
	a.record(BuildingManagementEnabled{EnabledAt: now.UTC()})
	return nil
}

// BuildingManagement reports whether building management is on (L13), and since
// when.
func (a *Account) BuildingManagement() (on bool, since time.Time) {
	return !a.buildingsSince.IsZero(), a.buildingsSince
}

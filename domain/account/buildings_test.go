package account_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

func TestAccount_EnableBuildingManagement_L13(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	t1 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	registered := account.Registered{AccountID: id, Username: "anna", Email: "a@example.org", PasswordHash: hash, RegisteredAt: t0}
	enabled := account.BuildingManagementEnabled{EnabledAt: t1}
	now := t1.Add(time.Hour).In(time.FixedZone("CEST", 2*3600))
	tests := []struct {
		name     string
		given    []es.Event
		then     []es.Event
		wantCode string
		wantOn   bool
	}{
		{"L13 the owner switches building management on, without a code", []es.Event{registered},
			[]es.Event{account.BuildingManagementEnabled{EnabledAt: t1.Add(time.Hour)}}, "", true},
		{"L13 switching it on again records nothing", []es.Event{registered, enabled}, nil, "", true},
		{"an account never registered is not found", nil, nil, domain.ENotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := account.Rehydrate(tt.given)       // given
			err := a.EnableBuildingManagement(now) // when
			if tt.wantCode == "" {
				require.NoError(t, err)
			}
			require.Equal(t, tt.wantCode, domain.ErrorCode(err)) // then
			require.Equal(t, tt.then, a.Changes(), "E3 times in UTC")
			on, since := a.BuildingManagement()
			require.Equal(t, tt.wantOn, on)
			require.Equal(t, tt.wantOn, !since.IsZero())
		})
	}
	off := account.Rehydrate([]es.Event{registered})
	on, since := off.BuildingManagement()
	require.False(t, on, "L13 building management starts off")
	require.True(t, since.IsZero())
}

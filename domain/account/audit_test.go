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

// TestAccount_Auditor covers appointing and dismissing auditors (SPEC Actors: an
// account with the audit role, platform-wide or for one organization).
func TestAccount_Auditor(t *testing.T) {
	t.Parallel()
	id, operator, admin, org, other := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	registered := account.Registered{AccountID: id, Username: "ria", Email: "ria@example.nl", PasswordHash: hash, RegisteredAt: t0}
	t1 := t0.Add(time.Hour)
	appoint := func(org, by uuid.UUID) func(*account.Account) error {
		return func(a *account.Account) error { return a.AppointAuditor(org, by, t1) }
	}
	dismiss := func(org, by uuid.UUID) func(*account.Account) error {
		return func(a *account.Account) error { return a.DismissAuditor(org, by, t1) }
	}
	appointedOrg := account.AuditorAppointed{OrganizationID: org, By: admin, At: t0}
	appointedPlatform := account.AuditorAppointed{By: operator, At: t0}
	tests := []struct {
		name     string
		given    []es.Event
		when     func(*account.Account) error
		then     []es.Event
		wantCode string
	}{
		{"the operator appoints a platform-wide auditor", []es.Event{registered}, appoint(uuid.Nil, operator),
			[]es.Event{account.AuditorAppointed{By: operator, At: t1}}, ""},
		{"an organization's admin appoints an auditor for it", []es.Event{registered}, appoint(org, admin),
			[]es.Event{account.AuditorAppointed{OrganizationID: org, By: admin, At: t1}}, ""},
		{"appointing again records nothing", []es.Event{registered, appointedOrg}, appoint(org, admin), nil, ""},
		{"an auditor of one organization is appointed for another", []es.Event{registered, appointedOrg}, appoint(other, admin),
			[]es.Event{account.AuditorAppointed{OrganizationID: other, By: admin, At: t1}}, ""},
		{"an auditor for an organization is appointed platform-wide", []es.Event{registered, appointedOrg}, appoint(uuid.Nil, operator),
			[]es.Event{account.AuditorAppointed{By: operator, At: t1}}, ""},
		{"a platform auditor given the role at registration is already one",
			[]es.Event{account.Registered{AccountID: id, Username: "ria", PasswordHash: hash, Roles: []account.Role{account.RoleAuditor}, RegisteredAt: t0}},
			appoint(uuid.Nil, operator), nil, ""},
		{"dismissing an organization's auditor", []es.Event{registered, appointedOrg}, dismiss(org, admin),
			[]es.Event{account.AuditorDismissed{OrganizationID: org, By: admin, At: t1}}, ""},
		{"dismissing a platform-wide auditor", []es.Event{registered, appointedPlatform}, dismiss(uuid.Nil, operator),
			[]es.Event{account.AuditorDismissed{By: operator, At: t1}}, ""},
		{"dismissing someone who is no auditor there records nothing", []es.Event{registered, appointedOrg}, dismiss(other, admin), nil, ""},
		{"an appointment names who makes it", []es.Event{registered}, appoint(org, uuid.Nil), nil, domain.EInvalid},
		{"no appointment of an account never registered", nil, appoint(org, admin), nil, domain.ENotFound},
		{"no dismissal of an account never registered", nil, dismiss(org, admin), nil, domain.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := account.Rehydrate(tt.given)                     // given
			err := tt.when(a)                                    // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err)) // then
			require.Equal(t, tt.then, a.Changes())
		})
	}

	a := account.Rehydrate([]es.Event{registered, appointedOrg, appointedPlatform,
		account.AuditorAppointed{OrganizationID: other, By: admin, At: t0}})
	require.True(t, a.Audits(uuid.Nil))
	require.True(t, a.HasRole(account.RoleAuditor))
	require.Equal(t, []uuid.UUID{org, other}, a.AuditOrganizations())
	require.NoError(t, a.DismissAuditor(org, admin, t1))
	require.NoError(t, a.DismissAuditor(uuid.Nil, operator, t1))
	require.False(t, a.Audits(org))
	require.False(t, a.HasRole(account.RoleAuditor))
	require.Equal(t, []uuid.UUID{other}, a.AuditOrganizations())
}

package organization_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/organization"
)

var (
	t0       = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	orgID    = uuid.MustParse("01936b2a-0000-7000-8000-00000000f001")
	admin    = uuid.MustParse("01936b2a-0000-7000-8000-0000000000a1")
	manager  = uuid.MustParse("01936b2a-0000-7000-8000-0000000000a2")
	member   = uuid.MustParse("01936b2a-0000-7000-8000-0000000000a3")
	stranger = uuid.MustParse("01936b2a-0000-7000-8000-0000000000b9")
	operator = uuid.MustParse("01936b2a-0000-7000-8000-0000000000c1")
	lockA    = uuid.MustParse("01936b2a-0000-7000-8000-00000000d001")
	req1     = uuid.MustParse("01936b2a-0000-7000-8000-00000000e001")
	key1     = uuid.MustParse("01936b2a-0000-7000-8000-00000000e101")
)

func founded() []es.Event {
	return []es.Event{
		organization.Created{OrganizationID: orgID, Name: "Woonstad", CreatedBy: admin, Management: true, CreatedAt: t0},
		organization.MemberAdded{AccountID: admin, Role: organization.RoleAdmin, Via: organization.ViaCreation, AddedBy: admin, AddedAt: t0},
		organization.MemberAdded{AccountID: manager, Role: organization.RoleManager, Via: organization.ViaAdmin, AddedBy: admin, AddedAt: t0},
		organization.MemberAdded{AccountID: member, Role: organization.RoleMember, Via: organization.ViaAdmin, AddedBy: admin, AddedAt: t0},
	}
}

func with(extra ...es.Event) []es.Event { return append(founded(), extra...) }

type gwt struct {
	name    string
	given   []es.Event
	when    func(*organization.Organization) error
	then    []es.Event
	wantErr string
}

func run(t *testing.T, cases []gwt) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := organization.Rehydrate(c.given)
			err := c.when(o)
			if c.wantErr != "" {
				require.Equal(t, c.wantErr, domain.ErrorCode(err), "error %v", err)
				require.Empty(t, o.Changes(), "a refusal records nothing")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.then, o.Changes())
		})
	}
}

func TestCreate(t *testing.T) {
	t.Parallel()
	o := organization.New()
	require.NoError(t, o.Create(orgID, " Woonstad ", admin, true, t0))
	require.Equal(t, founded()[:2], o.Changes(), "O1, O4: the founder is its first admin; O6 recorded")
	require.Error(t, organization.New().Create(orgID, "", admin, true, t0))
	require.Equal(t, domain.EConflict, domain.ErrorCode(o.Create(orgID, "Again", admin, true, t0)))
}

func TestDomainsAndSettings(t *testing.T) {
	t.Parallel()
	run(t, []gwt{
		{"O1 the operator sets the email domains, normalized and sorted", founded(),
			func(o *organization.Organization) error {
				return o.SetDomains(operator, []string{"@Woonstad.NL", "huur.example.org", "woonstad.nl"}, t0)
			},
			[]es.Event{organization.DomainsSet{Domains: []string{"huur.example.org", "woonstad.nl"}, SetBy: operator, SetAt: t0}}, ""},
		{"O1 a bad domain is refused", founded(), func(o *organization.Organization) error { return o.SetDomains(operator, []string{"not a domain"}, t0) }, nil, domain.EInvalid},
		{"O1 the admin allows self-registration", founded(), func(o *organization.Organization) error { return o.SetSelfRegistration(admin, true, t0) },
			[]es.Event{organization.SelfRegistrationSet{Allowed: true, SetBy: admin, SetAt: t0}}, ""},
		{"O1 a manager cannot change settings", founded(), func(o *organization.Organization) error { return o.SetSelfRegistration(manager, true, t0) }, nil, domain.EForbidden},
		{"E2 a stranger does not see the organization", founded(), func(o *organization.Organization) error { return o.SetSelfRegistration(stranger, true, t0) }, nil, domain.ENotFound},
		{"the operator marks a reseller", founded(), func(o *organization.Organization) error { return o.SetReseller(operator, true, t0) },
			[]es.Event{organization.ResellerSet{Reseller: true, SetBy: operator, SetAt: t0}}, ""},
		{"A7 the admin sets trusted networks", founded(), func(o *organization.Organization) error {
			return o.SetTrustedNetworks(admin, []string{"192.0.2.17/24", "2001:db8::/48"}, t0)
		}, []es.Event{organization.TrustedNetworksSet{CIDRs: []string{"192.0.2.0/24", "2001:db8::/48"}, SetBy: admin, SetAt: t0}}, ""},
		{"A7 a network too wide to trust", founded(), func(o *organization.Organization) error {
			return o.SetTrustedNetworks(admin, []string{"0.0.0.0/0"}, t0)
		}, nil, domain.EInvalid},
		{"A7 a manager cannot set trusted networks", founded(), func(o *organization.Organization) error {
			return o.SetTrustedNetworks(manager, []string{"192.0.2.0/24"}, t0)
		}, nil, domain.EForbidden},
	})
	o := organization.Rehydrate(with(organization.TrustedNetworksSet{CIDRs: []string{"192.0.2.0/24"}}))
	require.True(t, o.Trusts(netip.MustParseAddr("192.0.2.99")), "A7")
	require.True(t, o.Trusts(netip.MustParseAddr("::ffff:192.0.2.99")), "A7 an IPv4-mapped address")
	require.False(t, o.Trusts(netip.MustParseAddr("198.51.100.1")))
}

func TestMembers(t *testing.T) {
	t.Parallel()
	run(t, []gwt{
		{"O4 an admin adds a member with a role", founded(), func(o *organization.Organization) error {
			return o.AddMember(admin, stranger, organization.RoleManager, t0)
		},
			[]es.Event{organization.MemberAdded{AccountID: stranger, Role: organization.RoleManager, Via: organization.ViaAdmin, AddedBy: admin, AddedAt: t0}}, ""},
		{"O4 a manager cannot add members", founded(), func(o *organization.Organization) error {
			return o.AddMember(manager, stranger, organization.RoleMember, t0)
		}, nil, domain.EForbidden},
		{"O4 a member cannot act as a manager", founded(), func(o *organization.Organization) error {
			return o.AddMember(member, stranger, organization.RoleMember, t0)
		}, nil, domain.EForbidden},
		{"O4 an admin changes a role", founded(), func(o *organization.Organization) error {
			return o.ChangeRole(admin, member, organization.RoleManager, t0)
		},
			[]es.Event{organization.MemberRoleChanged{AccountID: member, Role: organization.RoleManager, ChangedBy: admin, ChangedAt: t0}}, ""},
		{"O4 the last admin stays one", founded(), func(o *organization.Organization) error {
			return o.ChangeRole(admin, admin, organization.RoleMember, t0)
		}, nil, domain.EConflict},
		{"O4 an admin removes a member", founded(), func(o *organization.Organization) error { return o.RemoveMember(admin, member, t0) },
			[]es.Event{organization.MemberRemoved{AccountID: member, RemovedBy: admin, RemovedAt: t0}}, ""},
		{"a member may leave", founded(), func(o *organization.Organization) error { return o.RemoveMember(member, member, t0) },
			[]es.Event{organization.MemberRemoved{AccountID: member, RemovedBy: member, RemovedAt: t0}}, ""},
		{"a member cannot remove another", founded(), func(o *organization.Organization) error { return o.RemoveMember(member, manager, t0) }, nil, domain.EForbidden},
		{"an unknown role is refused", founded(), func(o *organization.Organization) error { return o.AddMember(admin, stranger, "owner", t0) }, nil, domain.EInvalid},
	})
}

func TestInvitations(t *testing.T) {
	t.Parallel()
	inv := uuid.MustParse("01936b2a-0000-7000-8000-00000000e201")
	invited := organization.Invited{InvitationID: inv, Email: "nina@example.org", Role: organization.RoleMember, TokenDigest: "tok", ExpiresAt: t0.Add(72 * time.Hour), InvitedBy: admin, InvitedAt: t0}
	run(t, []gwt{
		{"O2 an admin invites by email", founded(), func(o *organization.Organization) error {
			return o.Invite(admin, inv, "nina@example.org", organization.RoleMember, "tok", t0.Add(72*time.Hour), t0)
		}, []es.Event{invited}, ""},
		{"O2 a manager cannot invite", founded(), func(o *organization.Organization) error {
			return o.Invite(manager, inv, "nina@example.org", organization.RoleMember, "tok", t0.Add(time.Hour), t0)
		}, nil, domain.EForbidden},
		{"O2 the link completes registration and joins", with(invited), func(o *organization.Organization) error { return o.AcceptInvitation("tok", stranger, t0) },
			[]es.Event{organization.InvitationAccepted{InvitationID: inv, AccountID: stranger, AcceptedAt: t0},
				organization.MemberAdded{AccountID: stranger, Role: organization.RoleMember, Via: organization.ViaInvitation, AddedBy: stranger, AddedAt: t0}}, ""},
		{"O2 an invitation is used once", with(invited, organization.InvitationAccepted{InvitationID: inv, AccountID: stranger, AcceptedAt: t0}),
			func(o *organization.Organization) error { return o.AcceptInvitation("tok", uuid.New(), t0) }, nil, domain.ENotFound},
		{"O2 an invitation expires", with(invited), func(o *organization.Organization) error {
			return o.AcceptInvitation("tok", stranger, t0.Add(73*time.Hour))
		}, nil, domain.ENotFound},
		{"O2 a wrong token", with(invited), func(o *organization.Organization) error { return o.AcceptInvitation("other", stranger, t0) }, nil, domain.ENotFound},
	})
}

func TestSelfRegistration(t *testing.T) {
	t.Parallel()
	open := with(organization.DomainsSet{Domains: []string{"woonstad.nl"}}, organization.SelfRegistrationSet{Allowed: true})
	run(t, []gwt{
		{"O3 an email of an allowed domain joins as a member", open, func(o *organization.Organization) error { return o.JoinByDomain(stranger, "ed@Woonstad.nl", t0) },
			[]es.Event{organization.MemberAdded{AccountID: stranger, Role: organization.RoleMember, Via: organization.ViaSelfRegistration, AddedBy: stranger, AddedAt: t0}}, ""},
		{"O3 another domain does not", open, func(o *organization.Organization) error { return o.JoinByDomain(stranger, "ed@elders.nl", t0) }, nil, domain.EForbidden},
		{"O3 not without self-registration allowed", with(organization.DomainsSet{Domains: []string{"woonstad.nl"}}),
			func(o *organization.Organization) error { return o.JoinByDomain(stranger, "ed@woonstad.nl", t0) }, nil, domain.EForbidden},
	})
}

func TestAccessRequests(t *testing.T) {
	t.Parallel()
	asked := organization.AccessRequested{RequestID: req1, LockID: lockA, AccountID: member, RequestedAt: t0}
	run(t, []gwt{
		{"O5 the admin chooses organization-wide access", founded(), func(o *organization.Organization) error {
			return o.SetLockAccessMode(admin, lockA, organization.AccessOrganizationWide, t0)
		}, []es.Event{organization.LockAccessModeSet{LockID: lockA, Mode: organization.AccessOrganizationWide, SetBy: admin, SetAt: t0}}, ""},
		{"O5 a manager cannot choose the mode", founded(), func(o *organization.Organization) error {
			return o.SetLockAccessMode(manager, lockA, organization.AccessOrganizationWide, t0)
		}, nil, domain.EForbidden},
		{"O5 a member asks for access", founded(), func(o *organization.Organization) error { return o.RequestAccess(member, req1, lockA, t0) }, []es.Event{asked}, ""},
		{"O5 no asking where access is organization-wide", with(organization.LockAccessModeSet{LockID: lockA, Mode: organization.AccessOrganizationWide}),
			func(o *organization.Organization) error { return o.RequestAccess(member, req1, lockA, t0) }, nil, domain.EConflict},
		{"O5 a stranger cannot ask", founded(), func(o *organization.Organization) error { return o.RequestAccess(stranger, req1, lockA, t0) }, nil, domain.ENotFound},
		{"O5 a manager approves", with(asked), func(o *organization.Organization) error { return o.ApproveRequest(manager, req1, key1, t0) },
			[]es.Event{organization.AccessRequestApproved{RequestID: req1, KeyID: key1, DecidedBy: manager, DecidedAt: t0}}, ""},
		{"O5 a member acting as a manager cannot approve", with(asked), func(o *organization.Organization) error { return o.ApproveRequest(member, req1, key1, t0) }, nil, domain.EForbidden},
		{"O5 a manager denies", with(asked), func(o *organization.Organization) error { return o.DenyRequest(manager, req1, t0) },
			[]es.Event{organization.AccessRequestDenied{RequestID: req1, DecidedBy: manager, DecidedAt: t0}}, ""},
		{"O5 a request is decided once", with(asked, organization.AccessRequestDenied{RequestID: req1}), func(o *organization.Organization) error { return o.ApproveRequest(manager, req1, key1, t0) }, nil, domain.EConflict},
	})
}

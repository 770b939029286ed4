package platform_test

import (
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/cmd/internal/platform"
)

// TestSharedKeyManagement walks issue 4's shared key management as its users
// would (L11, L12, O1–O6): an owner with paid management and the shared option
// gives a key to an organization that has organization management; its manager
// issues keys within the quota; a member acting as a manager, a manager of another
// organization, and an organization without organization management are refused;
// a member asks for access and a manager approves; revoking the organization's key
// revokes what it issued.
func TestSharedKeyManagement(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	code := func(product string) string {
		r := expect(t, op.do("POST", "/v1/codes", map[string]any{"product": product, "count": 1}), 201)
		return r.Body["codes"].([]any)[0].(string)
	}

	owner := newClient(t, m.URL())
	owner.signUp("olaf")
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "SH-1", "name": "Entrance", "time_zone": "UTC"}), 201)
	lockID := lock.str("id")

	admin := newClient(t, m.URL())
	admin.signUp("astrid")
	noMgmt := admin.do("POST", "/v1/organizations", map[string]string{"name": "Woonstad"})
	require.Equal(t, "forbidden", noMgmt.code(), "O6 founding needs organization management")
	expect(t, admin.do("POST", "/v1/me/redemptions", map[string]string{"code": code("organization-management")}), 200)
	org := expect(t, admin.do("POST", "/v1/organizations", map[string]string{"name": "Woonstad"}), 201)
	orgID := org.str("id")
	require.Equal(t, true, org.Body["organization_management"])
	require.Equal(t, "admin", org.str("role"), "O4 the founder is admin")

	// An organization without organization management: founded by the operator.
	plainAdmin := newClient(t, m.URL())
	plainAdminID := plainAdmin.signUp("pieter")
	plain := expect(t, op.do("POST", "/v1/organizations", map[string]any{"name": "Plain BV", "admin_account_id": plainAdminID}), 201)
	require.Equal(t, false, plain.Body["organization_management"])

	manager := newClient(t, m.URL())
	managerID := manager.signUp("mila")
	member := newClient(t, m.URL())
	memberID := member.signUp("mees")
	expect(t, admin.do("POST", "/v1/organizations/"+orgID+"/members", map[string]string{"account_id": managerID, "role": "manager"}), 200)
	expect(t, admin.do("POST", "/v1/organizations/"+orgID+"/members", map[string]string{"account_id": memberID, "role": "member"}), 200)
	require.Equal(t, "forbidden", manager.do("POST", "/v1/organizations/"+orgID+"/members", map[string]string{"account_id": memberID, "role": "admin"}).code(), "O4 a manager does not run members")
	members := expect(t, member.do("GET", "/v1/organizations/"+orgID+"/members", nil), 200)
	require.Len(t, members.Body["items"], 3)

	// L11: the key to an organization needs the shared-management option and paid management.
	grant := map[string]any{"organization_id": orgID, "quota": 2}
	require.Equal(t, "option_unavailable", owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", grant).code(), "L11 not in the trial")
	require.Equal(t, "option_unavailable", owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": code("shared-management-5y")}).code(), "L11 the option needs paid management")
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": code("management-5y")}), 200)
	require.Equal(t, "option_unavailable", owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", grant).code(), "L11 not without the option")
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": code("shared-management-5y")}), 200)
	require.Equal(t, "forbidden", owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", map[string]any{"organization_id": plain.str("id")}).code(),
		"L12 an owner's key given to an organization without organization management is refused")
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", grant), 200)
	keys := expect(t, owner.do("GET", "/v1/locks/"+lockID+"/organization-keys", nil), 200)
	require.Len(t, keys.Body["items"], 1)

	// The manager issues keys on the lock through the same endpoints (L12).
	seen := expect(t, manager.do("GET", "/v1/locks/"+lockID, nil), 200)
	require.Equal(t, lockID, seen.str("id"), "a manager sees the shared lock")
	k1 := expect(t, manager.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "tag", "holder_name": "Caretaker", "credential": "0A0B0C0D"}), 201)
	require.Equal(t, orgID, k1.str("organization_id"), "L12 the owner sees who issued each key")
	expect(t, manager.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "Cleaner"}), 201)
	over := manager.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "Third"})
	require.Equal(t, "key_limit_reached", over.code(), "L12 within the organization's quota")
	ownerKey := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "remote", "holder_name": "Olaf", "credential": "RM-99887766"}), 201)
	require.Equal(t, 404, manager.do("DELETE", "/v1/locks/"+lockID+"/keys/"+ownerKey.str("id"), nil).Status, "L10 an organization revokes only its own keys")
	mine := expect(t, manager.do("GET", "/v1/locks/"+lockID+"/keys", nil), 200)
	require.Len(t, mine.Body["items"], 2, "a manager sees the keys its organization issued")
	all := expect(t, owner.do("GET", "/v1/locks/"+lockID+"/keys", nil), 200)
	require.Len(t, all.Body["items"], 3, "the owner sees every key")

	// Refusals (O4, E2).
	require.Equal(t, "forbidden", member.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "x", "organization_id": orgID}).code(),
		"a member acting as a manager is refused")
	require.Equal(t, 404, member.do("GET", "/v1/locks/"+lockID, nil).Status, "a member does not manage the lock")
	other := newClient(t, m.URL())
	other.signUp("otto")
	expect(t, other.do("POST", "/v1/me/redemptions", map[string]string{"code": code("organization-management")}), 200)
	otherOrg := expect(t, other.do("POST", "/v1/organizations", map[string]string{"name": "Andere BV"}), 201)
	require.Equal(t, 404, other.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "x", "organization_id": otherOrg.str("id")}).Status,
		"a manager of another organization does not see the lock")
	require.Equal(t, 404, other.do("GET", "/v1/organizations/"+orgID, nil).Status, "E2 nor the organization")
	// Even with a key of its own to the same lock, another organization's manager
	// sees and revokes only what its organization issued.
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", map[string]any{"organization_id": otherOrg.str("id"), "quota": 1}), 200)
	require.Equal(t, 404, other.do("DELETE", "/v1/locks/"+lockID+"/keys/"+k1.str("id"), nil).Status,
		"L10 a manager of another organization does not revoke this organization's key")
	require.Equal(t, 404, other.do("PATCH", "/v1/locks/"+lockID+"/keys/"+k1.str("id"), map[string]any{"holder_name": "Taken"}).Status,
		"nor changes it")
	theirs := expect(t, other.do("GET", "/v1/locks/"+lockID+"/keys", nil), 200)
	require.Empty(t, theirs.Body["items"], "nor sees it")
	expect(t, owner.do("DELETE", "/v1/locks/"+lockID+"/organization-keys/"+otherOrg.str("id"), nil), 204)
	issuers := map[string]string{}
	for _, it := range expect(t, owner.do("GET", "/v1/locks/"+lockID+"/keys", nil), 200).Body["items"].([]any) {
		k := it.(map[string]any)
		org, _ := k["organization_id"].(string)
		issuers[k["id"].(string)] = org
	}
	require.Equal(t, orgID, issuers[k1.str("id")], "L12 the owner's key list names the organization that issued a key")
	require.Equal(t, "", issuers[ownerKey.str("id")], "and names none for the owner's own")

	// O5: on request, a member asks and a manager approves, which issues a phone key.
	shared := expect(t, member.do("GET", "/v1/organizations/"+orgID+"/locks", nil), 200)
	require.Equal(t, "on_request", shared.Body["items"].([]any)[0].(map[string]any)["access_mode"])
	require.Equal(t, "forbidden", manager.do("PUT", "/v1/organizations/"+orgID+"/locks/"+lockID+"/access", map[string]string{"mode": "organization_wide"}).code(), "O5 the admin chooses")
	expect(t, owner.do("PATCH", "/v1/locks/"+lockID+"/organization-keys", nil), 405)
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", map[string]any{"organization_id": orgID, "quota": 10}), 200)
	asked := expect(t, member.do("POST", "/v1/organizations/"+orgID+"/locks/"+lockID+"/access-requests", nil), 201)
	require.Equal(t, "forbidden", member.do("POST", "/v1/organizations/"+orgID+"/access-requests/"+asked.str("id")+"/approval", nil).code(), "O5 a member does not approve")
	approved := expect(t, manager.do("POST", "/v1/organizations/"+orgID+"/access-requests/"+asked.str("id")+"/approval", nil), 200)
	require.NotEmpty(t, approved.str("key_id"))
	phones := expect(t, member.do("GET", "/v1/me/keys", nil), 200)
	require.Len(t, phones.Body["items"], 1, "O5 the approved member holds a phone key")

	// O5 organization-wide: every member, and members who join later, get a key.
	expect(t, admin.do("PUT", "/v1/organizations/"+orgID+"/locks/"+lockID+"/access", map[string]string{"mode": "organization_wide"}), 200)
	late := newClient(t, m.URL())
	lateID := late.signUp("lotta")
	expect(t, admin.do("POST", "/v1/organizations/"+orgID+"/members", map[string]string{"account_id": lateID, "role": "member"}), 200)
	eventually(t, func() bool {
		r := late.do("GET", "/v1/me/keys", nil)
		return r.Status == 200 && len(r.Body["items"].([]any)) == 1
	}, "O5 a member who joins an organization-wide lock gets a key")

	// L12: taking the organization's key back revokes every key it issued.
	expect(t, owner.do("DELETE", "/v1/locks/"+lockID+"/organization-keys/"+orgID, nil), 204)
	active := expect(t, owner.do("GET", "/v1/locks/"+lockID+"/keys?status=active", nil), 200)
	require.Len(t, active.Body["items"], 1, "only the owner's own key is left")
	require.Equal(t, 404, manager.do("GET", "/v1/locks/"+lockID, nil).Status, "the organization no longer sees the lock")

	// O4: only admins change or remove members; a removed member reads nothing more.
	require.Equal(t, "forbidden", manager.do("PATCH", "/v1/organizations/"+orgID+"/members/"+memberID, map[string]string{"role": "manager"}).code(), "O4 a manager does not change roles")
	require.Equal(t, "forbidden", member.do("DELETE", "/v1/organizations/"+orgID+"/members/"+managerID, nil).code(), "O4 a member does not remove members")
	expect(t, admin.do("PATCH", "/v1/organizations/"+orgID+"/members/"+managerID, map[string]string{"role": "member"}), 200)
	require.Equal(t, "forbidden", manager.do("POST", "/v1/organizations/"+orgID+"/invitations", map[string]string{"email": "x@example.org"}).code(), "O4 a manager made member does not invite")
	expect(t, admin.do("DELETE", "/v1/organizations/"+orgID+"/members/"+memberID, nil), 204)
	require.Equal(t, 404, member.do("GET", "/v1/organizations/"+orgID, nil).Status, "a removed member no longer reads the organization")
	require.Equal(t, 404, member.do("GET", "/v1/organizations/"+orgID+"/members", nil).Status, "nor its members")
}

// TestOrganizationMembershipPaths covers O1–O3: domains set by the operator,
// self-registration by domain with a choice when several organizations share it,
// and invitations by email that register and join.
func TestOrganizationMembershipPaths(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	found := func(name string) (string, *client) {
		c := newClient(t, m.URL())
		id := c.signUp("admin" + name)
		r := expect(t, op.do("POST", "/v1/organizations", map[string]any{"name": name, "admin_account_id": id}), 201)
		return r.str("id"), c
	}
	a, adminA := found("Alpha")
	b, adminB := found("Beta")
	require.Equal(t, "forbidden", adminA.do("PUT", "/v1/organizations/"+a+"/domains", map[string]any{"domains": []string{"alpha.example"}}).code(), "O1 the operator sets domains")
	expect(t, op.do("PUT", "/v1/organizations/"+a+"/domains", map[string]any{"domains": []string{"alpha.example", "shared.example"}}), 200)
	expect(t, op.do("PUT", "/v1/organizations/"+b+"/domains", map[string]any{"domains": []string{"shared.example"}}), 200)
	expect(t, adminA.do("PATCH", "/v1/organizations/"+a, map[string]any{"self_registration": true}), 200)
	expect(t, adminB.do("PATCH", "/v1/organizations/"+b, map[string]any{"self_registration": true}), 200)

	// O3: a domain whose organization does not take self-registration links nothing,
	// and the account is made all the same (never made and then refused).
	g, adminG := found("Gamma")
	expect(t, op.do("PUT", "/v1/organizations/"+g+"/domains", map[string]any{"domains": []string{"gamma.example"}}), 200)
	closed := expect(t, newClient(t, m.URL()).do("POST", "/v1/accounts", map[string]string{"username": "gerda", "email": "gerda@gamma.example", "password": "correct horse battery"}), 201)
	require.Nil(t, closed.Body["organization_id"], "O3 self-registration off: no link")
	require.Nil(t, closed.Body["choose_organization"])
	require.Len(t, expect(t, adminG.do("GET", "/v1/organizations/"+g+"/members", nil), 200).Body["items"], 1, "only the admin")

	// O1: the operator marks resellers; an admin cannot mark its own organization.
	require.Equal(t, "forbidden", adminB.do("PUT", "/v1/organizations/"+b+"/reseller", map[string]any{"reseller": true}).code(), "O1 only the operator marks resellers")
	expect(t, op.do("PUT", "/v1/organizations/"+b+"/reseller", map[string]any{"reseller": true}), 200)
	require.Equal(t, true, expect(t, adminB.do("GET", "/v1/organizations/"+b, nil), 200).Body["reseller"], "the organization reads as a reseller")
	batch := map[string]any{"product": "keys-10", "count": 2}
	sold := expect(t, adminB.do("POST", "/v1/codes", batch), 201)
	require.Len(t, sold.Body["codes"], 2, "P1 a reseller's admin issues prepaid codes")
	require.Equal(t, "forbidden", adminA.do("POST", "/v1/codes", batch).code(), "P1 an admin of an organization that is no reseller does not")

	solo := newClient(t, m.URL())
	up := expect(t, solo.do("POST", "/v1/accounts", map[string]string{"username": "sanne", "email": "sanne@alpha.example", "password": "correct horse battery"}), 201)
	require.Equal(t, a, up.str("organization_id"), "O3 an allowed domain links the account")
	both := newClient(t, m.URL())
	up = expect(t, both.do("POST", "/v1/accounts", map[string]string{"username": "bram", "email": "bram@shared.example", "password": "correct horse battery"}), 201)
	require.Len(t, up.Body["choose_organization"], 2, "O3 several organizations share the domain: choose")
	both.login("bram", "correct horse battery")
	expect(t, both.do("PUT", "/v1/me/organization", map[string]string{"organization_id": b}), 200)
	expect(t, both.do("PUT", "/v1/me/organization", map[string]string{"organization_id": a}), 200)
	mine := expect(t, both.do("GET", "/v1/organizations", nil), 200)
	require.Len(t, mine.Body["items"], 1, "O3 switching leaves the other")
	require.Equal(t, a, mine.Body["items"].([]any)[0].(map[string]any)["id"])

	// O2: an invitation by email; the link registers and joins.
	expect(t, adminB.do("POST", "/v1/organizations/"+b+"/invitations", map[string]string{"email": "ivo@elsewhere.example", "role": "manager"}), 201)
	var link string
	eventually(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			body, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(raw))))
			if l := regexp.MustCompile(`/v1/organizations/[^\s]+/acceptance`).FindString(string(body)); l != "" {
				link = l
				return true
			}
		}
		return false
	}, "O2 the invitation is mailed")
	guest := newClient(t, m.URL())
	joined := expect(t, guest.do("POST", link, map[string]string{"username": "ivo", "password": "correct horse battery"}), 201)
	require.Equal(t, b, joined.str("organization_id"))
	guest.login("ivo", "correct horse battery")
	org := expect(t, guest.do("GET", "/v1/organizations/"+b, nil), 200)
	require.Equal(t, "manager", org.str("role"), "O2 with the invited role")
	again := newClient(t, m.URL()).do("POST", link, map[string]string{"username": "ivo2", "password": "correct horse battery"})
	require.Equal(t, 404, again.Status, "O2 a link works once: %s", again.Raw)
	require.Equal(t, "forbidden", guest.do("POST", "/v1/organizations/"+b+"/invitations", map[string]string{"email": "y@example.org"}).code(), "O2 a manager does not invite")
	require.Equal(t, "forbidden", guest.do("POST", "/v1/codes", batch).code(), "P1 nor a reseller's manager")
	expect(t, op.do("PUT", "/v1/organizations/"+b+"/reseller", map[string]any{"reseller": false}), 200)
	require.Equal(t, "forbidden", adminB.do("POST", "/v1/codes", batch).code(), "P1 no longer a reseller, no more codes")
}

// invitationLink waits for the newest invitation mail to email in the outbox.
func invitationLink(t *testing.T, dir, email string) string {
	t.Helper()
	var link string
	eventually(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		for _, f := range files {
			raw, _ := os.ReadFile(f)
			body, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(raw))))
			if strings.Contains(string(raw), email) {
				if l := regexp.MustCompile(`/v1/organizations/[^\s]+/acceptance`).FindString(string(body)); l != "" {
					link = l
					return true
				}
			}
		}
		return false
	}, "no invitation mail to "+email)
	return link
}

// exerciseOrganizations runs every organization operation through the OpenAPI
// conformance client (O1–O6, L11, L12): each answer is validated against the
// document, and every documented success must be seen.
func exerciseOrganizations(t *testing.T, m *platform.Main, client func() *client, op *client) {
	t.Helper()
	op.login("operator", "operator-password-1") // the session may have moved past a clock jump
	code := func(product string) string {
		return expect(t, op.do("POST", "/v1/codes", map[string]any{"product": product, "count": 1}), 201).Body["codes"].([]any)[0].(string)
	}
	admin := client()
	admin.signUp("orgadmin")
	expect(t, admin.do("POST", "/v1/me/redemptions", map[string]string{"code": code("organization-management")}), 200)
	org := expect(t, admin.do("POST", "/v1/organizations", map[string]string{"name": "Conform"}), 201).str("id")
	base := "/v1/organizations/" + org
	expect(t, admin.do("GET", "/v1/organizations", nil), 200)
	expect(t, admin.do("GET", base, nil), 200)
	expect(t, admin.do("PATCH", base, map[string]any{"name": "Conform BV", "self_registration": true}), 200)
	expect(t, op.do("PUT", base+"/domains", map[string]any{"domains": []string{"conform.example"}}), 200)
	expect(t, op.do("PUT", base+"/reseller", map[string]any{"reseller": false}), 200)
	expect(t, admin.do("PUT", base+"/trusted-networks", map[string]any{"cidrs": []string{"198.51.100.0/24"}}), 200)

	mgr := client()
	mgrID := mgr.signUp("orgmanager")
	mem := client()
	mem.signUp("orgmember")
	expect(t, mem.do("PUT", "/v1/me/organization", map[string]string{"organization_id": org}), 403)
	joiner := client()
	expect(t, joiner.do("POST", "/v1/accounts", map[string]string{"username": "joiner", "email": "joiner@conform.example", "password": "correct horse battery"}), 201)
	joiner.login("joiner", "correct horse battery")
	expect(t, joiner.do("PUT", "/v1/me/organization", map[string]string{"organization_id": org}), 200)
	expect(t, admin.do("POST", base+"/members", map[string]string{"account_id": mgrID, "role": "member"}), 200)
	expect(t, admin.do("PATCH", base+"/members/"+mgrID, map[string]string{"role": "manager"}), 200)
	expect(t, admin.do("GET", base+"/members", nil), 200)

	expect(t, admin.do("POST", base+"/invitations", map[string]string{"email": "newbie@elsewhere.example"}), 201)
	expect(t, client().do("POST", invitationLink(t, m.DataDir, "newbie@elsewhere.example"), map[string]string{"username": "newbie", "password": "correct horse battery"}), 201)
	expect(t, admin.do("POST", base+"/invitations", map[string]string{"email": "orgmember@example.org"}), 201)
	expect(t, mem.do("POST", invitationLink(t, m.DataDir, "orgmember@example.org"), nil), 200)

	owner := client()
	owner.signUp("orgowner")
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "CF-1", "name": "Gate", "time_zone": "UTC"}), 201).str("id")
	for _, p := range []string{"management-5y", "shared-management-5y"} {
		expect(t, owner.do("POST", "/v1/locks/"+lock+"/redemptions", map[string]string{"code": code(p)}), 200)
	}
	expect(t, owner.do("POST", "/v1/locks/"+lock+"/organization-keys", map[string]any{"organization_id": org, "quota": 5}), 200)
	expect(t, owner.do("GET", "/v1/locks/"+lock+"/organization-keys", nil), 200)
	expect(t, mem.do("GET", base+"/locks", nil), 200)
	expect(t, mgr.do("POST", "/v1/locks/"+lock+"/keys", map[string]any{"type": "tag", "holder_name": "Janitor", "credential": "CF00AA11", "organization_id": org}), 201)
	r1 := expect(t, mem.do("POST", base+"/locks/"+lock+"/access-requests", nil), 201).str("id")
	expect(t, mgr.do("GET", base+"/access-requests", nil), 200)
	expect(t, mgr.do("POST", base+"/access-requests/"+r1+"/denial", nil), 200)
	r2 := expect(t, mem.do("POST", base+"/locks/"+lock+"/access-requests", nil), 201).str("id")
	expect(t, mgr.do("POST", base+"/access-requests/"+r2+"/approval", nil), 200)
	expect(t, admin.do("PUT", base+"/locks/"+lock+"/access", map[string]string{"mode": "organization_wide"}), 200)
	expect(t, admin.do("PUT", base+"/auditors/"+mgrID, nil), 204)
	expect(t, mgr.do("GET", "/v1/audit/events?stream=lock-"+lock, nil), 200)
	expect(t, admin.do("DELETE", base+"/auditors/"+mgrID, nil), 204)
	expect(t, op.do("PUT", "/v1/auditors/"+mgrID, nil), 204)
	expect(t, op.do("DELETE", "/v1/auditors/"+mgrID, nil), 204)
	// W1: the organization's webhook, run by its admin.
	hook := expect(t, admin.do("POST", "/v1/webhooks", map[string]any{"url": "https://hooks.example.invalid/org", "event_types": []string{"lock.key_issued"}, "organization_id": org}), 201).str("id")
	expect(t, admin.do("GET", "/v1/webhooks?organization_id="+org, nil), 200)
	expect(t, admin.do("GET", "/v1/webhooks/"+hook, nil), 200)
	expect(t, admin.do("GET", "/v1/webhooks/"+hook+"/deliveries", nil), 200)
	expect(t, mgr.do("GET", "/v1/webhooks/"+hook+"/deliveries", nil), 403)
	expect(t, mgr.do("POST", "/v1/webhooks", map[string]any{"url": "https://hooks.example.invalid/org", "event_types": []string{"lock.key_issued"}, "organization_id": org}), 403)
	expect(t, admin.do("DELETE", "/v1/webhooks/"+hook, nil), 204)
	expect(t, owner.do("DELETE", "/v1/locks/"+lock+"/organization-keys/"+org, nil), 204)
	expect(t, admin.do("DELETE", base+"/members/"+mgrID, nil), 204)
}

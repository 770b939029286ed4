package platform_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestOrganizationAuditor covers the auditor for one organization (SPEC Actors,
// H2, H3, E2) over HTTP: who may appoint one, what it reads — the locks its
// organization holds a key to, from the moment it got the key, the
// organization's stream, what the organization and its members changed — and
// the refusals outside the organization, after a dismissal and after the owner
// takes the organization's key back.
func TestOrganizationAuditor(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	code := func(product string) string {
		r := expect(t, op.do("POST", "/v1/codes", map[string]any{"product": product, "count": 1}), 201)
		return r.Body["codes"].([]any)[0].(string)
	}
	newOrg := func(c *client, name string) string {
		expect(t, c.do("POST", "/v1/me/redemptions", map[string]string{"code": code("organization-management")}), 200)
		return expect(t, c.do("POST", "/v1/organizations", map[string]string{"name": name}), 201).str("id")
	}

	owner := newClient(t, m.URL())
	ownerID := owner.signUp("otto")
	sharedLock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "AUD-1", "name": "Hall", "time_zone": "UTC"}), 201).str("id")
	privateLock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "AUD-2", "name": "Shed", "time_zone": "UTC"}), 201).str("id")
	ownKey := expect(t, owner.do("POST", "/v1/locks/"+sharedLock+"/keys", map[string]any{"type": "tag", "holder_name": "Otto", "credential": "0102030405"}), 201)
	beforeSharing := time.Now()

	admin := newClient(t, m.URL())
	admin.signUp("anouk")
	orgID := newOrg(admin, "Woonbron")
	member := newClient(t, m.URL())
	memberID := member.signUp("mirjam")
	expect(t, admin.do("POST", "/v1/organizations/"+orgID+"/members", map[string]string{"account_id": memberID, "role": "member"}), 200)
	otherAdmin := newClient(t, m.URL())
	otherAdmin.signUp("bram")
	otherOrg := newOrg(otherAdmin, "Havensteder")

	auditor := newClient(t, m.URL())
	auditorID := auditor.signUp("accountant")
	appoint := "/v1/organizations/" + orgID + "/auditors/" + auditorID

	// Who may appoint.
	require.Equal(t, "forbidden", member.do("PUT", appoint, nil).code(), "a member does not appoint auditors")
	require.Equal(t, 404, otherAdmin.do("PUT", appoint, nil).Status, "E2 an admin of another organization does not see this one")
	require.Equal(t, "forbidden", admin.do("PUT", "/v1/auditors/"+auditorID, nil).code(), "only the operator appoints platform-wide auditors")
	require.Equal(t, 404, admin.do("PUT", "/v1/organizations/"+orgID+"/auditors/"+uuid.NewString(), nil).Status, "no such account")
	require.Equal(t, 400, admin.do("PUT", appoint, map[string]any{"x": 1}).Status, "no body")
	expect(t, admin.do("PUT", appoint, nil), 204)
	expect(t, admin.do("PUT", appoint, nil), 204) // again: nothing changes
	seen := expect(t, op.do("GET", "/v1/accounts/"+auditorID, nil), 200)
	require.Equal(t, []any{orgID}, seen.Body["audit_organizations"])
	require.Equal(t, []any{}, seen.Body["roles"], "an organization's auditor is no platform-wide auditor")

	// Before the organization holds a key, the lock is not the auditor's to see.
	now := func() string { return time.Now().UTC().Format(time.RFC3339Nano) }
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/locks/"+sharedLock+"/access-as-of?at="+now(), nil).Status)

	// The owner shares the lock's key management (L11, L12); the admin issues a key.
	expect(t, owner.do("POST", "/v1/locks/"+sharedLock+"/redemptions", map[string]string{"code": code("management-5y")}), 200)
	expect(t, owner.do("POST", "/v1/locks/"+sharedLock+"/redemptions", map[string]string{"code": code("shared-management-5y")}), 200)
	expect(t, owner.do("POST", "/v1/locks/"+sharedLock+"/organization-keys", map[string]any{"organization_id": orgID}), 200)
	orgKey := expect(t, admin.do("POST", "/v1/locks/"+sharedLock+"/keys", map[string]any{"type": "code", "holder_name": "Cleaner"}), 201)
	rows := expect(t, admin.do("GET", "/v1/organizations/"+orgID+"/locks", nil), 200).Body["items"].([]any)
	require.Len(t, rows, 1)
	sharedRevision := rows[0].(map[string]any)["shared_revision"].(float64)

	// H3: who could open the shared lock, from the moment the organization got its key.
	_, reasons := asOf(t, auditor, sharedLock, time.Now())
	require.Equal(t, map[string]string{ownKey.str("id"): "allowed", orgKey.str("id"): "allowed"}, reasons,
		"every key on the lock, the owner's too")
	require.Equal(t, "forbidden", auditor.do("GET", "/v1/audit/locks/"+sharedLock+"/access-as-of?at="+beforeSharing.UTC().Format(time.RFC3339Nano), nil).code(),
		"not before the organization got its key")
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/locks/"+privateLock+"/access-as-of?at="+now(), nil).Status, "E2 the owner's other lock")

	// H2: the shared lock's stream from the organization's key on; not the whole log.
	events := auditEvents(t, auditor, "&stream=lock-"+sharedLock)
	require.Equal(t, "lock.organization_key_issued", events[0]["type"])
	require.Equal(t, sharedRevision, events[0]["revision"])
	require.Len(t, events, 2, "the organization's key and the key its admin issued")
	require.Equal(t, "forbidden", auditor.do("GET", "/v1/audit/events", nil).code(), "an organization's auditor does not read the whole log")
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/events?stream=lock-"+privateLock, nil).Status)
	require.NotEmpty(t, auditEvents(t, auditor, "&stream=organization-"+orgID))
	require.NotEmpty(t, auditEvents(t, auditor, "&stream=account-"+memberID), "a member's account")
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/events?stream=organization-"+otherOrg, nil).Status, "E2 another organization")
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/events?stream=account-"+ownerID, nil).Status, "E2 an account outside the organization")

	// H3: what the organization and its members changed; nobody else.
	changes := expect(t, auditor.do("GET", "/v1/audit/actors/organization:"+orgID+"/changes", nil), 200)
	require.NotNil(t, changes.Body["items"])
	expect(t, auditor.do("GET", "/v1/audit/actors/"+memberID+"/changes", nil), 200)
	require.Equal(t, "forbidden", auditor.do("GET", "/v1/audit/actors/"+ownerID+"/changes", nil).code(), "the owner is no member")
	require.Equal(t, "forbidden", auditor.do("GET", "/v1/audit/actors/organization:"+otherOrg+"/changes", nil).code())
	// The auditor's own locks and changes stay its own.
	expect(t, auditor.do("GET", "/v1/audit/actors/"+auditorID+"/changes", nil), 200)

	// Another organization's auditor sees none of it.
	stranger := newClient(t, m.URL())
	strangerID := stranger.signUp("outsider")
	expect(t, otherAdmin.do("PUT", "/v1/organizations/"+otherOrg+"/auditors/"+strangerID, nil), 204)
	require.Equal(t, 404, stranger.do("GET", "/v1/audit/locks/"+sharedLock+"/access-as-of?at="+now(), nil).Status,
		"an organization's auditor is refused outside its organization")
	require.Equal(t, 404, stranger.do("GET", "/v1/audit/events?stream=lock-"+sharedLock, nil).Status)
	require.Equal(t, "forbidden", stranger.do("GET", "/v1/audit/actors/organization:"+orgID+"/changes", nil).code())

	// A dismissal ends the reads at once; so does the owner taking the key back.
	expect(t, admin.do("DELETE", appoint, nil), 204)
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/locks/"+sharedLock+"/access-as-of?at="+now(), nil).Status, "dismissed")
	expect(t, op.do("PUT", appoint, nil), 204) // the operator may appoint too
	expect(t, auditor.do("GET", "/v1/audit/locks/"+sharedLock+"/access-as-of?at="+now(), nil), 200)
	expect(t, owner.do("DELETE", "/v1/locks/"+sharedLock+"/organization-keys/"+orgID, nil), 204)
	require.Equal(t, 404, auditor.do("GET", "/v1/audit/locks/"+sharedLock+"/access-as-of?at="+now(), nil).Status, "the key was taken back")

	// The operator appoints and dismisses platform-wide auditors.
	expect(t, op.do("PUT", "/v1/auditors/"+strangerID, nil), 204)
	expect(t, stranger.do("GET", "/v1/audit/events?limit=1", nil), 200)
	expect(t, op.do("DELETE", "/v1/auditors/"+strangerID, nil), 204)
	require.Equal(t, "forbidden", stranger.do("GET", "/v1/audit/events?limit=1", nil).code())
}

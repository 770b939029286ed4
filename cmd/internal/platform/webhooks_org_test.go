package platform_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOrganizationWebhooks walks W1 for an organization (O4, L12) against a real
// receiver on loopback: its admin registers a webhook for the organization; it
// receives, signed, the keys the organization's manager issues on a shared lock
// and their revocation when the owner takes the organization's key back, and
// nothing of the owner's own keys or the lock's other events (E2). A manager is
// refused, a stranger and the lock's owner do not see the webhook, and only the
// lock's key events may be chosen.
func TestOrganizationWebhooks(t *testing.T) {
	recv := newReceiver(t, nil, nil)
	m := startWebhookPlatform(t, dataDir(t), webhookConfig)
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	code := func(product string) string {
		return expect(t, op.do("POST", "/v1/codes", map[string]any{"product": product, "count": 1}), 201).Body["codes"].([]any)[0].(string)
	}
	owner := newClient(t, m.URL())
	owner.signUp("odile")
	lockID := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "WH-ORG-1", "name": "Hall", "time_zone": "UTC"}), 201).str("id")
	for _, p := range []string{"management-5y", "shared-management-5y"} {
		expect(t, owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": code(p)}), 200)
	}
	admin := newClient(t, m.URL())
	admin.signUp("adriaan")
	expect(t, admin.do("POST", "/v1/me/redemptions", map[string]string{"code": code("organization-management")}), 200)
	orgID := expect(t, admin.do("POST", "/v1/organizations", map[string]string{"name": "Beheer BV"}), 201).str("id")
	manager := newClient(t, m.URL())
	managerID := manager.signUp("marit")
	expect(t, admin.do("POST", "/v1/organizations/"+orgID+"/members", map[string]string{"account_id": managerID, "role": "manager"}), 200)
	stranger := newClient(t, m.URL())
	stranger.signUp("stijn")

	body := map[string]any{"url": recv.url, "event_types": []string{"lock.key_issued", "lock.key_revoked", "lock.organization_key_revoked"}, "organization_id": orgID}
	require.Equal(t, "forbidden", manager.do("POST", "/v1/webhooks", body).code(), "O4 a manager does not run the organization's webhooks")
	require.Equal(t, 404, stranger.do("POST", "/v1/webhooks", body).Status, "E2 a stranger does not see the organization")
	require.Equal(t, "invalid_input", admin.do("POST", "/v1/webhooks", map[string]any{"url": recv.url, "event_types": []string{"lock.frozen"}, "organization_id": orgID}).code(),
		"an organization's webhook hears only of keys")
	created := expect(t, admin.do("POST", "/v1/webhooks", body), 201)
	hookID := created.str("id")
	recv.setSecret(created.str("secret"))
	require.Equal(t, map[string]any{"kind": "organization", "id": orgID}, created.Body["owner"])
	require.Len(t, expect(t, admin.do("GET", "/v1/webhooks?organization_id="+orgID, nil), 200).Body["items"], 1)
	require.Empty(t, expect(t, admin.do("GET", "/v1/webhooks", nil), 200).Body["items"], "the admin's own webhooks are apart")
	expect(t, admin.do("GET", "/v1/webhooks/"+hookID, nil), 200)
	require.Equal(t, "forbidden", manager.do("GET", "/v1/webhooks/"+hookID, nil).code())
	require.Equal(t, 404, owner.do("GET", "/v1/webhooks/"+hookID, nil).Status, "E2 the lock's owner does not see it")
	require.Equal(t, 404, stranger.do("GET", "/v1/webhooks/"+hookID+"/deliveries", nil).Status)
	require.Equal(t, 404, stranger.do("DELETE", "/v1/webhooks/"+hookID, nil).Status)

	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/organization-keys", map[string]any{"organization_id": orgID}), 200)
	theirs := expect(t, manager.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "tag", "holder_name": "Caretaker", "credential": "0AFF0A01"}), 201).str("id")
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "tag", "holder_name": "Odile", "credential": "0AFF0A02"}), 201)
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/freeze", nil), 200)
	expect(t, owner.do("DELETE", "/v1/locks/"+lockID+"/organization-keys/"+orgID, nil), 204)
	// A webhook's deliveries go out one at a time in log order, and taking the key
	// back is the last event: once it has arrived, whatever else was routed to the
	// webhook has arrived before it.
	eventually(t, func() bool {
		for _, h := range recv.delivered() {
			if h.Payload.Type == "lock.organization_key_revoked" {
				return true
			}
		}
		return false
	}, "the organization's key taken back is delivered")
	types := map[string]int{}
	for _, h := range recv.all() {
		require.True(t, h.Verified, "W1 signed: %s", h.Raw)
		require.Equal(t, hookID, h.Webhook)
		require.Equal(t, lockID, h.Payload.LockID)
		types[h.Payload.Type]++
		if h.Payload.Type != "lock.organization_key_revoked" {
			require.Equal(t, theirs, h.Payload.Data["key_id"], "E2 only the organization's own key: %s", h.Raw)
		}
	}
	require.Equal(t, map[string]int{"lock.key_issued": 1, "lock.key_revoked": 1, "lock.organization_key_revoked": 1}, types)
	log := expect(t, admin.do("GET", "/v1/webhooks/"+hookID+"/deliveries", nil), 200)
	require.Len(t, log.Body["items"], 3)
	expect(t, admin.do("DELETE", "/v1/webhooks/"+hookID, nil), 204)
	require.Empty(t, expect(t, admin.do("GET", "/v1/webhooks?organization_id="+orgID, nil), 200).Body["items"])
}

package platform_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewOwnerJourney walks the platform as a new lock owner would (issue 3): sign
// up, register a lock, issue keys up to the allowance, let the trial lapse, be
// refused, redeem a management code and issue again.
func TestNewOwnerJourney(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	owner := newClient(t, m.URL())
	ownerID := owner.signUp("anna")

	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "fx-1001", "name": "Front door", "time_zone": "Europe/Amsterdam"}), 201)
	lockID := lock.str("id")
	require.Equal(t, "FX-1001", lock.str("serial"), "L1 serials are normalized")
	require.Equal(t, ownerID, lock.str("owner_id"))
	require.NotEmpty(t, lock.str("device_token"), "D1 the device token is shown once")
	mgmt := lock.Body["management"].(map[string]any)
	require.Equal(t, "full", mgmt["level"], "L2 a new lock starts in its trial")
	require.Equal(t, "trial", mgmt["state"])
	require.InDelta(t, 90, mgmt["days_left"], 3, "L2 three calendar months")

	again := expect(t, owner.do("GET", "/v1/locks/"+lockID, nil), 200)
	require.Empty(t, again.str("device_token"), "D1 the token is never shown again")
	list := expect(t, owner.do("GET", "/v1/locks", nil), 200)
	require.Len(t, list.Body["items"], 1, "the owner's locks")

	// L8: 25 keys fit, the 26th does not.
	for i := range 25 {
		expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "tag", "holder_name": fmt.Sprint("Holder ", i), "credential": fmt.Sprintf("04A2%04d", i)}), 201)
	}
	full := owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "One too many"})
	require.Equal(t, 409, full.Status)
	require.Equal(t, "key_limit_reached", full.code(), "L8")
	keys := expect(t, owner.do("GET", "/v1/locks/"+lockID+"/keys?status=active", nil), 200)
	require.Len(t, keys.Body["items"], 25)
	first := keys.Body["items"].([]any)[0].(map[string]any)
	require.Equal(t, "…0000", first["credential_hint"], "only a hint of the tag UID is shown")
	require.NotContains(t, string(keys.Raw), "credential_digest", "digests are never served")

	// The trial lapses: keys can be revoked but not issued or changed (L5).
	expect(t, owner.do("POST", "/v1/dev/clock", map[string]string{"advance": "2232h"}), 200) // 93 days
	require.Equal(t, "unauthorized", owner.do("GET", "/v1/locks/"+lockID, nil).code(), "sessions last a day")
	owner.login("anna", "correct horse battery")
	lapsed := expect(t, owner.do("GET", "/v1/locks/"+lockID, nil), 200)
	require.Equal(t, "revoke_only", lapsed.Body["management"].(map[string]any)["level"], "L4")
	refused := owner.do("PATCH", "/v1/locks/"+lockID+"/keys/"+first["id"].(string), map[string]any{"holder_name": "Renamed"})
	require.Equal(t, "management_inactive", refused.code(), "L5 changing keys needs full management")
	require.Contains(t, refused.Body["error"].(map[string]any)["message"], "redeem a management code", "L5 the error says what to do")
	expect(t, owner.do("DELETE", "/v1/locks/"+lockID+"/keys/"+first["id"].(string), nil), 204) // L5 revoking still works
	refused = owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "Cleaner"})
	require.Equal(t, "management_inactive", refused.code(), "L5 issuing needs full management")

	// The operator issues a management code; the owner redeems it (L3, P2).
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	// (the operator was created before the clock jump: logging in now still works)
	codes := expect(t, op.do("POST", "/v1/codes", map[string]any{"product": "management-5y", "count": 2}), 201)
	code := codes.Body["codes"].([]any)[0].(string)
	require.Equal(t, 403, owner.do("POST", "/v1/codes", map[string]any{"product": "management-5y", "count": 1}).Status, "only the operator issues codes")
	redeemed := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": strings.ToLower(strings.ReplaceAll(code, "-", " "))}), 200)
	require.Equal(t, "full", redeemed.Body["management"].(map[string]any)["level"], "L3 five years of management")
	require.Equal(t, "active", redeemed.Body["management"].(map[string]any)["state"])
	used := owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": code})
	require.Equal(t, "code_invalid", used.code(), "P2 a code is redeemed once")

	// L6: the freed key can be issued again, with a generated PIN.
	k := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "code", "holder_name": "Cleaner", "max_uses": 1}), 201)
	pin := k.str("pin")
	require.Len(t, pin, 6, "L9 a generated PIN is returned once")
	got := expect(t, owner.do("GET", "/v1/locks/"+lockID+"/keys/"+k.str("id"), nil), 200)
	require.Empty(t, got.str("pin"), "the PIN is never shown again")

	// D1: the device asks; a one-time code opens once.
	dev := newClient(t, m.URL())
	dev.token = "Device " + lock.str("device_token")
	ok := expect(t, dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "code", "credential": pin}), 200)
	require.Equal(t, true, ok.Body["allowed"], "D1 %s", ok.Raw)
	ok = expect(t, dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "code", "credential": pin}), 200)
	require.Equal(t, false, ok.Body["allowed"], "L9 a one-time code opens once")
	require.Equal(t, "uses_exhausted", ok.Body["reason"])

	// L14: the lock's log shows what happened, newest first.
	events := expect(t, owner.do("GET", "/v1/locks/"+lockID+"/events?limit=3", nil), 200)
	items := events.Body["items"].([]any)
	require.Len(t, items, 3)
	require.Equal(t, "lock.key_used", items[0].(map[string]any)["type"])
	require.NotNil(t, events.Body["next_cursor"])
	require.NotContains(t, string(events.Raw), "credential_digest")
}

// TestStrangersSeeNothing checks E2: a stranger's lock is not found, whatever they try.
func TestStrangersSeeNothing(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	owner := newClient(t, m.URL())
	owner.signUp("bert")
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "FX-2001", "name": "Shed", "time_zone": "UTC"}), 201)
	lockID := lock.str("id")
	key := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/keys", map[string]any{"type": "remote", "holder_name": "Bert", "credential": "RM-00112233"}), 201)

	stranger := newClient(t, m.URL())
	stranger.signUp("carla")
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/locks/" + lockID}, {"PATCH", "/v1/locks/" + lockID}, {"DELETE", "/v1/locks/" + lockID},
		{"GET", "/v1/locks/" + lockID + "/keys"}, {"POST", "/v1/locks/" + lockID + "/keys"},
		{"GET", "/v1/locks/" + lockID + "/keys/" + key.str("id")}, {"DELETE", "/v1/locks/" + lockID + "/keys/" + key.str("id")},
		{"POST", "/v1/locks/" + lockID + "/freeze"}, {"POST", "/v1/locks/" + lockID + "/device-token"},
		{"GET", "/v1/locks/" + lockID + "/events"}, {"POST", "/v1/locks/" + lockID + "/replacement"},
	} {
		var body any
		switch c.method {
		case "PATCH":
			body = map[string]string{"name": "mine"}
		case "POST":
			body = map[string]any{"type": "code", "holder_name": "x", "new_serial": "FX-9"}
			if strings.HasSuffix(c.path, "freeze") || strings.HasSuffix(c.path, "device-token") {
				body = nil
			}
			if strings.HasSuffix(c.path, "keys") {
				body = map[string]any{"type": "code", "holder_name": "x"}
			}
			if strings.HasSuffix(c.path, "replacement") {
				body = map[string]any{"new_serial": "FX-9999"}
			}
		}
		r := stranger.do(c.method, c.path, body)
		require.Equal(t, 404, r.Status, "E2 %s %s by a stranger: %s", c.method, c.path, r.Raw)
	}
	taken := stranger.do("POST", "/v1/locks", map[string]string{"serial": "fx-2001", "name": "Mine", "time_zone": "UTC"})
	require.Equal(t, "conflict", taken.code(), "L1 a registered serial is not registrable by another")
	anon := newClient(t, m.URL())
	require.Equal(t, "unauthorized", anon.do("GET", "/v1/locks", nil).code())
	anon.token = "Bearer not-a-token"
	require.Equal(t, "unauthorized", anon.do("GET", "/v1/locks", nil).code())
	dev := newClient(t, m.URL())
	dev.token = "Device wrong"
	require.Equal(t, "unauthorized", dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "code", "credential": "1234"}).code())
}

// TestBadBodies checks E1: bad input gets a clear 4xx with a code, never a crash.
func TestBadBodies(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	c := newClient(t, m.URL())
	c.signUp("dirk")
	big := `{"serial":"` + strings.Repeat("A", 1<<20) + `"}`
	cases := []struct {
		name, body string
	}{
		{"not JSON", `{"serial":`},
		{"unknown field", `{"serial":"FX-1","name":"x","time_zone":"UTC","colour":"red"}`},
		{"wrong type", `{"serial":42,"name":"x","time_zone":"UTC"}`},
		{"array", `[1,2]`},
		{"two values", `{"serial":"FX-1","name":"x","time_zone":"UTC"}{}`},
		{"empty", ``},
		{"over 1 MiB", big},
		{"bad time zone", `{"serial":"FX-1","name":"x","time_zone":"Mars/Base"}`},
		{"short serial", `{"serial":"F","name":"x","time_zone":"UTC"}`},
	}
	for _, tc := range cases {
		r := c.do("POST", "/v1/locks", tc.body)
		require.Equal(t, 400, r.Status, "%s: %s", tc.name, r.Raw)
		require.Equal(t, "invalid_input", r.code(), tc.name)
		require.NotEmpty(t, r.Body["error"].(map[string]any)["message"], tc.name)
	}
	require.Empty(t, expect(t, c.do("GET", "/v1/locks", nil), 200).Body["items"], "E1 nothing was half-applied")
	require.Equal(t, 404, c.do("GET", "/v1/locks/not-a-uuid", nil).Status)
	require.Equal(t, "invalid_input", c.do("GET", "/v1/locks?limit=0", nil).code())
	require.Equal(t, "invalid_input", c.do("POST", "/v1/accounts", map[string]string{"username": "x", "email": "x@example.org", "password": "correct horse battery"}).code(), "A1 a too-short username")
	require.Equal(t, "conflict", c.do("POST", "/v1/accounts", map[string]string{"username": " DIRK ", "email": "d@example.org", "password": "correct horse battery"}).code(), "A1 usernames match trimmed, case-insensitively")
	require.Equal(t, "unauthorized", c.do("POST", "/v1/sessions", map[string]string{"username": "dirk", "password": "Correct horse battery"}).code(), "A2 passwords are case-sensitive")
}

// TestIdempotencyKey checks that a retried POST with the same Idempotency-Key
// creates nothing new and answers as the first time.
func TestIdempotencyKey(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	c := newClient(t, m.URL())
	c.signUp("erik")
	body := map[string]string{"serial": "FX-3001", "name": "Gate", "time_zone": "UTC"}
	a := expect(t, c.do("POST", "/v1/locks", body, "Idempotency-Key", "reg-1"), 201)
	b := expect(t, c.do("POST", "/v1/locks", body, "Idempotency-Key", "reg-1"), 201)
	require.Equal(t, a.str("id"), b.str("id"))
	require.Equal(t, a.str("device_token"), b.str("device_token"))
	k1 := expect(t, c.do("POST", "/v1/locks/"+a.str("id")+"/keys", map[string]any{"type": "code", "holder_name": "x"}, "Idempotency-Key", "k"), 201)
	k2 := expect(t, c.do("POST", "/v1/locks/"+a.str("id")+"/keys", map[string]any{"type": "code", "holder_name": "x"}, "Idempotency-Key", "k"), 201)
	require.Equal(t, k1.str("id"), k2.str("id"))
	require.Equal(t, k1.str("pin"), k2.str("pin"))
	keys := expect(t, c.do("GET", "/v1/locks/"+a.str("id")+"/keys", nil), 200)
	require.Len(t, keys.Body["items"], 1)
}

// TestIdempotencyKeysAreScoped: the same Idempotency-Key sent by different people
// never shares anything — not a session, not an account — and ids stay UUIDv7 (E3).
func TestIdempotencyKeysAreScoped(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	alice, bob := newClient(t, m.URL()), newClient(t, m.URL())
	body := func(u string) map[string]string {
		return map[string]string{"username": u, "email": u + "@example.org", "password": "correct horse battery"}
	}
	a := expect(t, alice.do("POST", "/v1/accounts", body("alice"), "Idempotency-Key", "same"), 201)
	b := expect(t, bob.do("POST", "/v1/accounts", body("bob"), "Idempotency-Key", "same"), 201)
	require.NotEqual(t, a.str("id"), b.str("id"), "two sign-ups with one key are two accounts")
	again := expect(t, alice.do("POST", "/v1/accounts", body("alice"), "Idempotency-Key", "same"), 201)
	require.Equal(t, a.str("id"), again.str("id"), "a retried sign-up answers as the first")
	require.Equal(t, "conflict", alice.do("POST", "/v1/accounts", body("alice"), "Idempotency-Key", "other").code())

	login := func(c *client, u string) string {
		r := expect(t, c.do("POST", "/v1/sessions", map[string]string{"username": u, "password": "correct horse battery"}, "Idempotency-Key", "login-1"), 201)
		return r.str("token")
	}
	ta, tb := login(alice, "alice"), login(bob, "bob")
	require.NotEqual(t, ta, tb, "two people never share a session token")
	require.NotEqual(t, ta, login(alice, "alice"), "a login is never replayed: a retry starts a new session")

	alice.token = "Bearer " + ta
	lock := expect(t, alice.do("POST", "/v1/locks", map[string]string{"serial": "ID-1", "name": "x", "time_zone": "UTC"}, "Idempotency-Key", "k"), 201)
	require.Equal(t, a.str("id"), lock.str("owner_id"))
	for _, id := range []string{a.str("id"), b.str("id"), lock.str("id")} {
		require.Equal(t, byte('7'), id[14], "E3 ids are UUIDv7: %s", id)
	}
}

// TestLockoutAnswer checks A3's answer: 423 with the time the lock ends.
func TestLockoutAnswer(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	c := newClient(t, m.URL())
	c.signUp("lotte")
	var last response
	for range 4 {
		last = c.do("POST", "/v1/sessions", map[string]string{"username": "lotte", "password": "wrong password!"})
	}
	require.Equal(t, "unauthorized", last.code(), "the 4th failure still says wrong credentials")
	locked := c.do("POST", "/v1/sessions", map[string]string{"username": "lotte", "password": "correct horse battery"})
	require.Equal(t, 423, locked.Status, "A3 even the right password is refused")
	require.Equal(t, "locked_out", locked.code())
	require.NotEmpty(t, locked.Body["error"].(map[string]any)["locked_until"], "A3 with the time the lock ends")
}

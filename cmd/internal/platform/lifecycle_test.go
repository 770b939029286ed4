package platform_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// eventually polls cond until it holds or 20 s pass: for effects that come from a
// background process (the scheduler, a process manager) rather than a request.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLockLifecycle drives the rest of a lock's life over HTTP: freeze (L15), phone
// keys and their holder's view (L9, D1), device reports (D2), replacement (L17),
// removal and registration by someone else (L7).
func TestLockLifecycle(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	owner := newClient(t, m.URL())
	owner.signUp("fenna")
	holder := newClient(t, m.URL())
	holderID := holder.signUp("gijs")

	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "FX-5001", "name": "Office", "time_zone": "Europe/Amsterdam"}), 201)
	id := lock.str("id")
	dev := newClient(t, m.URL())
	dev.token = "Device " + lock.str("device_token")
	renamed := expect(t, owner.do("PATCH", "/v1/locks/"+id, map[string]string{"name": "Main office"}), 200)
	require.Equal(t, "Main office", renamed.str("name"))

	phone := expect(t, owner.do("POST", "/v1/locks/"+id+"/keys", map[string]any{"type": "phone", "holder_name": "Gijs", "account_id": holderID}), 201)
	mine := expect(t, holder.do("GET", "/v1/me/keys", nil), 200)
	items := mine.Body["items"].([]any)
	require.Len(t, items, 1, "L9 the account sees its phone key")
	cred := items[0].(map[string]any)["phone_credential"].(string)
	check := func(c map[string]string) map[string]any {
		return expect(t, dev.do("POST", "/v1/device/access-checks", c), 200).Body
	}
	phoneCheck := map[string]string{"credential_type": "phone", "credential": cred}
	require.Equal(t, true, check(phoneCheck)["allowed"], "D1 the phone opens")
	require.Equal(t, false, check(map[string]string{"credential_type": "phone", "credential": phone.str("id") + ".forged"})["allowed"])

	expect(t, owner.do("POST", "/v1/locks/"+id+"/freeze", nil), 200)
	frozen := check(phoneCheck)
	require.Equal(t, false, frozen["allowed"], "L15 a frozen lock refuses every key")
	require.Equal(t, "lock_frozen", frozen["reason"])
	expect(t, owner.do("POST", "/v1/locks/"+id+"/unfreeze", nil), 200)
	require.Equal(t, true, check(phoneCheck)["allowed"])

	reports := []map[string]any{
		{"id": "r-1", "type": "access_granted", "occurred_at": "2026-01-02T03:04:05Z", "key_id": phone.str("id")},
		{"id": "r-2", "type": "battery", "occurred_at": "2026-01-02T03:05:00Z", "battery_percent": 12},
	}
	expect(t, dev.do("POST", "/v1/device/events", reports), 202)
	expect(t, dev.do("POST", "/v1/device/events", reports), 202) // D2 repeated after being offline
	log := expect(t, owner.do("GET", "/v1/locks/"+id+"/events?type=report.recorded", nil), 200)
	entries := log.Body["items"].([]any)
	require.Len(t, entries, 2, "D2 a repeated report is recorded once")
	require.Equal(t, "2026-01-02T03:05:00Z", entries[0].(map[string]any)["occurred_at"], "D2 the door's time is kept")
	bad := dev.do("POST", "/v1/device/events", []map[string]any{{"id": "r-3", "type": "smoke", "occurred_at": "2026-01-02T03:05:00Z"}})
	require.Equal(t, "invalid_input", bad.code())

	rotated := expect(t, owner.do("POST", "/v1/locks/"+id+"/device-token", nil), 200)
	require.Equal(t, "unauthorized", dev.do("POST", "/v1/device/access-checks", phoneCheck).code(), "D1 the old token stops working")
	dev.token = "Device " + rotated.str("device_token")

	replaced := expect(t, owner.do("POST", "/v1/locks/"+id+"/replacement", map[string]string{"new_serial": "fx-5002"}), 200)
	require.Equal(t, "FX-5002", replaced.str("serial"), "L17")
	require.Equal(t, true, check(phoneCheck)["allowed"], "L17 keys move to the new serial")

	expect(t, owner.do("DELETE", "/v1/locks/"+id, nil), 204)
	require.Equal(t, 404, owner.do("GET", "/v1/locks/"+id, nil).Status, "L7 ownership ends")
	require.Empty(t, expect(t, holder.do("GET", "/v1/me/keys", nil), 200).Body["items"], "L7 every key is revoked")
	old := holder.do("POST", "/v1/locks", map[string]string{"serial": "FX-5001", "name": "Mine", "time_zone": "UTC"})
	require.Equal(t, "conflict", old.code(), "L17 the replaced serial is retired")
	again := expect(t, holder.do("POST", "/v1/locks", map[string]string{"serial": "FX-5002", "name": "Mine", "time_zone": "UTC"}), 201)
	require.Equal(t, id, again.str("id"), "L7 the same lock, registered by someone else")
	require.Equal(t, lock.Body["management"].(map[string]any)["trial_ends_at"], again.Body["management"].(map[string]any)["trial_ends_at"], "L7 no new trial")
	newLog := expect(t, holder.do("GET", "/v1/locks/"+id+"/events", nil), 200)
	require.Len(t, newLog.Body["items"], 1, "E2 the new owner sees only their own tenure")
}

// TestReminderMail advances the clock to 30 days before the trial's end: the
// scheduler records the reminder and the owner gets a mail in the outbox (L16).
func TestReminderMail(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	owner := newClient(t, m.URL())
	owner.signUp("hanna")
	lock := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "FX-6001", "name": "Barn", "time_zone": "UTC"}), 201)
	days := int(lock.Body["management"].(map[string]any)["days_left"].(float64))
	expect(t, owner.do("POST", "/v1/dev/clock", map[string]string{"advance": (time.Duration(days-29) * 24 * time.Hour).String()}), 200)
	outbox := filepath.Join(dir, "outbox")
	var body string
	eventually(t, func() bool {
		files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
		if len(files) == 0 {
			return false
		}
		raw, err := os.ReadFile(files[0])
		body = string(raw)
		return err == nil
	}, "L16 no reminder mail in the outbox")
	require.Contains(t, body, "To: <hanna@example.org>")
	require.Contains(t, body, "ends in 30 days")
	require.True(t, strings.Contains(body, "FX-6001"), "the mail names the lock")
}

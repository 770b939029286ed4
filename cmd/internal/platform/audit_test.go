package platform_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/cmd/internal/platform"
	"sleutel/domain/es"
	"sleutel/infra/readstore"
)

// newAuditor signs up an account, has the operator appoint it platform-wide
// auditor (PUT /v1/auditors/{id}) and returns it logged in.
func newAuditor(t *testing.T, m *platform.Main, username string) *client {
	t.Helper()
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	c := newClient(t, m.URL())
	id := c.signUp(username)
	expect(t, op.do("PUT", "/v1/auditors/"+id, nil), 204)
	return c
}

// auditEvents reads a whole filtered history through the API, page by page.
func auditEvents(t *testing.T, c *client, query string) []map[string]any {
	t.Helper()
	var out []map[string]any
	from := ""
	for range 1000 {
		r := expect(t, c.do("GET", "/v1/audit/events?limit=500"+query+from, nil), 200)
		for _, it := range r.Body["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		next, _ := r.Body["next_cursor"].(string)
		if next == "" {
			return out
		}
		from = "&from_position=" + next
	}
	t.Fatal("no end of the history")
	return nil
}

func payloadTime(t *testing.T, e map[string]any, field string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, e["data"].(map[string]any)[field].(string))
	require.NoError(t, err)
	return v
}

// asOf asks who could open the lock at at, and returns each key's reason by key id.
func asOf(t *testing.T, c *client, lockID string, at time.Time) (map[string]any, map[string]string) {
	t.Helper()
	r := expect(t, c.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of?limit=500&at="+at.UTC().Format(time.RFC3339Nano), nil), 200)
	reasons := map[string]string{}
	for _, it := range r.Body["items"].([]any) {
		k := it.(map[string]any)
		reasons[k["id"].(string)] = k["reason"].(string)
		require.Equal(t, k["reason"] == "allowed", k["could_open"])
	}
	return r.Body["lock"].(map[string]any), reasons
}

// TestAuditJourney covers SPEC H1–H3 and E2 over HTTP against a real platform: the
// history in order with its envelopes, paged and filtered, with password hashes
// redacted; who could open a lock at moments across a schedule boundary, a
// freeze, a revocation, a removal and a re-registration, answered from the lock's
// stream; what an actor changed; the refusals of a non-auditor and of an owner
// asking about a lock or a time that is not theirs; and the read models rebuilt
// from position zero, identical to the live ones (H2).
func TestAuditJourney(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	auditor := newAuditor(t, m, "audrey")
	anna := newClient(t, m.URL())
	annaID := anna.signUp("anna")
	bert := newClient(t, m.URL())
	bertID := bert.signUp("bert")
	carl := newClient(t, m.URL())
	carl.signUp("carl")
	advance := func(d string) {
		expect(t, anna.do("POST", "/v1/dev/clock", map[string]string{"advance": d}), 200)
	}

	reg := expect(t, anna.do("POST", "/v1/locks", map[string]string{"serial": "AU-1001", "name": "Front door", "time_zone": "Europe/Amsterdam"}), 201)
	lockID := reg.str("id")
	keys := "/v1/locks/" + lockID + "/keys"
	cleaner := expect(t, anna.do("POST", keys, map[string]any{"type": "code", "holder_name": "Cleaner", "credential": "482913"}), 201)
	issued, err := time.Parse(time.RFC3339Nano, cleaner.str("issued_at"))
	require.NoError(t, err)
	// A tag allowed every day until a full hour in Amsterdam at least two hours on.
	ams, err := time.LoadLocation("Europe/Amsterdam")
	require.NoError(t, err)
	boundary := issued.Add(2 * time.Hour).In(ams).Truncate(time.Hour).Add(time.Hour)
	if boundary.Hour() == 0 {
		boundary = boundary.Add(time.Hour)
	}
	tag := expect(t, anna.do("POST", keys, map[string]any{"type": "tag", "holder_name": "Gardener", "credential": "04AA0001",
		"schedule": []map[string]any{{"days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "from": "00:00",
			"until": fmt.Sprintf("%02d:00", boundary.Hour())}}}), 201)
	advance("5h") // past the boundary, at most four hours after the issue
	expect(t, anna.do("POST", "/v1/locks/"+lockID+"/freeze", nil), 200)
	advance("1h")
	expect(t, anna.do("POST", "/v1/locks/"+lockID+"/unfreeze", nil), 200)
	advance("1h")
	expect(t, anna.do("DELETE", keys+"/"+cleaner.str("id"), nil), 204)
	advance("1h")
	expect(t, anna.do("DELETE", "/v1/locks/"+lockID, nil), 204)
	advance("1h")
	again := expect(t, bert.do("POST", "/v1/locks", map[string]string{"serial": "AU-1001", "name": "Bert's door", "time_zone": "Europe/Amsterdam"}), 201)
	require.Equal(t, lockID, again.str("id"), "L7 the serial's lock, registered again")
	bertsTag := expect(t, bert.do("POST", keys, map[string]any{"type": "tag", "holder_name": "Bert", "credential": "04BB0002"}), 201)
	advance("1m")

	// H1, H2: the lock's stream through the audit API, in order, envelopes whole.
	stream := auditEvents(t, auditor, "&stream=lock-"+lockID)
	var types []string
	for i, e := range stream {
		types = append(types, e["type"].(string))
		require.EqualValues(t, i, e["revision"])
		require.Len(t, e["hash"], 64)
		md := e["metadata"].(map[string]any)
		require.NotEmpty(t, md["actor"], "H1 every event names its actor")
		require.NotEmpty(t, md["correlation_id"])
	}
	require.Equal(t, []string{"lock.registered", "lock.key_issued", "lock.key_issued", "lock.frozen", "lock.unfrozen", "lock.key_revoked",
		"lock.key_revoked", "lock.removed", "lock.registered", "lock.key_issued"}, types)
	require.Equal(t, []any{"device_token_digest"}, stream[0]["redacted"], "no view shows a device token's digest")
	require.NotContains(t, stream[0]["data"], "device_token_digest")
	frozenAt, unfrozenAt := payloadTime(t, stream[3], "frozen_at"), payloadTime(t, stream[4], "unfrozen_at")
	revokedAt, removedAt := payloadTime(t, stream[5], "revoked_at"), payloadTime(t, stream[7], "removed_at")
	reregisteredAt := payloadTime(t, stream[8], "registered_at")

	// H3: who could open the lock, moment by moment.
	k1, k2, k3 := tag.str("id"), cleaner.str("id"), bertsTag.str("id")
	_, reasons := asOf(t, auditor, lockID, boundary.Add(-time.Second))
	require.Equal(t, map[string]string{k1: "allowed", k2: "allowed"}, reasons, "inside the tag's schedule")
	_, reasons = asOf(t, auditor, lockID, boundary)
	require.Equal(t, map[string]string{k1: "outside_schedule", k2: "allowed"}, reasons, "the schedule's end, in Amsterdam")
	_, reasons = asOf(t, auditor, lockID, frozenAt.Add(-time.Millisecond))
	require.Equal(t, "allowed", reasons[k2])
	l, reasons := asOf(t, auditor, lockID, frozenAt)
	require.Equal(t, true, l["frozen"])
	require.Equal(t, map[string]string{k1: "lock_frozen", k2: "lock_frozen"}, reasons, "L15 from the freeze on")
	_, reasons = asOf(t, auditor, lockID, unfrozenAt)
	require.Equal(t, "allowed", reasons[k2])
	_, reasons = asOf(t, auditor, lockID, revokedAt)
	require.Equal(t, "key_revoked", reasons[k2])
	l, reasons = asOf(t, auditor, lockID, removedAt)
	require.Equal(t, false, l["registered"])
	require.Equal(t, map[string]string{k1: "lock_not_registered", k2: "lock_not_registered"}, reasons, "L7 removed")
	l, reasons = asOf(t, auditor, lockID, reregisteredAt.Add(time.Minute))
	require.Equal(t, bertID, l["owner_id"])
	require.EqualValues(t, 2, l["tenure"])
	require.Equal(t, map[string]string{k1: "key_revoked", k2: "key_revoked", k3: "allowed"}, reasons, "re-registered: the old keys stay revoked")
	_, reasons = asOf(t, auditor, lockID, issued.Add(-time.Hour))
	require.Empty(t, reasons, "before the lock's first event")

	// The owner sees their own ownership only (E2).
	_, reasons = asOf(t, bert, lockID, reregisteredAt.Add(time.Minute))
	require.Equal(t, map[string]string{k3: "allowed"}, reasons, "the new owner sees the keys of their ownership")
	at := "?at=" + frozenAt.Format(time.RFC3339Nano)
	require.Equal(t, "forbidden", bert.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of"+at, nil).code(), "before the new owner registered it")
	require.Equal(t, "not_found", anna.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of"+at, nil).code(), "the former owner's lock is no longer hers")
	require.Equal(t, "not_found", carl.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of"+at, nil).code(), "a stranger's lock")
	require.Equal(t, "invalid_input", auditor.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of", nil).code(), "at is required")
	require.Equal(t, "invalid_input", auditor.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of?at="+time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339), nil).code(), "the future")

	// The history for a non-auditor: their own lock's stream, from their registration on.
	require.Equal(t, "forbidden", bert.do("GET", "/v1/audit/events", nil).code(), "the whole log is for auditors")
	own := auditEvents(t, bert, "&stream=lock-"+lockID)
	require.Len(t, own, 2, "the new owner's registration and key")
	require.Equal(t, "lock.registered", own[0]["type"])
	require.Equal(t, "not_found", carl.do("GET", "/v1/audit/events?stream=lock-"+lockID, nil).code())
	require.Equal(t, "not_found", bert.do("GET", "/v1/audit/events?stream=account-"+annaID, nil).code())

	// H3: what an actor changed.
	changes := func(c *client, actor, query string) []string {
		r := expect(t, c.do("GET", "/v1/audit/actors/"+actor+"/changes?limit=500"+query, nil), 200)
		var out []string
		for _, it := range r.Body["items"].([]any) {
			e := it.(map[string]any)
			require.Equal(t, "account:"+annaID, e["metadata"].(map[string]any)["actor"])
			out = append(out, e["type"].(string))
		}
		return out
	}
	all := changes(auditor, "account:"+annaID, "")
	require.Contains(t, all, "lock.registered")
	require.Subset(t, all, []string{"lock.key_issued", "lock.frozen", "lock.unfrozen", "lock.key_revoked", "lock.removed"})
	require.Equal(t, all, changes(anna, annaID, ""), "an owner sees their own changes; a bare id is an account")
	window := changes(auditor, "account:"+annaID, "&since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)+"&until="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	require.Equal(t, all, window, "since and until read the recorded time")
	require.Empty(t, changes(auditor, "account:"+annaID, "&until="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
	page := expect(t, auditor.do("GET", "/v1/audit/actors/account:"+annaID+"/changes?limit=2", nil), 200)
	require.Len(t, page.Body["items"], 2)
	next := expect(t, auditor.do("GET", "/v1/audit/actors/account:"+annaID+"/changes?limit=500&cursor="+page.Body["next_cursor"].(string), nil), 200)
	require.Len(t, next.Body["items"], len(all)-2)
	require.Equal(t, "forbidden", bert.do("GET", "/v1/audit/actors/"+annaID+"/changes", nil).code(), "another account's changes")
	require.Equal(t, "invalid_input", auditor.do("GET", "/v1/audit/actors/someone/changes", nil).code())
	require.Equal(t, "invalid_input", auditor.do("GET", "/v1/audit/actors/account:someone/changes", nil).code())
	expect(t, auditor.do("GET", "/v1/audit/actors/signup:x/changes", nil), 200) // a kind of actor the audit API does not know yet

	// H2: the whole history in order, paged; password hashes never shown.
	history := auditEvents(t, auditor, "")
	last, err := m.Events.LastPosition(t.Context())
	require.NoError(t, err)
	require.Equal(t, last.String(), history[len(history)-1]["position"])
	prev := es.Start
	registered := 0
	for _, e := range history {
		var pos es.Position
		require.NoError(t, pos.UnmarshalText([]byte(e["position"].(string))))
		require.True(t, prev.Less(pos), "in log order")
		prev = pos
		if e["type"] == "account.registered" {
			registered++
			require.NotContains(t, e["data"], "password_hash")
			require.Equal(t, []any{"password_hash"}, e["redacted"])
		}
	}
	require.Equal(t, 5, registered, "operator, auditor, anna, bert, carl")
	small := expect(t, auditor.do("GET", "/v1/audit/events?limit=3&type=lock.frozen,lock.unfrozen", nil), 200)
	require.Len(t, small.Body["items"], 2)
	require.Nil(t, small.Body["next_cursor"])
	require.Contains(t, small.Body["redacted_fields"], "password_hash", "the answer says what it leaves out")
	byActor := auditEvents(t, auditor, "&actor=account:"+bertID+"&type=lock.key_issued")
	require.Len(t, byActor, 1)
	require.Equal(t, "invalid_input", auditor.do("GET", "/v1/audit/events?from_position=yesterday", nil).code())

	// The embedded store cannot be opened while the platform runs: the message says what to do.
	_, err = platform.OpenLog(t.Context(), dir, "")
	require.ErrorIs(t, err, platform.ErrDataDirInUse)
	require.Contains(t, err.Error(), "Stop sleuteld")

	// H2: every read model rebuilt from position zero equals the live one.
	require.NoError(t, m.WaitForReadModels(t.Context(), 30*time.Second))
	require.NoError(t, m.Close())
	log, err := platform.OpenLog(t.Context(), dir, "")
	require.NoError(t, err)
	defer log.Close()
	live, err := platform.OpenReadModels(dir)
	require.NoError(t, err)
	defer live.Close()
	names := platform.ProjectionNames()
	require.Contains(t, names, platform.ActorIndexName)
	through, err := platform.Checkpoints(t.Context(), live, names)
	require.NoError(t, err)
	fresh := filepath.Join(t.TempDir(), "replayed")
	stats, err := platform.ReplayReadModels(t.Context(), log, fresh, platform.ReplayOptions{Through: through, BatchEvents: 7})
	require.NoError(t, err)
	require.Equal(t, last, stats.Last)
	replayed, err := readstore.OpenReadOnly(fresh)
	require.NoError(t, err)
	defer replayed.Close()
	diff, err := platform.CompareProjections(t.Context(), live, replayed, names)
	require.NoError(t, err)
	require.Empty(t, diff, "H2 the rebuilt read models equal the live ones")
	rows, err := replayed.Scan(t.Context(), []byte(platform.ActorIndexName+"/"), nil, 10_000, false)
	require.NoError(t, err)
	require.Greater(t, len(rows), len(history)/2, "the actor index is rebuilt too")
	require.True(t, strings.HasPrefix(diff, ""))
}

// auditConformance runs the audit API through the conformance client, so that each
// operation is seen answering as documented (TestOpenAPIConformance calls it).
func auditConformance(t *testing.T, ck *conformance, client func() *client, op, owner *client, lockID string) {
	t.Helper()
	op.login("operator", "operator-password-1") // its session may have ended with the dev clock
	page := expect(t, op.do("GET", "/v1/audit/events?limit=2", nil), 200)
	expect(t, op.do("GET", "/v1/audit/events?limit=2&type=lock.registered&from_position="+page.Body["next_cursor"].(string), nil), 200)
	expect(t, owner.do("GET", "/v1/audit/events?stream=lock-"+lockID, nil), 200)
	require.Equal(t, "forbidden", owner.do("GET", "/v1/audit/events", nil).code())
	stranger := client()
	stranger.signUp("audit-stranger")
	require.Equal(t, "not_found", stranger.do("GET", "/v1/audit/events?stream=lock-"+lockID, nil).code())
	ck.invalid(func() {
		require.Equal(t, "invalid_input", op.do("GET", "/v1/audit/events?from_position=x", nil).code())
	})
	now := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	expect(t, op.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of?limit=2&at="+now, nil), 200)
	ck.invalid(func() {
		require.Equal(t, "invalid_input", op.do("GET", "/v1/audit/locks/"+lockID+"/access-as-of", nil).code())
	})
	require.Equal(t, "not_found", op.do("GET", "/v1/audit/locks/"+uuid.NewString()+"/access-as-of?at="+now, nil).code())
	expect(t, op.do("GET", "/v1/audit/actors/system:bootstrap/changes", nil), 200)
	require.Equal(t, "forbidden", owner.do("GET", "/v1/audit/actors/system:bootstrap/changes", nil).code())
}

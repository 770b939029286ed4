package platform_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/cmd/internal/platform"
)

// results returns a bulk answer's results by lock id.
func results(t *testing.T, r response) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, x := range r.Body["results"].([]any) {
		res := x.(map[string]any)
		out[res["lock_id"].(string)] = res
	}
	return out
}

// errCode returns the error code of one lock's result, "" when it has none.
func errCode(res map[string]any) string {
	e, _ := res["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func keyOf(res map[string]any) map[string]any {
	k, _ := res["key"].(map[string]any)
	return k
}

// TestBuildings_L13 walks building management as an owner would: switch it on,
// create a building, put locks in it, and issue one key on all of them, where one
// lock is in revoke-only and one at its allowance; then revoke that key everywhere.
// The refusals are tried too: management off, a stranger's building and lock, an
// empty or oversized lock list.
func TestBuildings_L13(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	owner, stranger := newClient(t, m.URL()), newClient(t, m.URL())
	ownerID := owner.signUp("olga")
	stranger.signUp("sam")
	anon := newClient(t, m.URL())

	// Building management starts off: no building yet (L13).
	off := expect(t, owner.do("GET", "/v1/me/building-management", nil), 200)
	require.Equal(t, false, off.Body["enabled"])
	require.Nil(t, off.Body["enabled_at"])
	refused := expect(t, owner.do("POST", "/v1/buildings", map[string]string{"name": "Kerkstraat 12"}), 403)
	require.Equal(t, "forbidden", refused.code())
	require.Contains(t, refused.Body["error"].(map[string]any)["message"], "building management", "the refusal says what to do")
	require.Equal(t, "unauthorized", anon.do("POST", "/v1/me/building-management", nil).code())

	// Switched on, without a code; switching again keeps the first time.
	on := expect(t, owner.do("POST", "/v1/me/building-management", nil), 200)
	require.Equal(t, true, on.Body["enabled"])
	again := expect(t, owner.do("POST", "/v1/me/building-management", nil), 200)
	require.Equal(t, on.Body["enabled_at"], again.Body["enabled_at"])
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/me/building-management", map[string]any{"enabled": true}).code(), "takes no body")

	key := uuid.NewString()
	created := expect(t, owner.do("POST", "/v1/buildings", map[string]string{"name": " Kerkstraat 12 "}, "Idempotency-Key", key), 201)
	buildingID := created.str("id")
	require.Equal(t, "Kerkstraat 12", created.str("name"))
	require.Equal(t, ownerID, created.str("owner_id"))
	require.Equal(t, "/v1/buildings/"+buildingID, created.Header.Get("Location"))
	require.Equal(t, []any{}, created.Body["lock_ids"])
	retried := expect(t, owner.do("POST", "/v1/buildings", map[string]string{"name": " Kerkstraat 12 "}, "Idempotency-Key", key), 201)
	require.Equal(t, buildingID, retried.str("id"), "a retry answers with the same building")
	require.Equal(t, "conflict", owner.do("POST", "/v1/buildings", map[string]string{"name": "KERKSTRAAT 12"}).code(), "names are unique per owner")
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/buildings", map[string]string{"name": " "}).code())
	office := expect(t, owner.do("POST", "/v1/buildings", map[string]string{"name": "Office"}), 201).str("id")
	list := expect(t, owner.do("GET", "/v1/buildings?limit=1", nil), 200)
	require.Equal(t, buildingID, list.Body["items"].([]any)[0].(map[string]any)["id"], "creation order")
	rest := expect(t, owner.do("GET", "/v1/buildings?cursor="+list.Body["next_cursor"].(string), nil), 200)
	require.Equal(t, office, rest.Body["items"].([]any)[0].(map[string]any)["id"])

	// Three locks: one whose trial will have ended, two fresh, one of them full.
	register := func(c *client, serial string) string {
		return expect(t, c.do("POST", "/v1/locks", map[string]string{"serial": serial, "name": serial, "time_zone": "Europe/Amsterdam"}), 201).str("id")
	}
	lapsed := register(owner, "BL-1001")
	expect(t, anon.do("POST", "/v1/dev/clock", map[string]string{"advance": "2232h"}), 200) // 93 days: BL-1001 is revoke-only (L4)
	owner.login("olga", "correct horse battery")
	stranger.login("sam", "correct horse battery")
	ok, full := register(owner, "BL-1002"), register(owner, "BL-1003")
	for i := range 25 {
		expect(t, owner.do("POST", "/v1/locks/"+full+"/keys", map[string]any{"type": "code", "holder_name": fmt.Sprint("Filler ", i)}), 201)
	}
	theirs := register(stranger, "BL-2001")

	path := "/v1/buildings/" + buildingID
	for _, l := range []string{ok, lapsed, full} {
		expect(t, owner.do("PUT", path+"/locks/"+l, nil), 200)
	}
	again = expect(t, owner.do("PUT", path+"/locks/"+ok, nil), 200)
	require.Equal(t, []any{ok, lapsed, full}, again.Body["lock_ids"], "putting a lock twice changes nothing")
	got := expect(t, owner.do("GET", path, nil), 200)
	require.Len(t, got.Body["locks"], 3, "the building shows its locks")
	require.Equal(t, "revoke_only", got.Body["locks"].([]any)[1].(map[string]any)["management"].(map[string]any)["state"])
	require.Equal(t, "conflict", owner.do("PUT", "/v1/buildings/"+office+"/locks/"+ok, nil).code(), "L13 a lock is in one building of its owner")
	require.Equal(t, "not_found", owner.do("PUT", path+"/locks/"+theirs, nil).code(), "L13 only the owner's own locks (E2)")
	require.Equal(t, "not_found", owner.do("PUT", path+"/locks/not-a-uuid", nil).code())

	// E2: a stranger's building is not found, whatever they try.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", path, nil}, {"PUT", path + "/locks/" + theirs, nil}, {"DELETE", path + "/locks/" + ok, nil},
		{"POST", path + "/keys", map[string]any{"type": "code", "holder_name": "Intruder"}}, {"GET", path + "/keys", nil},
		{"DELETE", path + "/keys/" + uuid.NewString(), nil},
	} {
		require.Equal(t, "not_found", stranger.do(c.method, c.path, c.body).code(), "E2 %s %s", c.method, c.path)
	}
	require.Empty(t, expect(t, stranger.do("GET", "/v1/buildings", nil), 200).Body["items"])

	// One tag key on the three locks: each lock decides for itself (L13, L5, L8).
	bulkKey := uuid.NewString()
	tag := map[string]any{"type": "tag", "holder_name": "Anna", "credential": "04:A2:1B:FF"}
	bulk := expect(t, owner.do("POST", path+"/keys", tag, "Idempotency-Key", bulkKey), 200)
	bulkID := bulk.str("bulk_id")
	require.NotEmpty(t, bulkID)
	require.EqualValues(t, 1, bulk.Body["succeeded"])
	require.EqualValues(t, 2, bulk.Body["failed"])
	res := results(t, bulk)
	require.Equal(t, "issued", res[ok]["status"])
	issued := keyOf(res[ok])
	require.Equal(t, "Anna", issued["holder_name"])
	require.Equal(t, "active", issued["status"])
	require.Equal(t, "failed", res[lapsed]["status"])
	require.Equal(t, "management_inactive", errCode(res[lapsed]), "L5 the revoke-only lock refuses with its own error")
	require.Equal(t, "failed", res[full]["status"])
	require.Equal(t, "key_limit_reached", errCode(res[full]), "L8 the full lock refuses with its own error")
	require.NotEmpty(t, res[full]["error"].(map[string]any)["message"])
	onLock := expect(t, owner.do("GET", "/v1/locks/"+ok+"/keys/"+issued["id"].(string), nil), 200)
	require.Equal(t, "Anna", onLock.str("holder_name"), "read-your-writes: the key is on the lock")

	// A retry with the same Idempotency-Key doubles nothing.
	retry := expect(t, owner.do("POST", path+"/keys", tag, "Idempotency-Key", bulkKey), 200)
	require.Equal(t, bulkID, retry.str("bulk_id"))
	require.Equal(t, issued["id"], keyOf(results(t, retry)[ok])["id"], "the same key")
	active := expect(t, owner.do("GET", "/v1/locks/"+ok+"/keys?status=active", nil), 200)
	require.Len(t, active.Body["items"], 1)

	// Refusals of the request as a whole: nothing recorded, no lock asked (E1).
	for name, body := range map[string]map[string]any{
		"an empty lock list":          {"type": "tag", "holder_name": "Anna", "credential": "04A2CC01", "lock_ids": []string{}},
		"an oversized lock list":      {"type": "tag", "holder_name": "Anna", "credential": "04A2CC01", "lock_ids": manyIDs(101)},
		"a lock outside the building": {"type": "tag", "holder_name": "Anna", "credential": "04A2CC01", "lock_ids": []string{theirs}},
		"a lock named twice":          {"type": "tag", "holder_name": "Anna", "credential": "04A2CC01", "lock_ids": []string{ok, ok}},
		"a bad PIN":                   {"type": "code", "holder_name": "Anna", "credential": "12"},
		"an unknown field":            {"type": "code", "holder_name": "Anna", "locks": []string{ok}},
	} {
		require.Equal(t, "invalid_input", owner.do("POST", path+"/keys", body).code(), name)
	}
	empty := expect(t, owner.do("POST", "/v1/buildings/"+office+"/keys", tag), 400)
	require.Contains(t, empty.Body["error"].(map[string]any)["message"], "at least one lock", "an empty building")

	// A generated PIN, the same on each lock asked, opens the door.
	code := expect(t, owner.do("POST", path+"/keys", map[string]any{"type": "code", "holder_name": "Cleaner", "lock_ids": []string{ok}}), 200)
	pin := code.str("pin")
	require.Len(t, pin, 6)
	require.Equal(t, "issued", results(t, code)[ok]["status"])
	bulks := expect(t, owner.do("GET", path+"/keys", nil), 200)
	require.Len(t, bulks.Body["items"], 2)
	first := bulks.Body["items"].([]any)[0].(map[string]any)
	require.Equal(t, bulkID, first["id"])
	require.Equal(t, []any{ok, lapsed, full}, first["lock_ids"])

	// Revoking the bulk revokes the holder's key on every lock that has it; the
	// others have none. Allowed on the revoke-only lock too (L5).
	rev := expect(t, owner.do("DELETE", path+"/keys/"+bulkID, nil), 200)
	res = results(t, rev)
	require.Equal(t, "revoked", res[ok]["status"])
	require.Equal(t, "revoked", keyOf(res[ok])["status"])
	require.Equal(t, issued["id"], keyOf(res[ok])["id"])
	require.Equal(t, "none", res[lapsed]["status"])
	require.Equal(t, "none", res[full]["status"])
	revokedKey := expect(t, owner.do("GET", "/v1/locks/"+ok+"/keys/"+issued["id"].(string), nil), 200)
	require.Equal(t, "revoked", revokedKey.str("status"))
	require.NotNil(t, expect(t, owner.do("GET", path+"/keys", nil), 200).Body["items"].([]any)[0].(map[string]any)["revoked_at"])
	twice := expect(t, owner.do("DELETE", path+"/keys/"+bulkID, nil), 200)
	require.Equal(t, "none", results(t, twice)[ok]["status"], "revoking again is harmless")
	require.Equal(t, "not_found", owner.do("DELETE", path+"/keys/"+uuid.NewString(), nil).code())

	// A lock removed from the platform (L7) is no longer the owner's: it refuses on
	// its own, and it leaves the building.
	codeBulk := code.str("bulk_id")
	expect(t, owner.do("PUT", path+"/locks/"+ok, nil), 200)
	expect(t, owner.do("DELETE", "/v1/locks/"+ok, nil), 204)
	shown := expect(t, owner.do("GET", path, nil), 200)
	for _, l := range shown.Body["locks"].([]any) {
		require.NotEqual(t, ok, l.(map[string]any)["id"], "E2 a lock no longer the owner's is not shown")
	}
	gone := expect(t, owner.do("DELETE", path+"/keys/"+codeBulk, nil), 200)
	require.Equal(t, "failed", results(t, gone)[ok]["status"])
	require.Equal(t, "not_found", errCode(results(t, gone)[ok]))
	waitForBuildingLocks(t, m)
	left := expect(t, owner.do("GET", path, nil), 200)
	require.Equal(t, []any{lapsed, full}, left.Body["lock_ids"], "L13 the removed lock left the building")

	// Taking a lock out.
	expect(t, owner.do("DELETE", path+"/locks/"+full, nil), 204)
	require.Equal(t, "not_found", owner.do("DELETE", path+"/locks/"+full, nil).code())
	expect(t, owner.do("PUT", "/v1/buildings/"+office+"/locks/"+full, nil), 200)
}

// waitForBuildingLocks waits until the process manager has handled everything in
// the log and the buildings read model shows what it wrote.
func waitForBuildingLocks(t *testing.T, m *platform.Main) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	last, err := m.Events.LastPosition(ctx)
	require.NoError(t, err)
	require.NoError(t, m.Runtime.WaitFor(ctx, "building_locks_v1", last))
	require.NoError(t, m.WaitForReadModels(ctx, 10*time.Second))
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = uuid.NewString()
	}
	return out
}

// exerciseBuildings runs every building operation once with success and a few of
// their documented refusals, for TestOpenAPIConformance (L13).
func exerciseBuildings(t *testing.T, client func() *client) {
	t.Helper()
	owner, stranger := client(), client()
	owner.signUp("bouwer")
	stranger.signUp("buur")
	require.Equal(t, "forbidden", owner.do("POST", "/v1/buildings", map[string]string{"name": "Blok A"}).code())
	expect(t, owner.do("GET", "/v1/me/building-management", nil), 200)
	expect(t, owner.do("POST", "/v1/me/building-management", nil, "Idempotency-Key", uuid.NewString()), 200)
	b := expect(t, owner.do("POST", "/v1/buildings", map[string]string{"name": "Blok A"}, "Idempotency-Key", uuid.NewString()), 201).str("id")
	require.Equal(t, "conflict", owner.do("POST", "/v1/buildings", map[string]string{"name": "blok a"}).code())
	expect(t, owner.do("GET", "/v1/buildings?limit=10", nil), 200)
	var locks []string
	for _, serial := range []string{"BA-1", "BA-2"} {
		locks = append(locks, expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": serial, "name": serial, "time_zone": "UTC"}), 201).str("id"))
		expect(t, owner.do("PUT", "/v1/buildings/"+b+"/locks/"+locks[len(locks)-1], nil, "Idempotency-Key", uuid.NewString()), 200)
	}
	expect(t, owner.do("GET", "/v1/buildings/"+b, nil), 200)
	require.Equal(t, "not_found", stranger.do("GET", "/v1/buildings/"+b, nil).code())
	issued := expect(t, owner.do("POST", "/v1/buildings/"+b+"/keys", map[string]any{"type": "code", "holder_name": "Schoonmaker", "max_uses": 5,
		"valid_until": "2099-01-01T00:00:00Z"}, "Idempotency-Key", uuid.NewString()), 200)
	expect(t, owner.do("POST", "/v1/buildings/"+b+"/keys", map[string]any{"type": "code", "holder_name": "Schoonmaker", "credential": "424242", "lock_ids": locks[:1]}), 200)
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/buildings/"+b+"/keys", map[string]any{"type": "tag", "holder_name": "Anna"}).code())
	expect(t, owner.do("GET", "/v1/buildings/"+b+"/keys?limit=1", nil), 200)
	expect(t, owner.do("DELETE", "/v1/buildings/"+b+"/keys/"+issued.str("bulk_id"), nil), 200)
	require.Equal(t, "not_found", owner.do("DELETE", "/v1/buildings/"+b+"/keys/"+uuid.NewString(), nil).code())
	expect(t, owner.do("DELETE", "/v1/buildings/"+b+"/locks/"+locks[1], nil), 204)
	require.Equal(t, "not_found", owner.do("DELETE", "/v1/buildings/"+b+"/locks/"+locks[1], nil).code())
}

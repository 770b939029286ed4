package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestOpenAPIConformance runs a session against a real platform through a client
// whose transport validates every request and every answer against the OpenAPI
// document the platform serves (openapi3filter): the status must be documented,
// the body must match its schema, and an error's code must be one the document
// lists for that status. Deliberately bad requests must be refused by the document
// too. In the end every documented operation must have been seen succeeding.
func TestOpenAPIConformance(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	ck := newConformance(t, m.URL())
	client := func() *client {
		c := newClient(t, m.URL())
		c.hc.Transport = ck
		return c
	}
	anon := client()
	expect(t, anon.do("GET", "/healthz", nil), 200)
	expect(t, anon.do("GET", "/openapi.json", nil), 200)

	// Accounts (A1-A3).
	owner := client()
	signed := expect(t, owner.do("POST", "/v1/accounts", map[string]string{"username": "olga", "email": "olga@example.org", "password": "correct horse battery"},
		"Idempotency-Key", uuid.NewString()), 201)
	require.Empty(t, signed.Header.Get("Location"), "no account resource to point to yet")
	owner.login("olga", "correct horse battery")
	holder := client()
	holderID := holder.signUp("piet")
	require.Equal(t, "conflict", owner.do("POST", "/v1/accounts", map[string]string{"username": " OLGA ", "email": "o@example.org", "password": "correct horse battery"}).code())
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/accounts", map[string]string{"username": "x", "email": "x@example.org", "password": "correct horse battery"}).code())
	ck.invalid(func() {
		require.Equal(t, "invalid_input", anon.do("POST", "/v1/accounts", `{"username":"quinn","email":"q@example.org","password":"correct horse battery","age":3}`).code())
	})
	victim := client()
	victim.signUp("rita")
	lockedOut := false
	for range 6 {
		r := victim.do("POST", "/v1/sessions", map[string]string{"username": "rita", "password": "wrong password 1"})
		if r.Status == 423 {
			lockedOut = true
			// The message names the lockout's end; error.locked_until, when sent, is checked by the schema.
			require.Contains(t, r.Body["error"].(map[string]any)["message"], "locked until", "A3 the answer says when the lock ends")
			break
		}
		require.Equal(t, "unauthorized", r.code())
	}
	require.True(t, lockedOut, "A3 more than 3 failed logins lock the account")

	// Prepaid codes (P1).
	op := client()
	op.login("operator", "operator-password-1")
	issue := func(product string) string {
		r := expect(t, op.do("POST", "/v1/codes", map[string]any{"product": product, "count": 1}, "Idempotency-Key", uuid.NewString()), 201)
		return r.Body["codes"].([]any)[0].(string)
	}
	management, shared, keys := issue("management-5y"), issue("shared-management-5y"), issue("keys-10")
	require.Equal(t, "forbidden", owner.do("POST", "/v1/codes", map[string]any{"product": "management-5y", "count": 1}).code())
	ck.invalid(func() {
		require.Equal(t, "invalid_input", op.do("POST", "/v1/codes", map[string]any{"product": "keys-0", "count": 1}).code())
	})

	// Locks (L1, L2, L16).
	reg := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "oa-1001", "name": "Front door", "time_zone": "Europe/Amsterdam"},
		"Idempotency-Key", uuid.NewString()), 201)
	lockID := reg.str("id")
	require.NotEmpty(t, reg.str("device_token"))
	spare := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "OA-1002", "name": "Shed", "time_zone": "UTC"}), 201)
	trial := expect(t, owner.do("POST", "/v1/locks", map[string]string{"serial": "OA-1003", "name": "Garage", "time_zone": "UTC"}), 201)
	require.Equal(t, "conflict", holder.do("POST", "/v1/locks", map[string]string{"serial": "OA-1001", "name": "Mine", "time_zone": "UTC"}).code())
	page := expect(t, owner.do("GET", "/v1/locks?limit=2", nil), 200)
	next, _ := page.Body["next_cursor"].(string)
	require.NotEmpty(t, next)
	last := expect(t, owner.do("GET", "/v1/locks?limit=2&cursor="+next, nil), 200)
	require.Nil(t, last.Body["next_cursor"])
	ck.invalid(func() { require.Equal(t, "invalid_input", owner.do("GET", "/v1/locks?limit=0", nil).code()) })
	ck.invalid(func() { require.Equal(t, "unauthorized", anon.do("GET", "/v1/locks", nil).code()) })
	forged := client()
	forged.token = "Bearer not-a-token"
	require.Equal(t, "unauthorized", forged.do("GET", "/v1/locks", nil).code())
	expect(t, owner.do("GET", "/v1/locks/"+lockID, nil), 200)
	require.Equal(t, "not_found", holder.do("GET", "/v1/locks/"+lockID, nil).code(), "E2")
	require.Equal(t, "not_found", owner.do("GET", "/v1/locks/"+uuid.NewString(), nil).code())
	renamed := expect(t, owner.do("PATCH", "/v1/locks/"+lockID, map[string]string{"name": "Back door"}), 200)
	require.Equal(t, "Back door", renamed.str("name"))

	// Keys of every type (L9).
	keysPath := "/v1/locks/" + lockID + "/keys"
	code := expect(t, owner.do("POST", keysPath, map[string]any{"type": "code", "holder_name": "Cleaner", "max_uses": 1}, "Idempotency-Key", uuid.NewString()), 201)
	pin := code.str("pin")
	require.Len(t, pin, 6)
	require.Equal(t, keysPath+"/"+code.str("id"), code.Header.Get("Location"))
	expect(t, owner.do("POST", keysPath, map[string]any{"type": "code", "holder_name": "Neighbour", "credential": "4321"}), 201)
	remote := expect(t, owner.do("POST", keysPath, map[string]any{"type": "remote", "holder_name": "Gardener", "credential": "RM-00112233",
		"valid_from": "2026-01-01T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z",
		"schedule": []map[string]any{{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "until": "17:30"}}}), 201)
	tag := expect(t, owner.do("POST", keysPath, map[string]any{"type": "tag", "holder_name": "Olga", "credential": "04:A2:00:17"}), 201)
	expect(t, owner.do("POST", keysPath, map[string]any{"type": "phone", "holder_name": "Piet", "account_id": holderID}), 201)
	require.Equal(t, "conflict", owner.do("POST", keysPath, map[string]any{"type": "tag", "holder_name": "Copy", "credential": "04a20017"}).code(), "L9 unique tags")
	require.Equal(t, "invalid_input", owner.do("POST", keysPath, map[string]any{"type": "phone", "holder_name": "Nobody"}).code())
	ck.invalid(func() {
		require.Equal(t, "invalid_input", owner.do("POST", keysPath, map[string]any{"type": "laser", "holder_name": "x"}).code())
	})
	list := expect(t, owner.do("GET", keysPath+"?status=active&limit=2", nil), 200)
	require.NotNil(t, list.Body["next_cursor"])
	expect(t, owner.do("GET", keysPath+"?type=code&cursor="+list.Body["next_cursor"].(string), nil), 200)
	ck.invalid(func() { require.Equal(t, "invalid_input", owner.do("GET", keysPath+"?status=lost", nil).code()) })
	expect(t, owner.do("GET", keysPath+"/"+remote.str("id"), nil), 200)
	require.Equal(t, "not_found", owner.do("GET", keysPath+"/"+uuid.NewString(), nil).code())
	changed := expect(t, owner.do("PATCH", keysPath+"/"+remote.str("id"), map[string]any{"holder_name": "Head gardener", "valid_until": nil, "schedule": []any{}}), 200)
	require.Equal(t, "Head gardener", changed.str("holder_name"))
	require.NotContains(t, changed.Body, "valid_until", "null removes the end of validity")
	require.NotContains(t, changed.Body, "schedule", "[] removes the schedule")
	expect(t, owner.do("PATCH", keysPath+"/"+code.str("id"), map[string]any{"max_uses": 2, "holder_name": nil}), 200)
	expect(t, owner.do("DELETE", keysPath+"/"+tag.str("id"), nil), 204)
	require.Equal(t, "conflict", owner.do("DELETE", keysPath+"/"+tag.str("id"), nil).code(), "already revoked")
	require.Equal(t, "conflict", owner.do("PATCH", keysPath+"/"+tag.str("id"), map[string]any{"holder_name": "x"}).code(), "revoked keys do not change")
	revoked := expect(t, owner.do("GET", keysPath+"?status=revoked", nil), 200)
	require.Len(t, revoked.Body["items"], 1)
	mine := expect(t, holder.do("GET", "/v1/me/keys", nil), 200)
	phoneCred := mine.Body["items"].([]any)[0].(map[string]any)["phone_credential"].(string)

	// The device (D1, D2).
	dev := client()
	dev.token = "Device " + reg.str("device_token")
	access := func(typ, cred string) map[string]any {
		return expect(t, dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": typ, "credential": cred}), 200).Body
	}
	require.Equal(t, true, access("phone", phoneCred)["allowed"])
	require.Equal(t, true, access("code", pin)["allowed"])
	require.Equal(t, "unknown_credential", access("tag", "04A20017")["reason"], "a revoked tag")
	require.Equal(t, "unknown_credential", access("code", "12")["reason"], "a credential no key can have is a plain no")
	ck.invalid(func() {
		require.Equal(t, "invalid_input", dev.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "laser", "credential": "x"}).code())
	})
	wrongDevice := client()
	wrongDevice.token = "Device not-a-token"
	require.Equal(t, "unauthorized", wrongDevice.do("POST", "/v1/device/access-checks", map[string]string{"credential_type": "code", "credential": pin}).code())
	now := time.Now().UTC()
	reports := []map[string]any{
		{"id": "oa-1", "type": "access_granted", "occurred_at": now.Add(-time.Hour).Format(time.RFC3339), "key_id": code.str("id")},
		{"id": "oa-2", "type": "battery", "occurred_at": now.Add(-time.Minute).Format(time.RFC3339), "battery_percent": 81},
		{"id": "oa-3", "type": "tamper", "occurred_at": now.Format(time.RFC3339Nano)},
	}
	accepted := expect(t, dev.do("POST", "/v1/device/events", reports), 202)
	require.EqualValues(t, 3, accepted.Body["accepted"])
	expect(t, dev.do("POST", "/v1/device/events", reports), 202)
	ck.invalid(func() { require.Equal(t, "invalid_input", dev.do("POST", "/v1/device/events", []any{}).code()) })

	// The log (L14): pages, filters.
	eventsPath := "/v1/locks/" + lockID + "/events"
	logPage := expect(t, owner.do("GET", eventsPath+"?limit=4", nil), 200)
	require.Len(t, logPage.Body["items"], 4)
	expect(t, owner.do("GET", eventsPath+"?limit=4&cursor="+logPage.Body["next_cursor"].(string), nil), 200)
	filtered := expect(t, owner.do("GET", eventsPath+"?type=lock.key_issued,report.recorded&since="+now.Add(-24*time.Hour).Format(time.RFC3339)+
		"&until="+now.Add(24*time.Hour).Format(time.RFC3339), nil), 200)
	require.Len(t, filtered.Body["items"], 8, "5 keys issued and 3 reports")
	ck.invalid(func() { require.Equal(t, "invalid_input", owner.do("GET", eventsPath+"?since=yesterday", nil).code()) })
	require.Equal(t, "not_found", holder.do("GET", eventsPath, nil).code())

	// Freeze (L15), device token (D1).
	frozen := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/freeze", nil), 200)
	require.Equal(t, true, frozen.Body["frozen"])
	require.Equal(t, "lock_frozen", access("phone", phoneCred)["reason"])
	expect(t, owner.do("POST", "/v1/locks/"+lockID+"/unfreeze", nil), 200)
	require.Equal(t, "invalid_input", owner.do("POST", "/v1/locks/"+lockID+"/freeze", map[string]any{}).code(), "takes no body")
	rotated := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/device-token", nil, "Idempotency-Key", uuid.NewString()), 200)
	dev.token = "Device " + rotated.str("device_token")
	require.Equal(t, true, access("phone", phoneCred)["allowed"])

	// Codes on a lock (L3, L8, L11, P2).
	redeem := func(code string) response {
		return owner.do("POST", "/v1/locks/"+lockID+"/redemptions", map[string]string{"code": code})
	}
	require.Equal(t, "option_unavailable", redeem(shared).code(), "L11 not in the trial")
	require.Equal(t, "code_invalid", redeem("AAAA-BBBB").code())
	paid := expect(t, redeem(strings.ToLower(management)), 200)
	require.Equal(t, "active", paid.Body["management"].(map[string]any)["state"])
	require.Equal(t, "code_invalid", redeem(management).code(), "P2 once")
	sharedOn := expect(t, redeem(shared), 200)
	require.Equal(t, true, sharedOn.Body["management"].(map[string]any)["shared_management_active"])
	more := expect(t, redeem(keys), 200)
	require.EqualValues(t, 35, more.Body["key_allowance"])

	// Replacement (L17), removal (L7).
	replaced := expect(t, owner.do("POST", "/v1/locks/"+lockID+"/replacement", map[string]string{"new_serial": "oa-2001"}), 200)
	require.Equal(t, "OA-2001", replaced.str("serial"))
	require.Equal(t, "conflict", owner.do("POST", "/v1/locks/"+lockID+"/replacement", map[string]string{"new_serial": "OA-1002"}).code())
	expect(t, owner.do("DELETE", "/v1/locks/"+spare.str("id"), nil), 204)
	require.Equal(t, "not_found", owner.do("DELETE", "/v1/locks/"+spare.str("id"), nil).code())

	// The key allowance (L8) and the end of the trial (L4, L5), with the dev clock.
	trialKeys := "/v1/locks/" + trial.str("id") + "/keys"
	for i := range 25 {
		expect(t, owner.do("POST", trialKeys, map[string]any{"type": "tag", "holder_name": fmt.Sprint("Holder ", i), "credential": fmt.Sprintf("0AB%05d", i)}), 201)
	}
	require.Equal(t, "key_limit_reached", owner.do("POST", trialKeys, map[string]any{"type": "code", "holder_name": "One too many"}).code())
	ck.invalid(func() {
		require.Equal(t, "invalid_input", anon.do("POST", "/v1/dev/clock", map[string]string{"advance": "soon", "by": "me"}).code())
	})
	require.Equal(t, "invalid_input", anon.do("POST", "/v1/dev/clock", map[string]string{"advance": "-1h"}).code())
	expect(t, anon.do("POST", "/v1/dev/clock", map[string]string{"advance": "2232h"}), 200) // 93 days
	owner.login("olga", "correct horse battery")
	lapsed := expect(t, owner.do("GET", "/v1/locks/"+trial.str("id"), nil), 200)
	require.Equal(t, "revoke_only", lapsed.Body["management"].(map[string]any)["state"])
	require.Equal(t, "management_inactive", owner.do("POST", trialKeys, map[string]any{"type": "code", "holder_name": "Late"}).code(), "L5")
	firstTag := expect(t, owner.do("GET", trialKeys+"?limit=1", nil), 200).Body["items"].([]any)[0].(map[string]any)["id"].(string)
	require.Equal(t, "management_inactive", owner.do("PATCH", trialKeys+"/"+firstTag, map[string]any{"holder_name": "Late"}).code(), "L5")
	expect(t, owner.do("DELETE", trialKeys+"/"+firstTag, nil), 204) // L5 revoking still works

	exerciseBuildings(t, client)            // L13: buildings_test.go
	exerciseAccounts(t, m, client)          // A3-A8: accounts_recovery_test.go
	webhookSession(t, ck, owner, lockID)    // W1
	exerciseOrganizations(t, m, client, op) // O1-O6, L11, L12: organizations_test.go

	auditConformance(t, ck, client, op, owner, lockID) // H2, H3: in audit_test.go

	ck.requireAllOperations()
}

// conformance is an http.RoundTripper that validates each exchange against the
// platform's OpenAPI document.
type conformance struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
	base   http.RoundTripper

	mu            sync.Mutex
	expectInvalid bool
	seen          map[string][]int // operation id → statuses answered
}

func newConformance(t *testing.T, base string) *conformance {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/openapi.json", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(ctx))
	doc.Servers = openapi3.Servers{{URL: base}}
	router, err := gorillamux.NewRouter(doc)
	require.NoError(t, err)
	return &conformance{t: t, doc: doc, router: router, base: http.DefaultTransport, seen: map[string][]int{},
		opts: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			SkipSettingDefaults:   true,
			AuthenticationFunc:    authenticate,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{
				openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562)),
			},
		}}
}

// authenticate checks the Authorization header has the scheme's form; whether the
// token is good is the server's to say.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	prefix := map[string]string{"bearer": "Bearer ", "device": "Device "}[in.SecuritySchemeName]
	if prefix == "" || !strings.HasPrefix(h, prefix) || len(h) == len(prefix) {
		return fmt.Errorf("want Authorization: %s<token>", prefix)
	}
	return nil
}

// invalid runs f, whose one request the document must refuse.
func (c *conformance) invalid(f func()) {
	c.mu.Lock()
	c.expectInvalid = true
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expectInvalid {
		c.t.Error("the request meant to be invalid was not sent")
	}
	c.expectInvalid = false
}

func (c *conformance) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	where := req.Method + " " + req.URL.RequestURI()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s is not in the document: %v", where, err)
		return c.base.RoundTrip(req)
	}
	clone := req.Clone(req.Context())
	clone.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: clone, PathParams: params, Route: route, Options: c.opts}
	reqErr := openapi3filter.ValidateRequest(req.Context(), in)
	c.mu.Lock()
	wantInvalid := c.expectInvalid
	c.expectInvalid = false
	c.mu.Unlock()
	switch {
	case wantInvalid && reqErr == nil:
		c.t.Errorf("%s %s: the document accepts a request the test sends as invalid", where, reqBody)
	case !wantInvalid && reqErr != nil:
		c.t.Errorf("%s %s: the request does not match the document: %v", where, reqBody, reqErr)
	}

	resp, err := c.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	err = openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: c.opts})
	if err != nil {
		c.t.Errorf("%s → %d %s: the answer does not match the document: %v", where, resp.StatusCode, respBody, err)
	}
	if resp.StatusCode >= 400 {
		c.checkErrorCode(where, route.Operation, resp.StatusCode, respBody)
	}
	c.mu.Lock()
	id := route.Operation.OperationID
	if !slices.Contains(c.seen[id], resp.StatusCode) {
		c.seen[id] = append(c.seen[id], resp.StatusCode)
	}
	c.mu.Unlock()
	return resp, nil
}

// checkErrorCode checks an error's code is one the document lists for its status.
func (c *conformance) checkErrorCode(where string, op *openapi3.Operation, status int, body []byte) {
	ref := op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return // ValidateResponse reported it
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		c.t.Errorf("%s → %d: %v", where, status, err)
		return
	}
	raw, _ := ref.Value.Extensions["x-error-codes"].([]any)
	codes := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		codes = append(codes, s)
	}
	if !slices.Contains(codes, e.Error.Code) {
		c.t.Errorf("%s → %d %q: the document lists only %v for %d", where, status, e.Error.Code, codes, status)
	}
}

// requireAllOperations checks every documented operation answered with each of its
// documented success statuses during the session.
func (c *conformance) requireAllOperations() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				code, err := strconv.Atoi(status)
				if err != nil || code >= 300 {
					continue
				}
				if !slices.Contains(c.seen[op.OperationID], code) {
					missing = append(missing, fmt.Sprintf("%s %s → %d", method, path, code))
				}
			}
		}
	}
	sort.Strings(missing)
	require.Empty(c.t, missing, "documented but never seen succeeding")
	var seen []string
	for id, statuses := range c.seen {
		slices.Sort(statuses)
		seen = append(seen, fmt.Sprint(id, statuses))
	}
	sort.Strings(seen)
	c.t.Logf("validated: %s", strings.Join(seen, " "))
}

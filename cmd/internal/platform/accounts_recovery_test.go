package platform_test

import (
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"sleutel/cmd/internal/platform"
)

const pass = "correct horse battery"

// The welcome letter is HTML (A6): the conformance transport checks it as the
// string the document says it is.
func init() {
	openapi3filter.RegisterBodyDecoder("text/html", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
}

// startWith runs a platform like startPlatform, with changes to its config.
func startWith(t *testing.T, dir string, change func(*platform.Config)) *platform.Main {
	t.Helper()
	cfg := platform.Config{Addr: "127.0.0.1:0", DataDir: dir, DevClock: true,
		OperatorPassword: "operator-password-1", Logger: zap.NewNop(), Out: io.Discard}
	change(&cfg)
	m := &platform.Main{Config: cfg}
	require.NoError(t, m.Run(t.Context()))
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// resetTokens waits until the reset mail process manager has handled the whole
// log, then returns the reset tokens mailed to address, oldest first.
func resetTokens(t *testing.T, m *platform.Main, dir, address string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	last, err := m.Events.LastPosition(ctx)
	require.NoError(t, err)
	require.NoError(t, m.Runtime.WaitFor(ctx, "password_reset_mail_v1", last))
	files, err := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	require.NoError(t, err)
	slices.Sort(files) // named by time
	var tokens []string
	link := regexp.MustCompile(`/v1/password-resets/([A-Za-z0-9_-]+)`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(string(raw))))
		require.NoError(t, err)
		if strings.Contains(string(raw), "To: <"+address+">") {
			if m := link.FindStringSubmatch(string(body)); m != nil {
				tokens = append(tokens, m[1])
			}
		}
	}
	return tokens
}

// organizationOf has the operator found an organization with a new admin, who
// logs in.
func organizationOf(t *testing.T, m *platform.Main, op *client, name, admin string) (string, *client, string) {
	t.Helper()
	c := newClient(t, m.URL())
	id := c.signUp(admin)
	r := expect(t, op.do("POST", "/v1/organizations", map[string]any{"name": name, "admin_account_id": id}), 201)
	return r.str("id"), c, id
}

// TestAccounts_A1_Lookalikes: a new user picks a name confusable with one taken.
func TestAccounts_A1_Lookalikes(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	mark := newClient(t, m.URL())
	mark.signUp("mark")
	newClient(t, m.URL()).signUp("Ian")
	for _, name := range []string{"rnark", "MARK", "m\u0430rk", "lan", "1an"} {
		r := newClient(t, m.URL()).do("POST", "/v1/accounts", map[string]string{"username": name, "email": "x@example.org", "password": pass})
		require.Equal(t, 409, r.Status, "A1 %q is confusable: %s", name, r.Raw)
		require.Equal(t, "conflict", r.code())
	}
	newClient(t, m.URL()).signUp("marco")
	mark.login(" MARK ", pass)
}

// TestResidents_A3_A5_A6 walks a landlord creating a resident's account with a
// welcome letter, the resident activating it, a lockout lifted by the landlord, and
// the email rules, with the refusals a new user would run into.
func TestResidents_A3_A5_A6(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	org, landlord, _ := organizationOf(t, m, op, "Woonstichting Zuid", "lotte")
	_, otherAdmin, _ := organizationOf(t, m, op, "Beheer Noord", "otto")
	member := newClient(t, m.URL())
	memberID := member.signUp("mirjam")
	expect(t, landlord.do("POST", "/v1/organizations/"+org+"/members", map[string]string{"account_id": memberID, "role": "member"}), 200)

	// A6: refusals first.
	require.Equal(t, "forbidden", member.do("POST", "/v1/organizations/"+org+"/accounts", map[string]any{"username": "bewoner.12"}).code(), "A6 a member is no admin")
	require.Equal(t, "not_found", otherAdmin.do("POST", "/v1/organizations/"+org+"/accounts", map[string]any{"username": "bewoner.12"}).code(), "A6 an admin of another organization")
	require.Equal(t, "conflict", landlord.do("POST", "/v1/organizations/"+org+"/accounts", map[string]any{"username": "Lotte"}).code(), "A1 applies")

	created := expect(t, landlord.do("POST", "/v1/organizations/"+org+"/accounts", map[string]any{"username": "bewoner.12", "email": "bewoner12@example.org"}), 201)
	resident := created.Body["account"].(map[string]any)
	residentID := resident["id"].(string)
	require.Equal(t, false, resident["activated"])
	require.Equal(t, org, resident["organization_id"])
	letterURL := created.str("letter_url")
	require.Equal(t, "/v1/accounts/"+residentID+"/letter", letterURL)
	require.Equal(t, "not_found", otherAdmin.do("GET", letterURL, nil).code(), "A6 only its creator sees the letter")
	letter := expect(t, landlord.do("GET", letterURL, nil), 200)
	require.Contains(t, letter.Header.Get("Content-Type"), "text/html")
	require.Contains(t, string(letter.Raw), "bewoner.12")
	code := regexp.MustCompile(`[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}`).FindString(string(letter.Raw))
	require.NotEmpty(t, code, "A6 the letter shows the code")
	members := expect(t, landlord.do("GET", "/v1/organizations/"+org+"/members", nil), 200)
	require.Contains(t, string(members.Raw), residentID, "A6 the resident is a member")

	// The resident activates and logs in.
	res := newClient(t, m.URL())
	r := res.do("POST", "/v1/sessions", map[string]string{"username": "bewoner.12", "password": pass})
	require.Equal(t, 401, r.Status, "A6 no login before activation")
	require.Equal(t, "invalid_input", res.do("POST", "/v1/activations", map[string]string{"activation_code": code, "password": "short"}).code())
	require.Equal(t, "not_found", res.do("POST", "/v1/activations", map[string]string{"activation_code": "2222-3333-4444-5555", "password": pass}).code())
	act := expect(t, res.do("POST", "/v1/activations", map[string]string{"activation_code": strings.ToLower(code), "password": pass}), 200)
	require.Equal(t, residentID, act.str("id"))
	require.Equal(t, "not_found", res.do("POST", "/v1/activations", map[string]string{"activation_code": code, "password": pass}).code(), "A6 single use")
	require.Equal(t, "not_found", landlord.do("GET", letterURL, nil).code(), "A6 the letter is gone once activated")
	res.login("bewoner.12", pass)
	me := expect(t, res.do("GET", "/v1/accounts/"+residentID, nil), 200)
	require.Equal(t, true, me.Body["activated"])
	require.Equal(t, "bewoner12@example.org", me.str("email"), "A5 the account sees its address")

	// A5: a resident changing their own email is refused; the landlord may.
	own := res.do("PUT", "/v1/accounts/"+residentID+"/email", map[string]string{"email": "mine@example.org"})
	require.Equal(t, 403, own.Status, "A5 %s", own.Raw)
	require.Equal(t, "forbidden", own.code())
	require.Equal(t, "not_found", member.do("PUT", "/v1/accounts/"+residentID+"/email", map[string]string{"email": "x@example.org"}).code(), "A5 a member of the organization is no admin")
	require.Equal(t, "not_found", otherAdmin.do("PUT", "/v1/accounts/"+residentID+"/email", map[string]string{"email": "x@example.org"}).code(), "A5 an admin elsewhere")
	require.Equal(t, "not_found", otherAdmin.do("GET", "/v1/accounts/"+residentID, nil).code(), "E2 nor see it")
	require.Equal(t, "invalid_input", landlord.do("PUT", "/v1/accounts/"+residentID+"/email", map[string]string{"email": "not an address"}).code())
	changed := expect(t, landlord.do("PUT", "/v1/accounts/"+residentID+"/email", map[string]string{"email": "nieuw@example.org"}), 200)
	require.Equal(t, "nieuw@example.org", changed.str("email"))
	expect(t, op.do("PUT", "/v1/accounts/"+residentID+"/email", map[string]string{"email": "via.operator@example.org"}), 200)

	// A3: a lockout, lifted by the landlord, not by a member or another admin.
	for range 4 {
		newClient(t, m.URL()).do("POST", "/v1/sessions", map[string]string{"username": "bewoner.12", "password": "wrong password!"})
	}
	locked := newClient(t, m.URL()).do("POST", "/v1/sessions", map[string]string{"username": "bewoner.12", "password": pass})
	require.Equal(t, 423, locked.Status, "A3 %s", locked.Raw)
	require.Equal(t, "not_found", member.do("POST", "/v1/accounts/"+residentID+"/unlock", nil).code(), "A3 a member acting as admin")
	require.Equal(t, "not_found", otherAdmin.do("POST", "/v1/accounts/"+residentID+"/unlock", nil).code(), "A3 an admin of another organization")
	require.Equal(t, "not_found", res.do("POST", "/v1/accounts/"+residentID+"/unlock", nil).code(), "A3 not the account itself")
	seen := expect(t, landlord.do("GET", "/v1/accounts/"+residentID, nil), 200)
	require.NotNil(t, seen.Body["locked_until"], "A3 the admin sees the lock")
	unlocked := expect(t, landlord.do("POST", "/v1/accounts/"+residentID+"/unlock", nil), 200)
	require.Nil(t, unlocked.Body["locked_until"])
	newClient(t, m.URL()).login("bewoner.12", pass)

	// A3: the operator unlocks anyone, at once.
	for range 4 {
		newClient(t, m.URL()).do("POST", "/v1/sessions", map[string]string{"username": "mirjam", "password": "wrong password!"})
	}
	require.Equal(t, 423, newClient(t, m.URL()).do("POST", "/v1/sessions", map[string]string{"username": "mirjam", "password": pass}).Status)
	expect(t, op.do("POST", "/v1/accounts/"+memberID+"/unlock", nil), 200)
	newClient(t, m.URL()).login("mirjam", pass)
}

// TestPasswordReset_A4 asks for a reset as a user who forgot their password: the
// mail's link sets a new one once and ends every session; a shared generic account
// gets no mail and is reset by its admin.
func TestPasswordReset_A4(t *testing.T) {
	dir := dataDir(t)
	m := startPlatform(t, dir)
	anna := newClient(t, m.URL())
	anna.signUp("anna")
	phone := newClient(t, m.URL())
	phone.login("anna", pass)

	accepted := expect(t, newClient(t, m.URL()).do("POST", "/v1/password-resets", map[string]string{"username_or_email": "anna"}), 202)
	unknown := expect(t, newClient(t, m.URL()).do("POST", "/v1/password-resets", map[string]string{"username_or_email": "nobody"}), 202)
	require.Equal(t, string(accepted.Raw), string(unknown.Raw), "A4 the same answer whether or not the account exists")
	byMail := expect(t, newClient(t, m.URL()).do("POST", "/v1/password-resets", map[string]string{"username_or_email": "ANNA@example.org"}), 202)
	require.Equal(t, string(accepted.Raw), string(byMail.Raw))
	require.Equal(t, "invalid_input", newClient(t, m.URL()).do("POST", "/v1/password-resets", map[string]string{"username_or_email": " "}).code())

	tokens := resetTokens(t, m, dir, "anna@example.org")
	require.Len(t, tokens, 2, "A4 one mail per request, to the linked address")
	guest := newClient(t, m.URL())
	require.Equal(t, "not_found", guest.do("POST", "/v1/password-resets/"+tokens[0], map[string]string{"new_password": "a brand new password"}).code(),
		"A4 a newer request replaces the older link")
	require.Equal(t, "invalid_input", guest.do("POST", "/v1/password-resets/"+tokens[1], map[string]string{"new_password": "short"}).code())
	expect(t, guest.do("POST", "/v1/password-resets/"+tokens[1], map[string]string{"new_password": "a brand new password"}), 204)
	require.Equal(t, "not_found", guest.do("POST", "/v1/password-resets/"+tokens[1], map[string]string{"new_password": "yet another password"}).code(), "A4 single use")
	require.Equal(t, "not_found", guest.do("POST", "/v1/password-resets/garbage", map[string]string{"new_password": "yet another password"}).code())
	for _, c := range []*client{anna, phone} {
		require.Equal(t, "unauthorized", c.do("GET", "/v1/me/sessions", nil).code(), "A4 a reset ends every session")
	}
	r := newClient(t, m.URL()).do("POST", "/v1/sessions", map[string]string{"username": "anna", "password": pass})
	require.Equal(t, 401, r.Status, "the old password is gone")
	anna.login("anna", "a brand new password")

	// The link expires after an hour.
	expect(t, guest.do("POST", "/v1/password-resets", map[string]string{"username_or_email": "anna"}), 202)
	tokens = resetTokens(t, m, dir, "anna@example.org")
	expect(t, guest.do("POST", "/v1/dev/clock", map[string]string{"advance": "61m"}), 200)
	require.Equal(t, "not_found", guest.do("POST", "/v1/password-resets/"+tokens[len(tokens)-1], map[string]string{"new_password": "too late password"}).code(), "A4 valid for one hour")

	// A shared generic account gets no mail; its admin issues a new code.
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	org, admin, adminID := organizationOf(t, m, op, "Kantoor BV", "karin")
	shared := expect(t, admin.do("POST", "/v1/organizations/"+org+"/accounts", map[string]any{"username": "receptie", "email": "receptie@example.org", "shared": true}), 201)
	sharedID := shared.Body["account"].(map[string]any)["id"].(string)
	require.Equal(t, true, shared.Body["account"].(map[string]any)["shared"])
	code := regexp.MustCompile(`[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}`).FindString(string(expect(t, admin.do("GET", shared.str("letter_url"), nil), 200).Raw))
	expect(t, guest.do("POST", "/v1/activations", map[string]string{"activation_code": code, "password": pass}), 200)
	desk := newClient(t, m.URL())
	desk.login("receptie", pass)
	noMail := expect(t, guest.do("POST", "/v1/password-resets", map[string]string{"username_or_email": "receptie"}), 202)
	require.Equal(t, string(accepted.Raw), string(noMail.Raw))
	require.Empty(t, resetTokens(t, m, dir, "receptie@example.org"), "A4 a shared generic account gets no mail")
	require.Equal(t, "not_found", desk.do("POST", "/v1/accounts/"+sharedID+"/activations", nil).code(), "only its admin resets it")
	issued := expect(t, admin.do("POST", "/v1/accounts/"+sharedID+"/activations", nil), 201)
	code = regexp.MustCompile(`[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}`).FindString(string(expect(t, admin.do("GET", issued.str("letter_url"), nil), 200).Raw))
	expect(t, guest.do("POST", "/v1/activations", map[string]string{"activation_code": code, "password": "the desk's new password"}), 200)
	require.Equal(t, "unauthorized", desk.do("GET", "/v1/me/sessions", nil).code(), "A4 the admin's reset ends every session")
	desk.login("receptie", "the desk's new password")
	require.Equal(t, "forbidden", admin.do("POST", "/v1/accounts/"+adminID+"/activations", nil).code(), "a self-made account resets by mail")
}

// TestPasswordResetEnumeration_A4 checks that a reset request, by username and by
// email, answers an existing and an unknown account alike: the same status and body every time, and about
// the same time. Timing on a shared 2-core machine is noisy, so the requests are
// interleaved and the medians of many compared, with a generous bound: what the
// test guards against is the unknown path skipping the work (a hash costs tens of
// milliseconds), not a millisecond of difference.
func TestPasswordResetEnumeration_A4(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	c := newClient(t, m.URL())
	expect(t, c.do("POST", "/v1/accounts", map[string]string{"username": "enid", "email": "enid@example.org", "password": pass}), 201)
	const tries = 15
	var body string
	// Known and unknown alternate, so that a change in the machine's load falls on both.
	for _, pair := range [][2]string{{"enid", "nobody"}, {"enid@example.org", "nobody@example.org"}} {
		var known, unknown []time.Duration
		for i := range 2 * tries {
			start := time.Now()
			r := c.do("POST", "/v1/password-resets", map[string]string{"username_or_email": pair[i%2]})
			took := time.Since(start)
			require.Equal(t, http.StatusAccepted, r.Status)
			if body == "" {
				body = string(r.Raw)
			}
			require.Equal(t, body, string(r.Raw), "A4 the same body for %s", pair[i%2])
			if i%2 == 0 {
				known = append(known, took)
			} else {
				unknown = append(unknown, took)
			}
		}
		mk, mu := median(known), median(unknown)
		t.Logf("%s: median known %v, unknown %v", pair[0], mk, mu)
		slow, fast := max(mk, mu), min(mk, mu)
		require.Less(t, slow, fast+fast/2+10*time.Millisecond, "A4 about the same time by %s: known %v, unknown %v", pair[0], mk, mu)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestSessions_A8: a user lists their sessions, ends one, and changes their
// password, which ends every other session and holds for every module.
func TestSessions_A8(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	laptop := newClient(t, m.URL())
	laptop.signUp("sam")
	phone := newClient(t, m.URL())
	phone.login("sam", pass)
	tablet := newClient(t, m.URL())
	tablet.login("sam", pass)
	list := expect(t, laptop.do("GET", "/v1/me/sessions", nil), 200)
	items := list.Body["items"].([]any)
	require.Len(t, items, 3)
	var current, other string
	for _, it := range items {
		s := it.(map[string]any)
		if s["current"] == true {
			current = s["id"].(string)
		} else {
			other = s["id"].(string)
		}
	}
	require.NotEmpty(t, current)
	require.Equal(t, "not_found", newClient(t, m.URL()).signUpAnd("stranger", func(c *client) response {
		return c.do("DELETE", "/v1/me/sessions/"+current, nil)
	}).code(), "E2 not another's session")
	expect(t, laptop.do("DELETE", "/v1/me/sessions/"+other, nil), 204)
	require.Equal(t, "not_found", laptop.do("DELETE", "/v1/me/sessions/"+other, nil).code())
	left := 0
	for _, c := range []*client{phone, tablet} {
		if c.do("GET", "/v1/me/sessions", nil).Status == 200 {
			left++
		}
	}
	require.Equal(t, 1, left, "the ended session's token no longer works")

	require.Equal(t, "forbidden", laptop.do("PUT", "/v1/me/password", map[string]string{"current_password": "not my password", "new_password": "a fresh password"}).code())
	require.Equal(t, "invalid_input", laptop.do("PUT", "/v1/me/password", map[string]string{"current_password": pass, "new_password": "short"}).code())
	expect(t, laptop.do("PUT", "/v1/me/password", map[string]string{"current_password": pass, "new_password": "a fresh password"}), 204)
	for _, c := range []*client{phone, tablet} {
		require.Equal(t, "unauthorized", c.do("GET", "/v1/me/sessions", nil).code(), "A8 a change ends every other session")
	}
	require.Len(t, expect(t, laptop.do("GET", "/v1/me/sessions", nil), 200).Body["items"], 1, "A8 and keeps this one")
	expect(t, laptop.do("GET", "/v1/locks", nil), 200) // the locks module takes the same session
	phone.login("sam", "a fresh password")
	expect(t, phone.do("GET", "/v1/organizations", nil), 200) // and the organizations module the new password
	expect(t, laptop.do("DELETE", "/v1/me/sessions/"+current, nil), 204)
	require.Equal(t, "unauthorized", laptop.do("GET", "/v1/me/sessions", nil).code(), "ending the current session logs out")
}

// signUpAnd signs c up as username and runs do as it.
func (c *client) signUpAnd(username string, do func(*client) response) response {
	c.t.Helper()
	c.signUp(username)
	return do(c)
}

// TestTrustedNetworks_A7: requests from an organization's trusted network read the
// organization, its members and its shared locks without a login, and nothing else;
// X-Forwarded-For counts only behind a proxy named in the configuration.
func TestTrustedNetworks_A7(t *testing.T) {
	m := startPlatform(t, dataDir(t))
	op := newClient(t, m.URL())
	op.login("operator", "operator-password-1")
	org, admin, _ := organizationOf(t, m, op, "Kantoor West", "wendy")
	other, _, _ := organizationOf(t, m, op, "Elders", "els")
	anon := newClient(t, m.URL())
	require.Equal(t, "unauthorized", anon.do("GET", "/v1/organizations/"+org, nil).code(), "A7 no trusted networks yet")
	require.Equal(t, "not_found", newClient(t, m.URL()).signUpAnd("vera", func(c *client) response {
		return c.do("PUT", "/v1/organizations/"+org+"/trusted-networks", map[string]any{"cidrs": []string{"127.0.0.0/8"}})
	}).code(), "A7 a stranger sets nothing")
	expect(t, admin.do("PUT", "/v1/organizations/"+org+"/trusted-networks", map[string]any{"cidrs": []string{"127.0.0.0/8"}}), 200)

	got := expect(t, anon.do("GET", "/v1/organizations/"+org, nil), 200)
	require.Equal(t, "Kantoor West", got.str("name"), "A7 read-only member access without a login")
	expect(t, anon.do("GET", "/v1/organizations/"+org+"/members", nil), 200)
	expect(t, anon.do("GET", "/v1/organizations/"+org+"/locks", nil), 200)
	require.Equal(t, "unauthorized", anon.do("GET", "/v1/organizations/"+other, nil).code(), "A7 only the organization that trusts the network")
	for _, call := range []struct{ method, path string }{
		{"GET", "/v1/organizations/" + org + "/access-requests"},
		{"PATCH", "/v1/organizations/" + org},
		{"POST", "/v1/organizations/" + org + "/members"},
		{"PUT", "/v1/organizations/" + org + "/trusted-networks"},
		{"POST", "/v1/organizations/" + org + "/invitations"},
		{"POST", "/v1/organizations/" + org + "/accounts"},
		{"GET", "/v1/organizations"},
		{"GET", "/v1/locks"},
	} {
		r := anon.do(call.method, call.path, map[string]any{})
		require.Equal(t, "unauthorized", r.code(), "A7 %s %s needs a login", call.method, call.path)
	}
	bad := anon.do("GET", "/v1/organizations/"+org, nil, "Authorization", "Bearer not-a-session")
	require.Equal(t, "unauthorized", bad.code(), "A7 a request with credentials is judged by them")

	// Only a remote network is trusted now: a spoofed X-Forwarded-For from the
	// loopback peer, which is no configured proxy, gets nothing.
	expect(t, admin.do("PUT", "/v1/organizations/"+org+"/trusted-networks", map[string]any{"cidrs": []string{"198.51.100.0/24"}}), 200)
	spoof := anon.do("GET", "/v1/organizations/"+org, nil, "X-Forwarded-For", "198.51.100.7")
	require.Equal(t, "unauthorized", spoof.code(), "A7 X-Forwarded-For is ignored without a trusted proxy")

	// Behind a configured proxy (here: the loopback peer) the header names the client.
	dir := dataDir(t)
	pm := startWith(t, dir, func(c *platform.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	pop := newClient(t, pm.URL())
	pop.login("operator", "operator-password-1")
	porg, padmin, _ := organizationOf(t, pm, pop, "Achter Proxy", "pim")
	expect(t, padmin.do("PUT", "/v1/organizations/"+porg+"/trusted-networks", map[string]any{"cidrs": []string{"198.51.100.0/24"}}), 200)
	panon := newClient(t, pm.URL())
	expect(t, panon.do("GET", "/v1/organizations/"+porg, nil, "X-Forwarded-For", "198.51.100.7"), 200)
	require.Equal(t, "unauthorized", panon.do("GET", "/v1/organizations/"+porg, nil, "X-Forwarded-For", "203.0.113.9").code(), "A7 the proxy's client is not in the network")
	require.Equal(t, "unauthorized", panon.do("GET", "/v1/organizations/"+porg, nil, "X-Forwarded-For", "198.51.100.7, 203.0.113.9").code(),
		"A7 a client's own entry left of the proxy's is not believed")
	require.Equal(t, "unauthorized", panon.do("GET", "/v1/organizations/"+porg, nil).code(), "A7 the proxy itself is not the client")
}

// exerciseAccounts runs every account operation of A3-A8 once successfully, for
// the conformance session (openapi_test.go), through client's validating
// transport.
func exerciseAccounts(t *testing.T, m *platform.Main, client func() *client) {
	t.Helper()
	op := client()
	op.login("operator", "operator-password-1")
	admin := client()
	adminID := admin.signUp("conrad")
	org := expect(t, op.do("POST", "/v1/organizations", map[string]any{"name": "Conformance BV", "admin_account_id": adminID}), 201).str("id")
	created := expect(t, admin.do("POST", "/v1/organizations/"+org+"/accounts", map[string]any{"username": "cora", "email": "cora@example.org", "shared": false}), 201)
	id := created.Body["account"].(map[string]any)["id"].(string)
	letter := expect(t, admin.do("GET", created.str("letter_url"), nil), 200)
	code := regexp.MustCompile(`[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}`).FindString(string(letter.Raw))
	cora := client()
	expect(t, cora.do("POST", "/v1/activations", map[string]string{"activation_code": code, "password": pass}), 200)
	require.Equal(t, "not_found", cora.do("POST", "/v1/activations", map[string]string{"activation_code": code, "password": pass}).code())
	cora.login("cora", pass)
	expect(t, cora.do("GET", "/v1/accounts/"+id, nil), 200)
	require.Equal(t, "forbidden", cora.do("PUT", "/v1/accounts/"+id+"/email", map[string]string{"email": "own@example.org"}).code(), "A5")
	expect(t, admin.do("PUT", "/v1/accounts/"+id+"/email", map[string]string{"email": "cora@example.net"}), 200)
	expect(t, admin.do("POST", "/v1/accounts/"+id+"/unlock", nil), 200)
	expect(t, admin.do("POST", "/v1/accounts/"+id+"/activations", nil, "Idempotency-Key", "conformance-activation"), 201)
	sessions := expect(t, cora.do("GET", "/v1/me/sessions", nil), 200)
	expect(t, cora.do("PUT", "/v1/me/password", map[string]string{"current_password": pass, "new_password": "cora's new password"}), 204)
	expect(t, cora.do("DELETE", "/v1/me/sessions/"+sessions.Body["items"].([]any)[0].(map[string]any)["id"].(string), nil), 204)
	expect(t, client().do("POST", "/v1/password-resets", map[string]string{"username_or_email": "cora@example.net"}, "Idempotency-Key", "conformance-reset"), 202)
	tokens := resetTokens(t, m, m.DataDir, "cora@example.net")
	require.Len(t, tokens, 1)
	expect(t, client().do("POST", "/v1/password-resets/"+tokens[0], map[string]string{"new_password": "cora's reset password"}), 204)
	require.Equal(t, "not_found", client().do("POST", "/v1/password-resets/"+tokens[0], map[string]string{"new_password": "cora's reset password"}).code())
	// A7: the organization's reads from its trusted network, without a login.
	expect(t, admin.do("PUT", "/v1/organizations/"+org+"/trusted-networks", map[string]any{"cidrs": []string{"127.0.0.1/32"}}), 200)
	anon := client()
	expect(t, anon.do("GET", "/v1/organizations/"+org, nil), 200)
	expect(t, anon.do("GET", "/v1/organizations/"+org+"/members", nil), 200)
	expect(t, anon.do("GET", "/v1/organizations/"+org+"/locks", nil), 200)
}

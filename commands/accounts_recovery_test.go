package commands_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/organization"
	"sleutel/infra/confusable"
	"sleutel/infra/readstore"
	"sleutel/projections"
)

// accountsWith returns account handlers on h's store that refuse look-alikes (A1).
func accountsWith(h *harness, lookalikes commands.Lookalikes) *commands.Accounts {
	return commands.NewAccounts(commands.AccountsConfig{Store: h.store, Registry: h.registry, Passwords: plainPasswords{h.secrets},
		UsernameKey: commands.DefaultUsernameKey, Lookalikes: lookalikes, Digest: digest, Secrets: h.secrets, Clock: h.clock, Rand: rand.Reader})
}

const pw = "correct horse battery"

func signUp(t *testing.T, a *commands.Accounts, username string) uuid.UUID {
	t.Helper()
	up, err := a.SignUp(t.Context(), commands.Meta{}, commands.SignUp{Username: username, Email: "x@example.org", Password: pw})
	require.NoError(t, err, "SignUp(%q)", username)
	return up.AccountID
}

func TestSignUp_A1_Lookalikes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	account.RegisterEvents(h.registry)
	a := accountsWith(h, confusable.Keys)
	ctx := t.Context()
	for _, name := range []string{"mark", "Ian", "anna", "jo.o", "pau1"} {
		signUp(t, a, name)
	}
	for _, c := range []struct{ name, why string }{
		{"rnark", "rn/m"}, {"MARK", "case"}, {"lan", "I/l"}, {"1an", "1/I"}, {"\u0430nn\u0430", "Cyrillic а"},
		{"jo.0", "o/0"}, {"JO.O", "O/o"}, {"paul", "1/l"}, {"pauI", "I/1"}, {"\u039Cark", "Greek capital Mu"},
	} {
		_, err := a.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: c.name, Email: "y@example.org", Password: pw})
		require.ErrorIs(t, err, account.ErrUsernameTaken, "A1 %q is confusable (%s)", c.name, c.why)
	}
	signUp(t, a, "anne")
	_, err := a.Login(ctx, commands.Meta{}, "rnark", pw)
	require.ErrorIs(t, err, account.ErrWrongCredentials, "A1 a look-alike never logs in as the account")
	_, err = a.Login(ctx, commands.Meta{}, " MARK ", pw)
	require.NoError(t, err, "A1 matched trimmed and case-insensitively")
}

// TestSignUp_A1_LookalikeRace signs up confusable names at once: exactly one is
// registered, and the losers leave no look-alike key behind.
func TestSignUp_A1_LookalikeRace(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	account.RegisterEvents(h.registry)
	a := accountsWith(h, confusable.Keys)
	names := []string{"mark", "rnark", "Mark", "\uFF4Dark", "MARK", "\u039Cark", "rnArk", "marK"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []uuid.UUID
	start := make(chan struct{})
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			up, err := a.SignUp(t.Context(), commands.Meta{}, commands.SignUp{Username: n, Email: "z@example.org", Password: pw})
			if err == nil {
				mu.Lock()
				winners = append(winners, up.AccountID)
				mu.Unlock()
				return
			}
			require.Contains(t, []string{domain.EConflict}, domain.ErrorCode(err), "SignUp(%q): %v", n, err)
		}()
	}
	close(start)
	wg.Wait()
	require.Len(t, winners, 1, "A1 of confusable names signed up at once, one wins")
	for _, n := range names {
		for _, k := range confusable.Keys(n) {
			recs, err := h.store.ReadStream(t.Context(), account.LookalikeStream(k), 0, 1000)
			require.NoError(t, err)
			r := account.RehydrateReservation(envelopes(t, h, recs))
			if holder, taken := r.Holder(); taken {
				require.Equal(t, winners[0], holder, "A1 key %q is held by the winner or by no one", k)
			}
		}
	}
}

func envelopes(t *testing.T, h *harness, recs []es.Record) []es.Event {
	t.Helper()
	out := make([]es.Event, len(recs))
	for i, rec := range recs {
		env, err := h.registry.Envelope(rec)
		require.NoError(t, err)
		out[i] = env.Event
	}
	return out
}

// TestGuardUsername_A1_Migration: accounts made before look-alikes were refused
// keep logging in by username; once the process manager has given them their
// look-alike keys, new look-alikes are refused; two old look-alikes both keep
// working.
func TestGuardUsername_A1_Migration(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	account.RegisterEvents(h.registry)
	before := accountsWith(h, nil)
	mark := signUp(t, before, "mark")
	rnark := signUp(t, before, "rnark") // allowed back then
	after := accountsWith(h, confusable.Keys)
	ctx := t.Context()
	for _, id := range []uuid.UUID{mark, rnark, mark} { // the second mark: a redelivery
		require.NoError(t, after.GuardUsername(ctx, id))
	}
	_, err := after.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: "MARK", Email: "m@example.org", Password: pw})
	require.ErrorIs(t, err, account.ErrUsernameTaken)
	_, err = after.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: "rn.ark", Email: "m@example.org", Password: pw})
	require.NoError(t, err, "a name confusable with neither is still free")
	_, err = after.SignUp(ctx, commands.Meta{}, commands.SignUp{Username: "\uFF4Dark", Email: "m@example.org", Password: pw})
	require.ErrorIs(t, err, account.ErrUsernameTaken, "A1 refused once the old account holds its keys")
	for _, name := range []string{"mark", "rnark"} {
		_, err := after.Login(ctx, commands.Meta{}, name, pw)
		require.NoError(t, err, "old account %q still logs in by username", name)
	}
}

// recoveryHarness has accounts, organizations and the account index.
type recoveryHarness struct {
	*harness
	accounts *commands.Accounts
	orgs     *commands.Organizations
	admin    *commands.AccountAdmin
	index    *projections.AccountIndex
	kv       *readstore.Store
	members  *memberships
}

// memberships answers from the organization aggregates of the test.
type memberships struct {
	orgs *commands.Organizations
	mu   sync.Mutex
	ids  []uuid.UUID
}

func (m *memberships) MembershipsOf(ctx context.Context, acc uuid.UUID) (map[uuid.UUID]organization.Role, error) {
	m.mu.Lock()
	ids := append([]uuid.UUID(nil), m.ids...)
	m.mu.Unlock()
	out := map[uuid.UUID]organization.Role{}
	for _, id := range ids {
		r, ok, err := m.orgs.Role(ctx, id, acc)
		if err != nil {
			return nil, err
		}
		if ok {
			out[id] = r
		}
	}
	return out, nil
}

type noDomains struct{}

func (noDomains) ByDomain(context.Context, string) ([]uuid.UUID, error) { return nil, nil }

func newRecoveryHarness(t *testing.T) *recoveryHarness {
	t.Helper()
	h := newHarness(t)
	account.RegisterEvents(h.registry)
	organization.RegisterEvents(h.registry)
	code.RegisterEvents(h.registry)
	kv, err := readstore.Open(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { kv.Close() })
	r := &recoveryHarness{harness: h, kv: kv, index: projections.NewAccountIndex(kv)}
	r.accounts = accountsWith(h, confusable.Keys)
	codes := commands.NewCodes(h.store, h.registry, h.locks.LockRepository(), h.secrets, h.clock, rand.Reader)
	r.orgs = commands.NewOrganizations(h.store, h.registry, r.accounts, h.locks, codes, noDomains{}, h.secrets, digest, h.clock)
	r.members = &memberships{orgs: r.orgs}
	r.admin = commands.NewAccountAdmin(r.accounts, r.orgs, r.members, r.index)
	return r
}

// project feeds the whole log to the account index (it skips what it has seen).
func (r *recoveryHarness) project(t *testing.T) {
	t.Helper()
	recs, err := r.store.ReadAll(t.Context(), es.Position{}, 100_000)
	require.NoError(t, err)
	for _, rec := range recs {
		env, err := r.registry.Envelope(rec)
		require.NoError(t, err)
		if projections.FilterOf(r.index).Match(env.Stream, env.Type) {
			require.NoError(t, r.index.Handle(t.Context(), env))
		}
	}
}

// organization founds an organization (by the operator) with admin as its admin.
func (r *recoveryHarness) organization(t *testing.T, operator, admin uuid.UUID) uuid.UUID {
	t.Helper()
	id, _, err := r.orgs.CreateOrganization(t.Context(), operator, true, commands.Meta{}, "Woonstichting", admin)
	require.NoError(t, err)
	r.members.mu.Lock()
	r.members.ids = append(r.members.ids, id)
	r.members.mu.Unlock()
	return id
}

// accountEvents returns the types of the events of an account.
func (r *recoveryHarness) accountEvents(t *testing.T, id uuid.UUID) []string {
	return r.stored(t, "account-"+id.String())
}

func TestPasswordReset_A4(t *testing.T) {
	t.Parallel()
	r := newRecoveryHarness(t)
	ctx := t.Context()
	anna := signUp(t, r.accounts, "anna")
	in, err := r.accounts.Login(ctx, commands.Meta{}, "anna", pw)
	require.NoError(t, err)
	r.project(t)

	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, "nobody", r.index), "A4 an unknown name gets the same answer")
	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, "nobody@example.org", r.index))
	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, " ANNA ", r.index))
	recs, err := r.store.ReadStream(ctx, "account-"+anna.String(), 0, 100)
	require.NoError(t, err)
	last := envelopes(t, r.harness, recs[len(recs)-1:])[0]
	req, ok := last.(account.PasswordResetRequested)
	require.True(t, ok, "A4 the request is recorded: %T", last)
	require.Equal(t, "x@example.org", req.Email)
	require.Equal(t, r.clock.Now().Add(time.Hour), req.ExpiresAt, "A4 valid for one hour")
	token := commands.PasswordResetToken(r.secrets, anna, req.ResetID)
	require.Equal(t, digest(token), req.TokenDigest, "A4 only the token's digest is stored")

	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, "X@EXAMPLE.ORG", r.index), "A4 by email, any case")
	require.Equal(t, account.PasswordResetRequestedType, r.accountEvents(t, anna)[len(r.accountEvents(t, anna))-1])
	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, token, "a new password!")
	require.ErrorIs(t, err, account.ErrResetUnusable, "A4 a newer request replaces the older link")

	recs, err = r.store.ReadStream(ctx, "account-"+anna.String(), 0, 100)
	require.NoError(t, err)
	req = envelopes(t, r.harness, recs[len(recs)-1:])[0].(account.PasswordResetRequested)
	token = commands.PasswordResetToken(r.secrets, anna, req.ResetID)
	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, token, "short")
	require.ErrorIs(t, err, account.ErrPasswordLength)
	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, token, "a new password!")
	require.NoError(t, err)
	events := r.accountEvents(t, anna)
	require.Equal(t, []string{account.PasswordSetType, account.SessionEndedType}, events[len(events)-2:], "A4 the reset ends every session")
	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, token, "another password!")
	require.ErrorIs(t, err, account.ErrResetUnusable, "A4 the link works once")
	_, err = r.accounts.Login(ctx, commands.Meta{}, "anna", "a new password!")
	require.NoError(t, err)
	sessions, err := r.accounts.Sessions(ctx, anna)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.NotEqual(t, in.AccountID, sessions[0].ID)

	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, "not-a-token", "a new password!")
	require.ErrorIs(t, err, account.ErrResetUnusable)
	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, commands.PasswordResetToken(r.secrets, uuid.New(), uuid.New()), "a new password!")
	require.ErrorIs(t, err, account.ErrResetUnusable)

	r.clock.advance(2 * time.Hour)
	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, "anna", r.index))
	r.clock.advance(61 * time.Minute)
	recs, err = r.store.ReadStream(ctx, "account-"+anna.String(), 0, 100)
	require.NoError(t, err)
	req = envelopes(t, r.harness, recs[len(recs)-1:])[0].(account.PasswordResetRequested)
	_, err = r.accounts.ResetPassword(ctx, commands.Meta{}, commands.PasswordResetToken(r.secrets, anna, req.ResetID), "a new password!")
	require.ErrorIs(t, err, account.ErrResetUnusable, "A4 the link expires after an hour")
}

func TestChangePassword_A8(t *testing.T) {
	t.Parallel()
	r := newRecoveryHarness(t)
	ctx := t.Context()
	anna := signUp(t, r.accounts, "anna")
	first, err := r.accounts.Login(ctx, commands.Meta{}, "anna", pw)
	require.NoError(t, err)
	_, err = r.accounts.Login(ctx, commands.Meta{}, "anna", pw)
	require.NoError(t, err)
	sessions, err := r.accounts.Sessions(ctx, anna)
	require.NoError(t, err)
	require.Len(t, sessions, 2)
	current := sessions[0].ID
	_ = first

	_, err = r.accounts.ChangePassword(ctx, commands.Meta{}, anna, current, "wrong password!", "a new password!")
	require.ErrorIs(t, err, commands.ErrWrongPassword)
	_, err = r.accounts.ChangePassword(ctx, commands.Meta{}, anna, current, pw, "short")
	require.ErrorIs(t, err, account.ErrPasswordLength)
	_, err = r.accounts.ChangePassword(ctx, commands.Meta{}, anna, current, pw, "a new password!")
	require.NoError(t, err)
	sessions, err = r.accounts.Sessions(ctx, anna)
	require.NoError(t, err)
	require.Len(t, sessions, 1, "A8 a change ends the other sessions")
	require.Equal(t, current, sessions[0].ID, "A8 and keeps the one it was made in")
	_, err = r.accounts.Login(ctx, commands.Meta{}, "anna", pw)
	require.ErrorIs(t, err, account.ErrWrongCredentials)
	_, err = r.accounts.Login(ctx, commands.Meta{}, "anna", "a new password!")
	require.NoError(t, err, "A8 the new password holds")

	_, err = r.accounts.EndSession(ctx, commands.Meta{}, anna, current)
	require.NoError(t, err)
	_, err = r.accounts.EndSession(ctx, commands.Meta{}, anna, current)
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err), "an ended session is gone")
	_, err = r.accounts.EndSession(ctx, commands.Meta{}, anna, uuid.New())
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err))
}

func TestAccountAdmin_A3_A5_A6(t *testing.T) {
	t.Parallel()
	r := newRecoveryHarness(t)
	ctx := t.Context()
	operator := signUp(t, r.accounts, "operator")
	landlord := signUp(t, r.accounts, "landlord")
	other := signUp(t, r.accounts, "other.admin")
	stranger := signUp(t, r.accounts, "stranger")
	org := r.organization(t, operator, landlord)
	otherOrg := r.organization(t, operator, other)
	op := commands.Caller{ID: operator, Operator: true}

	// A6: the landlord creates a resident with a welcome letter.
	_, err := r.admin.CreateResident(ctx, other, commands.Meta{}, org, commands.Resident{Username: "bewoner.1"})
	require.ErrorIs(t, err, organization.ErrNotFound, "an admin of another organization is no member here")
	_, err = r.orgs.AddMember(ctx, landlord, org, stranger, organization.RoleMember, commands.Meta{})
	require.NoError(t, err)
	_, err = r.admin.CreateResident(ctx, stranger, commands.Meta{}, org, commands.Resident{Username: "bewoner.1"})
	require.ErrorIs(t, err, organization.ErrNotAdmin, "a member is no admin")
	created, err := r.admin.CreateResident(ctx, landlord, meta(landlord, "k1"), org, commands.Resident{Username: "bewoner.1", Email: "bewoner@example.org"})
	require.NoError(t, err)
	again, err := r.admin.CreateResident(ctx, landlord, meta(landlord, "k1"), org, commands.Resident{Username: "bewoner.1", Email: "bewoner@example.org"})
	require.NoError(t, err, "a retry answers with the same account")
	require.Equal(t, created.AccountID, again.AccountID)
	_, err = r.admin.CreateResident(ctx, landlord, commands.Meta{}, org, commands.Resident{Username: "bewoner.I"})
	require.ErrorIs(t, err, account.ErrUsernameTaken, "A1 applies to residents")
	role, ok, err := r.orgs.Role(ctx, org, created.AccountID)
	require.NoError(t, err)
	require.True(t, ok, "A6 the resident becomes a member")
	require.Equal(t, organization.RoleMember, role)

	_, err = r.admin.Letter(ctx, other, created.AccountID)
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err), "A6 only the creator sees the letter")
	letter, err := r.admin.Letter(ctx, landlord, created.AccountID)
	require.NoError(t, err)
	require.Equal(t, "bewoner.1", letter.Username)
	require.Len(t, letter.Code, 19, "four groups of four")
	_, err = r.accounts.Login(ctx, commands.Meta{}, "bewoner.1", pw)
	require.ErrorIs(t, err, account.ErrWrongCredentials, "A6 no login before activation")

	r.project(t)
	_, err = r.admin.Activate(ctx, commands.Meta{}, "AAAA-AAAA-AAAA-AAAA", pw)
	require.ErrorIs(t, err, account.ErrActivationUnusable)
	act, err := r.admin.Activate(ctx, commands.Meta{}, " "+letter.Code[:9]+" "+letter.Code[10:]+" ", pw)
	require.NoError(t, err, "A6 spaces and case do not matter")
	require.Equal(t, created.AccountID, act.AccountID)
	require.Contains(t, r.accountEvents(t, created.AccountID), account.PasswordSetType)
	_, err = r.admin.Activate(ctx, commands.Meta{}, letter.Code, "another password")
	require.ErrorIs(t, err, account.ErrActivationUnusable, "A6 single use")
	_, err = r.admin.Letter(ctx, landlord, created.AccountID)
	require.Equal(t, domain.ENotFound, domain.ErrorCode(err), "A6 the letter is gone once activated")
	_, err = r.accounts.Login(ctx, commands.Meta{}, "bewoner.1", pw)
	require.NoError(t, err)

	// A3: unlock by an admin of the account's organization or the operator.
	for range 4 {
		_, _ = r.accounts.Login(ctx, commands.Meta{}, "bewoner.1", "wrong password!")
	}
	_, err = r.accounts.Login(ctx, commands.Meta{}, "bewoner.1", pw)
	require.ErrorIs(t, err, account.ErrLockedOut)
	_, err = r.admin.Unlock(ctx, commands.Caller{ID: other}, commands.Meta{}, created.AccountID)
	require.ErrorIs(t, err, account.ErrNotFound, "A3 an admin of another organization may not")
	_, err = r.admin.Unlock(ctx, commands.Caller{ID: stranger}, commands.Meta{}, created.AccountID)
	require.ErrorIs(t, err, account.ErrNotFound, "A3 a member may not")
	_, err = r.admin.Unlock(ctx, commands.Caller{ID: landlord}, commands.Meta{}, created.AccountID)
	require.NoError(t, err)
	_, err = r.accounts.Login(ctx, commands.Meta{}, "bewoner.1", pw)
	require.NoError(t, err, "A3 unlocked at once")
	_, err = r.admin.Unlock(ctx, op, commands.Meta{}, stranger)
	require.NoError(t, err, "A3 the operator may, locked or not")

	// A5: email.
	_, err = r.admin.ChangeEmail(ctx, commands.Caller{ID: created.AccountID}, commands.Meta{}, created.AccountID, "mine@example.org")
	require.ErrorIs(t, err, account.ErrOwnEmail, "A5 the account itself is refused")
	_, err = r.admin.ChangeEmail(ctx, commands.Caller{ID: other}, commands.Meta{}, created.AccountID, "x@example.org")
	require.ErrorIs(t, err, account.ErrNotFound)
	_, err = r.admin.ChangeEmail(ctx, commands.Caller{ID: landlord}, commands.Meta{}, created.AccountID, "nieuw@example.org")
	require.NoError(t, err)
	info, err := r.admin.Account(ctx, commands.Caller{ID: created.AccountID}, created.AccountID)
	require.NoError(t, err, "A5 the account sees itself")
	require.Equal(t, "nieuw@example.org", info.Email)
	require.Equal(t, org, info.OrganizationID)
	require.True(t, info.Activated)
	_, err = r.admin.Account(ctx, commands.Caller{ID: other}, created.AccountID)
	require.ErrorIs(t, err, account.ErrNotFound, "E2 a stranger does not see it")
	_, err = r.admin.Account(ctx, op, created.AccountID)
	require.NoError(t, err)

	// A5: the reseller that created the account keeps managing it after the
	// resident moved to a landlord's organization, whose admin manages it too.
	_, err = r.orgs.AddMember(ctx, other, otherOrg, created.AccountID, organization.RoleMember, commands.Meta{})
	require.NoError(t, err)
	_, err = r.orgs.Update(ctx, org, commands.Meta{}, func(o *organization.Organization, now time.Time) error {
		return o.RemoveMember(landlord, created.AccountID, now)
	})
	require.NoError(t, err)
	_, err = r.admin.ChangeEmail(ctx, commands.Caller{ID: landlord}, commands.Meta{}, created.AccountID, "via.reseller@example.org")
	require.NoError(t, err, "A5 the organization that created it")
	_, err = r.admin.ChangeEmail(ctx, commands.Caller{ID: other}, commands.Meta{}, created.AccountID, "via.landlord@example.org")
	require.NoError(t, err, "A5 the admin of its organization")

	// A4: a shared account gets no mail; its admin issues a new code instead.
	shared, err := r.admin.CreateResident(ctx, landlord, commands.Meta{}, org, commands.Resident{Username: "receptie", Email: "receptie@example.org", Shared: true})
	require.NoError(t, err)
	r.project(t)
	letter, err = r.admin.Letter(ctx, landlord, shared.AccountID)
	require.NoError(t, err)
	_, err = r.admin.Activate(ctx, commands.Meta{}, letter.Code, pw)
	require.NoError(t, err)
	before := len(r.accountEvents(t, shared.AccountID))
	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, "receptie", r.index))
	require.NoError(t, r.accounts.RequestPasswordReset(ctx, commands.Meta{}, "receptie@example.org", r.index))
	require.Len(t, r.accountEvents(t, shared.AccountID), before, "A4 a shared generic account gets no mail")
	_, err = r.admin.IssueActivation(ctx, commands.Caller{ID: other}, commands.Meta{}, shared.AccountID)
	require.ErrorIs(t, err, account.ErrNotFound)
	_, err = r.admin.IssueActivation(ctx, commands.Caller{ID: landlord}, commands.Meta{}, shared.AccountID)
	require.NoError(t, err, "A4 the admin resets it")
	_, err = r.admin.IssueActivation(ctx, op, commands.Meta{}, stranger)
	require.ErrorIs(t, err, commands.ErrNotResident, "a self-made account resets by mail")
	r.project(t)
	letter, err = r.admin.Letter(ctx, landlord, shared.AccountID)
	require.NoError(t, err)
	_, err = r.admin.Activate(ctx, commands.Meta{}, letter.Code, "the reset password")
	require.NoError(t, err)
	_, err = r.accounts.Login(ctx, commands.Meta{}, "receptie", "the reset password")
	require.NoError(t, err)
}

func TestActivationCode(t *testing.T) {
	t.Parallel()
	s := hmacSecrets{key: []byte("k")}
	id := uuid.New()
	c := commands.ActivationCode(s, id)
	require.Len(t, c, 16)
	require.Equal(t, c, commands.ActivationCode(s, id), "derived, so the letter can be shown again")
	require.NotEqual(t, c, commands.ActivationCode(s, uuid.New()))
	n, ok := commands.NormalizeActivationCode(commands.FormatActivationCode(c))
	require.True(t, ok)
	require.Equal(t, c, n)
	for _, bad := range []string{"", "ABCD", "0000-0000-0000-0000", "ABCD-EFGH-JKMN-PQRST"} {
		_, ok := commands.NormalizeActivationCode(bad)
		require.False(t, ok, "NormalizeActivationCode(%q)", bad)
	}
}

package account_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

const newHash = "$argon2id$v=19$m=65536,t=2,p=2$bmV3c2FsdA$bmV3aGFzaG5ld2hhc2g"

// accountCase is a given/when/then case on one account.
type accountCase struct {
	name     string
	given    []es.Event
	when     func(*account.Account) error
	then     []es.Event
	wantErr  error
	wantCode string
}

func runAccountCases(t *testing.T, tests []accountCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := account.Rehydrate(tt.given) // given
			err := tt.when(a)                // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err), "error: %v", err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			require.Equal(t, tt.then, a.Changes()) // then
		})
	}
}

func TestAccount_A4_PasswordReset(t *testing.T) {
	t.Parallel()
	id, org, admin := uuid.New(), uuid.New(), uuid.New()
	s1, s2 := uuid.New(), uuid.New()
	registered := account.Registered{AccountID: id, Username: "anna", Email: "anna@example.nl", PasswordHash: hash, RegisteredAt: t0}
	shared := account.Registered{AccountID: id, Username: "receptie", PasswordHash: hash, CreatedBy: admin, OrganizationID: org, Shared: true, RegisteredAt: t0}
	noEmail := account.Registered{AccountID: id, Username: "piet", PasswordHash: hash, CreatedBy: admin, OrganizationID: org, RegisteredAt: t0}
	started := func(sid uuid.UUID) account.SessionStarted {
		return account.SessionStarted{SessionID: sid, TokenDigest: "d-" + sid.String(), ExpiresAt: t0.Add(24 * time.Hour), StartedAt: t0}
	}
	t1 := t0.Add(time.Minute)
	reset := account.Secret{ID: uuid.New(), Digest: "reset-digest", ExpiresAt: t1.Add(account.ResetTTL)}
	requested := account.PasswordResetRequested{ResetID: reset.ID, TokenDigest: reset.Digest, Email: "anna@example.nl", ExpiresAt: reset.ExpiresAt, RequestedAt: t1}
	request := func(s account.Secret) func(*account.Account) error {
		return func(a *account.Account) error { return a.RequestPasswordReset(s, t1) }
	}
	resetWith := func(digest string, at time.Time) func(*account.Account) error {
		return func(a *account.Account) error { return a.ResetPassword(digest, newHash, at) }
	}
	t2 := t1.Add(30 * time.Minute)
	set := account.PasswordSet{PasswordHash: newHash, Via: account.ViaReset, SetAt: t2}
	runAccountCases(t, []accountCase{
		{"A4 a request records the link's digest, the address and an expiry of one hour", []es.Event{registered}, request(reset), []es.Event{requested}, nil, ""},
		{"A4 a shared generic account gets no mail", []es.Event{shared}, request(reset), nil, account.ErrNoResetMail, domain.EForbidden},
		{"A4 an account without an email gets no mail", []es.Event{noEmail}, request(reset), nil, account.ErrNoResetMail, domain.EForbidden},
		{"A4 no account, no request", nil, request(reset), nil, account.ErrNotFound, domain.ENotFound},
		{"A4 a request needs a secret", []es.Event{registered}, request(account.Secret{}), nil, nil, domain.EInvalid},
		{"A4 the link sets the password and ends every session", []es.Event{registered, started(s1), started(s2), requested}, resetWith(reset.Digest, t2),
			[]es.Event{set, account.SessionEnded{SessionID: s1, EndedAt: t2}, account.SessionEnded{SessionID: s2, EndedAt: t2}}, nil, ""},
		{"A4 the link works once", []es.Event{registered, requested, set}, resetWith(reset.Digest, t2), nil, account.ErrResetUnusable, domain.ENotFound},
		{"A4 the link expires after one hour", []es.Event{registered, requested}, resetWith(reset.Digest, reset.ExpiresAt), nil, account.ErrResetUnusable, domain.ENotFound},
		{"A4 a wrong token is refused", []es.Event{registered, requested}, resetWith("other", t2), nil, account.ErrResetUnusable, domain.ENotFound},
		{"A4 a newer request replaces the older link", []es.Event{registered, requested,
			account.PasswordResetRequested{ResetID: uuid.New(), TokenDigest: "newer", Email: "anna@example.nl", ExpiresAt: reset.ExpiresAt, RequestedAt: t1}},
			resetWith(reset.Digest, t2), nil, account.ErrResetUnusable, domain.ENotFound},
		{"A4 a password change voids a pending link", []es.Event{registered, requested, account.PasswordSet{PasswordHash: hash, Via: account.ViaChange, SetAt: t1}},
			resetWith(reset.Digest, t2), nil, account.ErrResetUnusable, domain.ENotFound},
	})
}

func TestAccount_A8_ChangePassword(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	current, other, expired := uuid.New(), uuid.New(), uuid.New()
	registered := account.Registered{AccountID: id, Username: "anna", Email: "anna@example.nl", PasswordHash: hash, RegisteredAt: t0}
	start := func(sid uuid.UUID, at time.Time) account.SessionStarted {
		return account.SessionStarted{SessionID: sid, TokenDigest: "d-" + sid.String(), ExpiresAt: at.Add(time.Hour), StartedAt: at}
	}
	t1 := t0.Add(90 * time.Minute)
	change := func(a *account.Account) error { return a.ChangePassword(newHash, current, t1) }
	runAccountCases(t, []accountCase{
		{"A8 a change keeps the session it was made in and ends the others", []es.Event{registered, start(expired, t0), start(other, t0.Add(time.Hour)), start(current, t0.Add(time.Hour))}, change,
			[]es.Event{account.PasswordSet{PasswordHash: newHash, Via: account.ViaChange, SetAt: t1}, account.SessionEnded{SessionID: other, EndedAt: t1}}, nil, ""},
		{"A8 no account, no change", nil, change, nil, account.ErrNotFound, domain.ENotFound},
		{"A2 a change needs a hash", []es.Event{registered}, func(a *account.Account) error { return a.ChangePassword("", current, t1) }, nil, nil, domain.EInvalid},
	})
	a := account.Rehydrate([]es.Event{registered, account.PasswordSet{PasswordHash: newHash, Via: account.ViaChange, SetAt: t1}})
	require.Equal(t, newHash, a.PasswordHash(), "A8 the new password holds for every module")
}

func TestAccount_A5_ChangeEmail(t *testing.T) {
	t.Parallel()
	id, admin := uuid.New(), uuid.New()
	registered := account.Registered{AccountID: id, Username: "anna", Email: "anna@example.nl", PasswordHash: hash, RegisteredAt: t0}
	change := func(by uuid.UUID, email string) func(*account.Account) error {
		return func(a *account.Account) error { return a.ChangeEmail(by, email, t0) }
	}
	runAccountCases(t, []accountCase{
		{"A5 an admin links another address", []es.Event{registered}, change(admin, " Anna@Woning.NL "),
			[]es.Event{account.EmailChanged{Email: "Anna@woning.nl", ChangedBy: admin, ChangedAt: t0}}, nil, ""},
		{"A5 the account itself is refused", []es.Event{registered}, change(id, "anna@elders.nl"), nil, account.ErrOwnEmail, domain.EForbidden},
		{"A5 a bad address is refused", []es.Event{registered}, change(admin, "anna"), nil, account.ErrEmailInvalid, domain.EInvalid},
		{"A5 the same address records nothing", []es.Event{registered}, change(admin, "anna@example.nl"), nil, nil, ""},
		{"A5 no account", nil, change(admin, "anna@example.nl"), nil, account.ErrNotFound, domain.ENotFound},
	})
}

func TestAccount_A6_Activation(t *testing.T) {
	t.Parallel()
	id, org, admin, sid := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	act := account.Secret{ID: uuid.New(), Digest: "code-digest", ExpiresAt: t0.Add(account.ActivationTTL)}
	registered := account.Registered{AccountID: id, Username: "bewoner.12", Email: "", CreatedBy: admin, OrganizationID: org, RegisteredAt: t0}
	issued := account.ActivationIssued{ActivationID: act.ID, CodeDigest: act.Digest, IssuedBy: admin, ExpiresAt: act.ExpiresAt, IssuedAt: t0}

	a, err := account.RegisterResident(id, " bewoner.12 ", "", false, admin, org, act, t0)
	require.NoError(t, err)
	require.Equal(t, []es.Event{registered, issued}, a.Changes(), "A6 a resident's account starts with an activation code and no password")
	require.False(t, a.Activated())
	pendingID, _, issuedBy, ok := a.PendingActivation(t0)
	require.True(t, ok)
	require.Equal(t, act.ID, pendingID)
	require.Equal(t, admin, issuedBy)
	_, err = account.RegisterResident(id, "bewoner.12", "", false, admin, uuid.Nil, act, t0)
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "A6 a resident's account belongs to an organization")
	_, err = account.RegisterResident(id, "bewoner.12", "not-an-email", false, admin, org, act, t0)
	require.ErrorIs(t, err, account.ErrEmailInvalid)

	t1 := t0.Add(48 * time.Hour)
	activate := func(digest string, at time.Time) func(*account.Account) error {
		return func(a *account.Account) error { return a.Activate(digest, newHash, at) }
	}
	set := account.PasswordSet{PasswordHash: newHash, Via: account.ViaActivation, SetAt: t1}
	session := account.SessionStarted{SessionID: sid, TokenDigest: "d", ExpiresAt: t1.Add(time.Hour), StartedAt: t1.Add(-time.Minute)}
	again := account.Secret{ID: uuid.New(), Digest: "again", ExpiresAt: t1.Add(account.ActivationTTL)}
	runAccountCases(t, []accountCase{
		{"A6 the code sets the first password", []es.Event{registered, issued}, activate(act.Digest, t1), []es.Event{set}, nil, ""},
		{"A6 the code works once", []es.Event{registered, issued, set}, activate(act.Digest, t1), nil, account.ErrActivationUnusable, domain.ENotFound},
		{"A6 a wrong code is refused", []es.Event{registered, issued}, activate("nope", t1), nil, account.ErrActivationUnusable, domain.ENotFound},
		{"A6 the code expires", []es.Event{registered, issued}, activate(act.Digest, act.ExpiresAt), nil, account.ErrActivationUnusable, domain.ENotFound},
		{"A4 an admin's new code resets a shared account", []es.Event{registered, issued, set},
			func(a *account.Account) error { return a.IssueActivation(admin, again, t1) },
			[]es.Event{account.ActivationIssued{ActivationID: again.ID, CodeDigest: again.Digest, IssuedBy: admin, ExpiresAt: again.ExpiresAt, IssuedAt: t1}}, nil, ""},
		{"A4 using the new code ends every session", []es.Event{registered, issued, set, session,
			account.ActivationIssued{ActivationID: again.ID, CodeDigest: again.Digest, IssuedBy: admin, ExpiresAt: again.ExpiresAt, IssuedAt: t1}},
			activate(again.Digest, t1), []es.Event{set, account.SessionEnded{SessionID: sid, EndedAt: t1}}, nil, ""},
		{"A6 no account, no code", nil, func(a *account.Account) error { return a.IssueActivation(admin, again, t1) }, nil, account.ErrNotFound, domain.ENotFound},
	})
}

func TestReservation_A1_Release(t *testing.T) {
	t.Parallel()
	jan, piet := uuid.New(), uuid.New()
	reserved := account.UsernameReserved{AccountID: jan, UsernameKey: "jan"}
	released := account.UsernameReleased{AccountID: jan, UsernameKey: "jan"}
	r := account.RehydrateReservation([]es.Event{reserved})
	require.NoError(t, r.Release(piet))
	require.Empty(t, r.Changes(), "A1 only the holder releases")
	require.NoError(t, r.Release(jan))
	require.Equal(t, []es.Event{released}, r.Changes(), "A1 the holder gives the key back")
	require.NoError(t, r.Reserve("jan", piet))
	require.Equal(t, []es.Event{released, account.UsernameReserved{AccountID: piet, UsernameKey: "jan"}}, r.Changes(), "A1 a released key is free again")
	require.Equal(t, domain.EInvalid, domain.ErrorCode(r.Release(uuid.Nil)))

	require.NotEqual(t, account.UsernameStream("jan"), account.LookalikeStream("jan"), "A1 logins never read look-alike keys")
	require.NoError(t, es.ValidateStream(account.LookalikeStream("jan")))
}

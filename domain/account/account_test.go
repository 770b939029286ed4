package account_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

const hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestRegister_A1_A2(t *testing.T) {
	t.Parallel()
	id, operator := uuid.New(), uuid.New()
	local := t0.In(time.FixedZone("CET", 3600))
	tests := []struct {
		name      string
		id        uuid.UUID
		username  string
		email     string
		hash      string
		roles     []account.Role
		createdBy uuid.UUID
		then      []es.Event
		wantErr   error
		wantCode  string
	}{
		{"A1 self sign-up, username trimmed, email domain lowercased, time in UTC", id, "  Jan.de-Vries_2 ", "Jan@Example.NL", hash, nil, uuid.Nil,
			[]es.Event{account.Registered{AccountID: id, Username: "Jan.de-Vries_2", Email: "Jan@example.nl", PasswordHash: hash, RegisteredAt: t0}}, nil, ""},
		{"A1 operator creates an auditor, repeated roles kept once", id, "auditor1", "audit@sleutel.example", hash,
			[]account.Role{account.RoleAuditor, account.RoleOperator, account.RoleAuditor}, operator,
			[]es.Event{account.Registered{AccountID: id, Username: "auditor1", Email: "audit@sleutel.example", PasswordHash: hash,
				Roles: []account.Role{account.RoleAuditor, account.RoleOperator}, CreatedBy: operator, RegisteredAt: t0}}, nil, ""},
		{"A1 an account needs an id", uuid.Nil, "jan", "jan@example.nl", hash, nil, uuid.Nil, nil, nil, domain.EInvalid},
		{"A1 invalid username is refused", id, "j", "jan@example.nl", hash, nil, uuid.Nil, nil, account.ErrUsernameInvalid, domain.EInvalid},
		{"A1 invalid email is refused", id, "jan", "Jan <jan@example.nl>", hash, nil, uuid.Nil, nil, account.ErrEmailInvalid, domain.EInvalid},
		{"A2 an account needs a password hash", id, "jan", "jan@example.nl", "", nil, uuid.Nil, nil, nil, domain.EInvalid},
		{"unknown role is refused", id, "jan", "jan@example.nl", hash, []account.Role{"admin"}, uuid.Nil, nil, account.ErrUnknownRole, domain.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, err := account.Register(tt.id, tt.username, tt.email, tt.hash, tt.roles, tt.createdBy, local) // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err))                                             // then
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			if err != nil {
				require.Nil(t, a)
				return
			}
			require.Equal(t, tt.then, a.Changes())
			reg := tt.then[0].(account.Registered)
			require.Equal(t, tt.id, a.ID())
			require.True(t, a.Registered())
			require.Equal(t, reg.Username, a.Username())
			require.Equal(t, reg.Email, a.Email())
			require.Equal(t, tt.hash, a.PasswordHash())
			require.Equal(t, reg.Roles, a.Roles())
			require.Equal(t, tt.createdBy, a.CreatedBy())
			require.Equal(t, t0, a.RegisteredAt())
			for _, r := range []account.Role{account.RoleOperator, account.RoleAuditor} {
				require.Equal(t, contains(reg.Roles, r), a.HasRole(r), "HasRole(%s)", r)
			}
		})
	}
}

func contains(roles []account.Role, r account.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

func TestAccount_RolesIsACopy(t *testing.T) {
	t.Parallel()
	a, err := account.Register(uuid.New(), "operator1", "op@sleutel.example", hash, []account.Role{account.RoleOperator}, uuid.New(), t0)
	require.NoError(t, err)
	a.Roles()[0] = account.RoleAuditor
	require.True(t, a.HasRole(account.RoleOperator))
	require.False(t, a.HasRole(account.RoleAuditor))
}

func TestAccount_Authenticate(t *testing.T) {
	t.Parallel()
	id, admin := uuid.New(), uuid.New()
	registered := account.Registered{AccountID: id, Username: "jan", Email: "jan@example.nl", PasswordHash: hash, RegisteredAt: t0}
	t1 := t0.Add(time.Hour)
	failed := func(n int, at time.Time) account.LoginFailed { return account.LoginFailed{At: at, Consecutive: n} }
	failures := func(n int) []es.Event {
		var out []es.Event
		for i := 1; i <= n; i++ {
			out = append(out, failed(i, t0.Add(time.Duration(i)*time.Minute)))
		}
		return out
	}
	given := func(events ...[]es.Event) []es.Event {
		out := []es.Event{registered}
		for _, e := range events {
			out = append(out, e...)
		}
		return out
	}
	one := func(e ...es.Event) []es.Event { return e }
	until := t1.Add(account.LockoutDuration)
	lockedOut := account.LockedOut{Until: until}
	sessionID, digest := uuid.New(), "sha256:4f2a"
	session := account.SessionStart{ID: sessionID, TokenDigest: digest, ExpiresAt: t1.Add(24 * time.Hour)}
	started := func(at time.Time) account.SessionStarted {
		return account.SessionStarted{SessionID: sessionID, TokenDigest: digest, ExpiresAt: t1.Add(24 * time.Hour), StartedAt: at}
	}
	login := func(ok bool, s account.SessionStart, at time.Time) func(*account.Account) error {
		return func(a *account.Account) error { return a.Authenticate(ok, s, at) }
	}
	tests := []struct {
		name       string
		given      []es.Event
		when       func(*account.Account) error
		then       []es.Event
		wantErr    error
		wantUntil  time.Time // for ErrLockedOut
		wantFailed int
	}{
		{"A3 right password starts a session", given(),
			login(true, session, t1), one(started(t1)), nil, time.Time{}, 0},
		{"A3 right password resets the failure count", given(failures(3)),
			login(true, session, t1), one(started(t1)), nil, time.Time{}, 0},
		{"A3 first wrong password is recorded", given(),
			login(false, session, t1), one(failed(1, t1)), account.ErrWrongCredentials, time.Time{}, 1},
		{"A3 third wrong password in a row does not lock yet", given(failures(2)),
			login(false, session, t1), one(failed(3, t1)), account.ErrWrongCredentials, time.Time{}, 3},
		{"A3 fourth wrong password in a row locks the account for 30 minutes", given(failures(3)),
			login(false, session, t1), one(failed(4, t1), lockedOut), account.ErrWrongCredentials, time.Time{}, 0},
		{"A3 a success in between starts the count again", given(failures(3), one(started(t0.Add(10*time.Minute)))),
			login(false, session, t1), one(failed(1, t1)), account.ErrWrongCredentials, time.Time{}, 1},
		{"A3 locked account refuses the right password with the end time", given(failures(3), one(failed(4, t1), lockedOut)),
			login(true, session, t1.Add(29*time.Minute)), nil, account.ErrLockedOut, until, 0},
		{"A3 locked account refuses a wrong password without counting it", given(failures(3), one(failed(4, t1), lockedOut)),
			login(false, session, t1.Add(time.Minute)), nil, account.ErrLockedOut, until, 0},
		{"A3 the lock ends after 30 minutes", given(failures(3), one(failed(4, t1), lockedOut)),
			login(true, session, until), one(started(until)), nil, time.Time{}, 0},
		{"A3 after the lock a wrong password counts from one", given(failures(3), one(failed(4, t1), lockedOut)),
			login(false, session, until), one(failed(1, until)), account.ErrWrongCredentials, time.Time{}, 1},
		{"A3 an unlocked account logs in at once", given(failures(3), one(failed(4, t1), lockedOut, account.Unlocked{By: admin, At: t1.Add(time.Minute)})),
			login(true, session, t1.Add(2*time.Minute)), one(started(t1.Add(2 * time.Minute))), nil, time.Time{}, 0},
		{"A3 unknown account is refused like a wrong password", nil,
			login(true, session, t1), nil, account.ErrWrongCredentials, time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := account.Rehydrate(tt.given)    // given
			err := tt.when(a)                   // when
			require.ErrorIs(t, err, tt.wantErr) // then
			require.Equal(t, tt.then, a.Changes())
			require.Equal(t, uint64(len(tt.given)), a.Version())
			require.Equal(t, tt.wantFailed, a.FailedLogins())
			var locked *account.LockedOutError
			if errors.Is(tt.wantErr, account.ErrLockedOut) {
				require.ErrorAs(t, err, &locked)
				require.Equal(t, tt.wantUntil, locked.LockedUntil)
				require.Equal(t, domain.ELockedOut, domain.ErrorCode(err))
				require.Contains(t, domain.ErrorMessage(err), tt.wantUntil.Format(time.RFC3339), "A3 the refusal tells when the lock ends")
			} else if tt.wantErr != nil {
				require.False(t, errors.As(err, &locked))
				require.Equal(t, domain.EUnauthorized, domain.ErrorCode(err))
			}
		})
	}
}

func TestAccount_Authenticate_invalidSession(t *testing.T) {
	t.Parallel()
	a := account.Rehydrate([]es.Event{account.Registered{AccountID: uuid.New(), Username: "jan", Email: "jan@example.nl", PasswordHash: hash, RegisteredAt: t0}})
	for name, s := range map[string]account.SessionStart{
		"no id":         {TokenDigest: "d", ExpiresAt: t0.Add(time.Hour)},
		"no digest":     {ID: uuid.New(), ExpiresAt: t0.Add(time.Hour)},
		"expires now":   {ID: uuid.New(), TokenDigest: "d", ExpiresAt: t0},
		"expired":       {ID: uuid.New(), TokenDigest: "d", ExpiresAt: t0.Add(-time.Hour)},
		"no expiry set": {ID: uuid.New(), TokenDigest: "d"},
	} {
		require.Equal(t, domain.EInvalid, domain.ErrorCode(a.Authenticate(true, s, t0)), name)
	}
	require.Empty(t, a.Changes())
}

func TestAccount_A3_lockedOutLooksLikeNeitherWrongPasswordNorUnknown(t *testing.T) {
	t.Parallel()
	// A3 the wrong-password refusal has the message an unknown username gets in the
	// command layer: this error.
	require.Equal(t, "wrong username or password", account.ErrWrongCredentials.Error())
	err := error(&account.LockedOutError{LockedUntil: t0.In(time.FixedZone("CET", 3600))})
	require.ErrorIs(t, err, account.ErrLockedOut)
	require.NotErrorIs(t, err, account.ErrWrongCredentials)
	require.Equal(t, "too many failed logins: this account is locked until 2026-03-01T09:00:00Z", domain.ErrorMessage(err))
}

func TestAccount_Sessions(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	registered := account.Registered{AccountID: id, Username: "jan", Email: "jan@example.nl", PasswordHash: hash, RegisteredAt: t0}
	s1, s2 := uuid.New(), uuid.New()
	start := func(s uuid.UUID, at time.Time, ttl time.Duration) account.SessionStarted {
		return account.SessionStarted{SessionID: s, TokenDigest: "d-" + s.String(), StartedAt: at, ExpiresAt: at.Add(ttl)}
	}
	end := func(s uuid.UUID, at time.Time) func(*account.Account) error {
		return func(a *account.Account) error { return a.EndSession(s, at) }
	}
	t1 := t0.Add(time.Hour)
	tests := []struct {
		name  string
		given []es.Event
		when  func(*account.Account) error
		then  []es.Event
	}{
		{"A3 logout ends an active session", []es.Event{registered, start(s1, t0, 8*time.Hour)},
			end(s1, t1), []es.Event{account.SessionEnded{SessionID: s1, EndedAt: t1}}},
		{"A3 logout of an ended session records nothing", []es.Event{registered, start(s1, t0, 8*time.Hour), account.SessionEnded{SessionID: s1, EndedAt: t0}},
			end(s1, t1), nil},
		{"A3 logout of an unknown session records nothing", []es.Event{registered, start(s1, t0, 8*time.Hour)},
			end(s2, t1), nil},
		{"A3 logout of an expired session records nothing", []es.Event{registered, start(s1, t0, time.Minute)},
			end(s1, t1), nil},
		{"A3 logout on an account never registered records nothing", nil,
			end(s1, t1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := account.Rehydrate(tt.given) // given
			require.NoError(t, tt.when(a))   // when
			require.Equal(t, tt.then, a.Changes())
		})
	}

	a := account.Rehydrate([]es.Event{registered, start(s1, t0, time.Hour), start(s2, t0.Add(time.Minute), 8*time.Hour)})
	got, ok := a.Session(s2)
	require.True(t, ok)
	require.Equal(t, account.Session{ID: s2, TokenDigest: "d-" + s2.String(), StartedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Minute + 8*time.Hour)}, got)
	require.True(t, got.ActiveAt(t1))
	require.False(t, got.ActiveAt(got.ExpiresAt))
	require.Len(t, a.Sessions(), 2)
	require.Equal(t, s1, a.Sessions()[0].ID, "oldest first")

	require.NoError(t, a.EndSession(s2, t1))
	_, ok = a.Session(s2)
	require.False(t, ok, "an ended session is gone")

	// A later login forgets sessions expired by its time, so the state stays small.
	a.Replay(start(uuid.New(), t0.Add(2*time.Hour), time.Hour))
	_, ok = a.Session(s1)
	require.False(t, ok)
}

func TestAccount_Unlock_A3(t *testing.T) {
	t.Parallel()
	id, admin := uuid.New(), uuid.New()
	registered := account.Registered{AccountID: id, Username: "jan", Email: "jan@example.nl", PasswordHash: hash, RegisteredAt: t0}
	until := t0.Add(account.LockoutDuration)
	locked := []es.Event{registered,
		account.LoginFailed{At: t0, Consecutive: 1}, account.LoginFailed{At: t0, Consecutive: 2},
		account.LoginFailed{At: t0, Consecutive: 3}, account.LoginFailed{At: t0, Consecutive: 4},
		account.LockedOut{Until: until}}
	t1 := t0.Add(10 * time.Minute)
	unlock := func(by uuid.UUID, at time.Time) func(*account.Account) error {
		return func(a *account.Account) error { return a.Unlock(by, at) }
	}
	tests := []struct {
		name     string
		given    []es.Event
		when     func(*account.Account) error
		then     []es.Event
		wantCode string
	}{
		{"A3 admin or operator unlocks a locked account at once", locked, unlock(admin, t1),
			[]es.Event{account.Unlocked{By: admin, At: t1}}, ""},
		{"A3 unlocking an account that is not locked records nothing", []es.Event{registered}, unlock(admin, t1), nil, ""},
		{"A3 unlocking after the lock ended records nothing", locked, unlock(admin, until), nil, ""},
		{"A3 unlocking twice records once", append(locked[:len(locked):len(locked)], account.Unlocked{By: admin, At: t0}), unlock(admin, t1), nil, ""},
		{"A3 an unlock needs the unlocking account", locked, unlock(uuid.Nil, t1), nil, domain.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := account.Rehydrate(tt.given)                     // given
			err := tt.when(a)                                    // when
			require.Equal(t, tt.wantCode, domain.ErrorCode(err)) // then
			require.Equal(t, tt.then, a.Changes())
		})
	}

	a := account.Rehydrate(locked)
	require.True(t, a.Locked(t1))
	require.Equal(t, until, a.LockedUntil())
	require.NoError(t, a.Unlock(admin, t1))
	require.False(t, a.Locked(t1))
	require.True(t, a.LockedUntil().IsZero())
	require.NoError(t, a.Authenticate(true, account.SessionStart{ID: uuid.New(), TokenDigest: "d", ExpiresAt: t1.Add(time.Hour)}, t1))
}

func TestAccount_OrganizationManagement_O6(t *testing.T) {
	t.Parallel()
	id, code, red := uuid.New(), uuid.New(), uuid.New()
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	a := account.Rehydrate([]es.Event{account.Registered{AccountID: id, Username: "anna", Email: "a@example.org", PasswordHash: "h", RegisteredAt: now}})
	require.False(t, a.HasOrganizationManagement())
	a.GrantOrganizationManagement(code, red, now)
	require.Equal(t, []es.Event{account.OrganizationManagementGranted{CodeID: code, RedemptionID: red, GrantedAt: now}}, a.Changes(), "O6 a redeemed code grants organization management")
	require.True(t, a.HasOrganizationManagement())
	a.Committed()
	a.GrantOrganizationManagement(code, red, now)
	require.Empty(t, a.Changes(), "P3 the same redemption applied twice records nothing")
}

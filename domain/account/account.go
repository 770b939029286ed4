// Package account holds accounts (SPEC A1–A8): usernames and their uniqueness and
// look-alike reservations, email and password rules, platform roles, the
// failed-login lockout, sessions, password changes and resets, residents' accounts
// with activation codes, and email changes by those who manage an account.
//
// Passwords are hashed and verified outside the domain; the aggregate stores the
// hash it is given and decides on the outcome of the check (Authenticate).
package account

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Lockout rule (A3): more than MaxFailedLogins failed logins in a row lock the
// account for LockoutDuration.
const (
	// MaxFailedLogins is the most failed logins in a row that do not lock.
	MaxFailedLogins = 3
	// LockoutDuration is how long a lockout lasts.
	LockoutDuration = 30 * time.Minute
)

// Account is one login (SPEC Actors). State is private; change it only via methods.
type Account struct {
	es.Root
	id           uuid.UUID
	username     string
	email        string
	passwordHash string
	roles        []Role
	createdBy    uuid.UUID
	registeredAt time.Time
	failed       int       // consecutive failed logins since the last success, lockout or unlock
	lockedUntil  time.Time // zero when never locked; may lie in the past
	sessions     map[uuid.UUID]Session
	sessionSeq   map[uuid.UUID]uint64 // order in which the sessions were started
	started      uint64               // sessions started so far
	grants       map[uuid.UUID]bool   // redemptions of organization-management codes (O6)
	auditOrgs    []uuid.UUID          // organizations the account audits, in order of appointment

	buildingsSince time.Time // when building management was switched on (L13); zero while off

	organization uuid.UUID // the organization whose admin created the account (A6)
	shared       bool      // a shared generic account of that organization (A4)
	reset        *pending  // the usable password-reset link, if any (A4)
	activation   *pending  // the usable activation code, if any (A6)
}

// Session is a login that has not been ended. It may have expired.
type Session struct {
	ID          uuid.UUID
	TokenDigest string
	StartedAt   time.Time
	ExpiresAt   time.Time
}

// ActiveAt reports whether the session is still valid at now.
func (s Session) ActiveAt(now time.Time) bool { return now.Before(s.ExpiresAt) }

// SessionStart is the session a successful login starts: its id, a digest of its
// token (the token itself stays with the client) and its expiry, all chosen by the
// caller.
type SessionStart struct {
	ID          uuid.UUID
	TokenDigest string
	ExpiresAt   time.Time
}

// Register creates account id with a username (validated by ValidateUsername), an
// email (validated by ValidateEmail), the hash of a password already checked by
// ValidatePassword, platform roles, and the account that created it (uuid.Nil for a
// self sign-up). It returns EInvalid for a missing id or hash, and
// ErrUsernameInvalid, ErrEmailInvalid or ErrUnknownRole for bad input. The username
// must have been reserved first (Reservation).
func Register(id uuid.UUID, username, email, passwordHash string, roles []Role, createdBy uuid.UUID, now time.Time) (*Account, error) {
	if id == uuid.Nil {
		return nil, domain.Errorf(domain.EInvalid, "an account needs an id")
	}
	username, err := ValidateUsername(username)
	if err != nil {
		return nil, err
	}
	if email, err = ValidateEmail(email); err != nil {
		return nil, err
	}
	if passwordHash == "" {
		return nil, domain.Errorf(domain.EInvalid, "an account needs a password hash")
	}
	if roles, err = normalizeRoles(roles); err != nil {
		return nil, err
	}
	a := &Account{}
	a.record(Registered{AccountID: id, Username: username, Email: email, PasswordHash: passwordHash,
		Roles: roles, CreatedBy: createdBy, RegisteredAt: now.UTC()})
	return a, nil
}

// Rehydrate builds an Account from its stored history. It is for repositories and
// tests only; commands change an Account through its methods.
func Rehydrate(history []es.Event) *Account {
	a := &Account{}
	a.Replay(history...)
	return a
}

// Replay applies stored events and counts them in the version.
func (a *Account) Replay(events ...es.Event) {
	for _, e := range events {
		a.apply(e)
	}
	a.Replayed(len(events))
}

// Authenticate decides a login, given whether the password matched the stored hash
// (checked outside the domain), as one decision, so that a handler retrying on a
// concurrency conflict decides again on fresh state (A3):
//   - while the account is locked it returns a *LockedOutError (ELockedOut) with the
//     time the lock ends and records nothing, even for the right password;
//   - for a wrong password it records LoginFailed and, on failure number
//     MaxFailedLogins+1 in a row, LockedOut until now+LockoutDuration, and returns
//     ErrWrongCredentials (EUnauthorized);
//   - for the right password it records SessionStarted, which resets the count.
//
// An account never registered returns ErrWrongCredentials and records nothing. A
// session without id or token digest, or expiring by now, returns EInvalid.
func (a *Account) Authenticate(passwordOK bool, session SessionStart, now time.Time) error {
	now = now.UTC()
	switch {
	case a.id == uuid.Nil:
		return ErrWrongCredentials
	case a.Locked(now):
		return &LockedOutError{LockedUntil: a.lockedUntil}
	case !passwordOK:
		a.record(LoginFailed{At: now, Consecutive: a.failed + 1})
		if a.failed > MaxFailedLogins {
			a.record(LockedOut{Until: now.Add(LockoutDuration)})
		}
		return ErrWrongCredentials
	case session.ID == uuid.Nil || session.TokenDigest == "" || !now.Before(session.ExpiresAt):
		return domain.Errorf(domain.EInvalid, "a session needs an id, a token digest and a later expiry")
	}
	a.record(SessionStarted{SessionID: session.ID, TokenDigest: session.TokenDigest, ExpiresAt: session.ExpiresAt.UTC(), StartedAt: now})
	return nil
}

// EndSession ends session id (a logout). It records nothing for a session that is
// unknown, ended already or expired by now.
func (a *Account) EndSession(id uuid.UUID, now time.Time) error {
	if s, ok := a.sessions[id]; !ok || !s.ActiveAt(now) {
		return nil
	}
	a.record(SessionEnded{SessionID: id, EndedAt: now.UTC()})
	return nil
}

// Unlock lifts a lockout at once on behalf of the account by: an admin of the
// account's organization or the operator, which the command layer checks (A3). It
// records nothing when the account is not locked at now, and returns EInvalid
// without by.
func (a *Account) Unlock(by uuid.UUID, now time.Time) error {
	if by == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "an unlock needs the account that unlocks")
	}
	if !a.Locked(now) {
		return nil
	}
	a.record(Unlocked{By: by, At: now.UTC()})
	return nil
}

// ID returns the account's id; uuid.Nil when it was never registered.
func (a *Account) ID() uuid.UUID { return a.id }

// Registered reports whether the account exists.
func (a *Account) Registered() bool { return a.id != uuid.Nil }

// Username returns the username as registered, trimmed (A1).
func (a *Account) Username() string { return a.username }

// Email returns the linked email address.
func (a *Account) Email() string { return a.email }

// PasswordHash returns the stored password hash, for the check outside the domain.
func (a *Account) PasswordHash() string { return a.passwordHash }

// Roles returns a copy of the account's platform roles.
func (a *Account) Roles() []Role { return slices.Clone(a.roles) }

// HasRole reports whether the account has role r.
func (a *Account) HasRole(r Role) bool { return hasRole(a.roles, r) }

// CreatedBy returns the account that created this one; uuid.Nil for a self sign-up.
func (a *Account) CreatedBy() uuid.UUID { return a.createdBy }

// RegisteredAt returns when the account was created.
func (a *Account) RegisteredAt() time.Time { return a.registeredAt }

// FailedLogins returns the failed logins in a row since the last successful login,
// lockout or unlock.
func (a *Account) FailedLogins() int { return a.failed }

// LockedUntil returns when the last lockout ends: zero when there was none, and
// possibly in the past. Use Locked to ask about a moment.
func (a *Account) LockedUntil() time.Time { return a.lockedUntil }

// Locked reports whether the account is locked at now.
func (a *Account) Locked(now time.Time) bool { return now.Before(a.lockedUntil) }

// Session returns session id if it was started and not ended; it may have expired
// (see Session.ActiveAt).
func (a *Account) Session(id uuid.UUID) (Session, bool) {
	s, ok := a.sessions[id]
	return s, ok
}

// Sessions returns the sessions started and not ended, in the order they were
// started; some may have expired. The order is that of the stream, never of a map:
// a decision that ends several sessions records the same events every time (its
// event ids are derived from their index when a command is retried).
func (a *Account) Sessions() []Session {
	out := slices.Collect(maps.Values(a.sessions))
	slices.SortFunc(out, func(x, y Session) int { return cmp.Compare(a.sessionSeq[x.ID], a.sessionSeq[y.ID]) })
	return out
}

// apply mutates state from one event. It never validates, fails, or reads a clock.
func (a *Account) apply(e es.Event) {
	switch e := e.(type) {
	case BuildingManagementEnabled:
		a.buildingsSince = e.EnabledAt
	case OrganizationManagementGranted:
		if a.grants == nil {
			a.grants = map[uuid.UUID]bool{}
		}
		a.grants[e.RedemptionID] = true
	case Registered:
		a.id, a.username, a.email, a.passwordHash = e.AccountID, e.Username, e.Email, e.PasswordHash
		a.roles, a.createdBy, a.registeredAt = slices.Clone(e.Roles), e.CreatedBy, e.RegisteredAt
		a.organization, a.shared = e.OrganizationID, e.Shared
	case LoginFailed:
		a.failed = e.Consecutive
	case LockedOut:
		a.lockedUntil, a.failed = e.Until, 0 // after the lockout the count starts again
	case Unlocked:
		a.lockedUntil, a.failed = time.Time{}, 0
	case SessionStarted:
		a.failed = 0
		if a.sessions == nil {
			a.sessions = make(map[uuid.UUID]Session)
			a.sessionSeq = make(map[uuid.UUID]uint64)
		}
		// Forget sessions expired by now, judged by the event's own time, so that the
		// state does not grow with every login ever made.
		maps.DeleteFunc(a.sessions, func(id uuid.UUID, s Session) bool {
			if s.ActiveAt(e.StartedAt) {
				return false
			}
			delete(a.sessionSeq, id)
			return true
		})
		a.started++
		a.sessions[e.SessionID] = Session{ID: e.SessionID, TokenDigest: e.TokenDigest, StartedAt: e.StartedAt, ExpiresAt: e.ExpiresAt}
		a.sessionSeq[e.SessionID] = a.started
	case SessionEnded:
		delete(a.sessions, e.SessionID)
		delete(a.sessionSeq, e.SessionID)
	default:
		if !a.applyAudit(e) {
			a.applyCredentials(e)
		}
	}
}

func (a *Account) record(e es.Event) {
	a.apply(e)
	a.Record(e)
}

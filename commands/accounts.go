package commands

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

// Passwords hashes and checks passwords with a slow salted hash (A2).
type Passwords interface {
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches the stored hash, in constant time.
	Verify(ctx context.Context, password, hash string) (bool, error)
	// Dummy costs what a Verify costs, for unknown usernames, so timing does not
	// tell whether an account exists.
	Dummy(ctx context.Context, password string) error
}

// UsernameKey turns a username into the key under which it is unique and found at
// login: matched case-insensitively after trimming (A1). It is stored in every
// reservation stream's name, so it never changes: look-alikes are refused through
// Lookalikes instead, and a login by username finds every account ever made.
type UsernameKey func(username string) string

// Lookalikes returns the confusable keys of a username (A1): two usernames that
// share one are refused as look-alikes. infra/confusable computes them with the
// UTS #39 skeletons.
type Lookalikes func(username string) []string

// Accounts handles sign-up, login and sessions.
type Accounts struct {
	accounts     *Repository[*account.Account]
	reservations *Repository[*account.Reservation]
	passwords    Passwords
	key          UsernameKey
	lookalikes   Lookalikes
	digest       TokenDigest
	secrets      Secrets
	clock        Clock
	rand         io.Reader
	sessionTTL   time.Duration
}

// AccountsConfig wires Accounts.
type AccountsConfig struct {
	Store       EventStore
	Registry    *es.Registry
	Passwords   Passwords
	UsernameKey UsernameKey
	// Lookalikes, when set, refuses usernames confusable with an existing one (A1).
	Lookalikes Lookalikes
	Digest     TokenDigest
	Secrets    Secrets
	Clock      Clock
	Rand       io.Reader
	// SessionTTL is how long a login lasts; 24 hours when zero.
	SessionTTL time.Duration
}

// NewAccounts returns the account command handlers.
func NewAccounts(c AccountsConfig) *Accounts {
	if c.Store == nil || c.Registry == nil || c.Passwords == nil || c.UsernameKey == nil || c.Digest == nil || c.Secrets == nil || c.Clock == nil || c.Rand == nil {
		panic("commands: nil dependency")
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = 24 * time.Hour
	}
	return &Accounts{
		accounts:     NewRepository(c.Store, c.Registry, func(string) *account.Account { return account.Rehydrate(nil) }, 10_000),
		reservations: NewRepository(c.Store, c.Registry, func(string) *account.Reservation { return account.RehydrateReservation(nil) }, 10_000),
		passwords:    c.Passwords, key: c.UsernameKey, lookalikes: c.Lookalikes, digest: c.Digest, secrets: c.Secrets, clock: c.Clock, rand: c.Rand, sessionTTL: c.SessionTTL,
	}
}

// DefaultUsernameKey matches usernames trimmed and case-insensitively (A1).
func DefaultUsernameKey(username string) string {
	return strings.ToLower(strings.TrimSpace(username))
}

// SignUp creates an account with the given roles (none for a self sign-up). The
// account is written first, then its username is reserved; if the username is
// taken, the account stays unreachable (no username leads to it) and the caller
// gets a conflict. A retry with the same idempotency key completes the same account.
func (h *Accounts) SignUp(ctx context.Context, m Meta, cmd SignUp) (SignedUp, error) {
	return h.create(ctx, m, cmd, nil, uuid.Nil)
}

// CreateAccount creates an account with roles, on behalf of createdBy (the
// operator bootstrap, and later admins and resellers).
func (h *Accounts) CreateAccount(ctx context.Context, m Meta, cmd SignUp, roles []account.Role, createdBy uuid.UUID) (SignedUp, error) {
	return h.create(ctx, m, cmd, roles, createdBy)
}

func (h *Accounts) create(ctx context.Context, m Meta, cmd SignUp, roles []account.Role, createdBy uuid.UUID) (SignedUp, error) {
	username, err := account.ValidateUsername(cmd.Username)
	if err != nil {
		return SignedUp{}, err
	}
	email, err := account.ValidateEmail(cmd.Email)
	if err != nil {
		return SignedUp{}, err
	}
	if err := account.ValidatePassword(cmd.Password); err != nil {
		return SignedUp{}, err
	}
	// The username scopes a sign-up's idempotency key: there is no caller yet.
	m.Actor = es.ActorOf("signup", account.UsernameStreamID(h.key(username)).String())
	var hash string
	return h.register(ctx, m, username, func() error {
		var err error
		hash, err = h.passwords.Hash(ctx, cmd.Password)
		return err
	}, func(id uuid.UUID, now time.Time) (*account.Account, error) {
		return account.Register(id, username, email, hash, roles, createdBy, now)
	})
}

// register writes a new account built by build, then reserves the look-alike keys
// of its username and the username's own key (A1). prepare runs once the username
// is known to be free, before the account is written (the slow password hash). If
// the username or a look-alike is taken, the account stays unreachable (no username
// leads to it), the keys it reserved are released, and the caller gets
// ErrUsernameTaken. A retry with the same idempotency key completes the same account.
func (h *Accounts) register(ctx context.Context, m Meta, username string, prepare func() error,
	build func(id uuid.UUID, now time.Time) (*account.Account, error)) (SignedUp, error) {
	key := h.key(username)
	if holder, taken, err := h.holder(ctx, key); err != nil {
		return SignedUp{}, err
	} else if taken {
		// Taken: by this same sign-up, retried, or by someone else.
		res, done, err := h.accounts.Done(ctx, accountStream(holder), m)
		if err != nil {
			return SignedUp{}, err
		}
		if !done {
			return SignedUp{}, account.ErrUsernameTaken
		}
		return SignedUp{Result: res, AccountID: holder, Username: username}, nil
	}
	lookalikes := h.lookalikeKeys(username)
	if err := h.lookalikesFree(ctx, lookalikes); err != nil {
		return SignedUp{}, err
	}
	if err := prepare(); err != nil {
		return SignedUp{}, err
	}
	id := NewID()
	now := h.clock.Now()
	if _, err := h.accounts.Create(ctx, accountStream(id), m, func() (*account.Account, error) {
		return build(id, now)
	}); err != nil {
		if errors.Is(err, ErrExists) {
			return SignedUp{}, ErrConflict
		}
		return SignedUp{}, err
	}
	if err := h.reserveLookalikes(ctx, m, id, lookalikes); err != nil {
		return SignedUp{}, err
	}
	res, err := h.reservations.Update(ctx, account.UsernameStream(key), m.sub("username"), func(r *account.Reservation) error {
		return r.Reserve(key, id)
	})
	if err != nil {
		if errors.Is(err, account.ErrUsernameTaken) {
			if rerr := h.releaseLookalikes(ctx, m, id, lookalikes); rerr != nil {
				return SignedUp{}, rerr
			}
		}
		return SignedUp{}, err
	}
	if res.Position.IsZero() { // reserved by an earlier attempt: wait for the account
		res.Stream = accountStream(id)
		res.Position, err = h.position(ctx, res.Stream)
		if err != nil {
			return SignedUp{}, err
		}
	}
	return SignedUp{Result: res, AccountID: id, Username: username}, nil
}

func (h *Accounts) position(ctx context.Context, stream string) (es.Position, error) {
	var pos es.Position
	err := h.accounts.Read(ctx, stream, func(*account.Account) error { return nil })
	if err != nil {
		return pos, err
	}
	recs, err := h.accounts.store.ReadStream(ctx, stream, 0, 1)
	if err == nil && len(recs) > 0 {
		pos = recs[0].Position
	}
	return pos, err
}

// holder returns the account holding a username key.
func (h *Accounts) holder(ctx context.Context, key string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	var ok bool
	err := h.reservations.Read(ctx, account.UsernameStream(key), func(r *account.Reservation) error {
		id, ok = r.Holder()
		return nil
	})
	return id, ok, err
}

// AccountExists reports whether an account with id exists (AccountDirectory).
func (h *Accounts) AccountExists(ctx context.Context, id uuid.UUID) (bool, error) {
	var ok bool
	err := h.accounts.Read(ctx, accountStream(id), func(a *account.Account) error {
		ok = a.Registered()
		return nil
	})
	return ok, err
}

// Holder returns the account holding username, and false when none does.
func (h *Accounts) Holder(ctx context.Context, username string) (uuid.UUID, bool, error) {
	return h.holder(ctx, h.key(username))
}

// UsernameTaken reports whether the username is taken (the operator bootstrap).
func (h *Accounts) UsernameTaken(ctx context.Context, username string) (bool, error) {
	_, taken, err := h.holder(ctx, h.key(username))
	return taken, err
}

// Login checks the password and starts a session (A2), or counts a failure towards
// a lockout (A3). An unknown username costs the same time and gets the same answer
// as a wrong password.
func (h *Accounts) Login(ctx context.Context, m Meta, username, password string) (LoggedIn, error) {
	var (
		id   uuid.UUID
		hash string
	)
	if name, err := account.ValidateUsername(username); err == nil {
		holder, taken, err := h.holder(ctx, h.key(name))
		if err != nil {
			return LoggedIn{}, err
		}
		if taken {
			id = holder
			if err := h.accounts.Read(ctx, accountStream(id), func(a *account.Account) error {
				hash = a.PasswordHash()
				return nil
			}); err != nil {
				return LoggedIn{}, err
			}
		}
	}
	if hash == "" || len(password) > 1024 {
		if err := h.passwords.Dummy(ctx, password); err != nil {
			return LoggedIn{}, err
		}
		return LoggedIn{}, account.ErrWrongCredentials
	}
	ok, err := h.passwords.Verify(ctx, password, hash)
	if err != nil {
		return LoggedIn{}, err
	}
	// A login is never replayed from an idempotency key: a retry starts another
	// session, so no two requests can ever share a token.
	m.IdempotencyKey = ""
	token, err := newToken(h.rand, h.secrets, m, "session")
	if err != nil {
		return LoggedIn{}, err
	}
	m.Actor = es.ActorOf(es.ActorAccount, id.String())
	var expires time.Time
	res, err := h.accounts.Update(ctx, accountStream(id), m, func(a *account.Account) error {
		if a.PasswordHash() != hash { // changed while we verified: verify again
			if ok, err = h.passwords.Verify(ctx, password, a.PasswordHash()); err != nil {
				return err
			}
		}
		now := h.clock.Now()
		expires = now.Add(h.sessionTTL)
		err := a.Authenticate(ok, account.SessionStart{ID: NewID(), TokenDigest: h.digest(token), ExpiresAt: expires}, now)
		if err != nil && len(a.Changes()) > 0 {
			return KeepChanges(err) // a failed login counts (A3)
		}
		return err
	})
	if err != nil {
		return LoggedIn{}, err
	}
	return LoggedIn{Result: res, AccountID: id, Token: token, ExpiresAt: expires}, nil
}

// Logout ends a session.
func (h *Accounts) Logout(ctx context.Context, m Meta, accountID, sessionID uuid.UUID) (Result, error) {
	return h.accounts.Update(ctx, accountStream(accountID), m, func(a *account.Account) error {
		return a.EndSession(sessionID, h.clock.Now())
	})
}

// errNotOperator refuses a non-operator.
var errNotOperator = &domain.Error{Code: domain.EForbidden, Message: "only the platform's operator may do this"}

// AccountCategory is the stream category of accounts.
const AccountCategory = "account"

func accountStream(id uuid.UUID) string { return es.StreamName(AccountCategory, id) }

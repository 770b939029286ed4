package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/es"
)

// AccountRow is the read model of an account. It never holds the password hash.
type AccountRow struct {
	ID       uuid.UUID      `json:"id"`
	Username string         `json:"username"`
	Email    string         `json:"email"`
	Roles    []account.Role `json:"roles,omitempty"`
	// AuditOrganizations are the organizations the account audits (an auditor
	// for one organization); a platform-wide auditor has the role auditor.
	AuditOrganizations []uuid.UUID `json:"audit_organizations,omitempty"`
	CreatedBy          *uuid.UUID  `json:"created_by,omitempty"`
	RegisteredAt       time.Time   `json:"registered_at"`
	LockedUntil        *time.Time  `json:"locked_until,omitempty"`
	// Reachable is true once the username is reserved for this account: an account
	// whose reservation lost a race has no username and no login.
	Reachable bool `json:"reachable"`
}

// SessionRow is a live session, found by its token's digest.
type SessionRow struct {
	AccountID uuid.UUID `json:"account_id"`
	SessionID uuid.UUID `json:"session_id"`
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// AccountViews keeps accounts, usernames and sessions. When it is given the
// queries' session cache, it drops what an event makes stale.
type AccountViews struct {
	kv    KV
	cache *sessionCache
}

// NewAccountViews returns the projection; q may be nil (a replay has no cache).
func NewAccountViews(kv KV, q *AccountQueries) *AccountViews {
	p := &AccountViews{kv: kv}
	if q != nil {
		p.cache = q.cache
	}
	return p
}

const accountViews = "account_views_v1"

// Name implements Projection.
func (*AccountViews) Name() string { return accountViews }

// Filter implements Filtered.
func (*AccountViews) Filter() es.Filter {
	return es.Filter{Categories: []string{"account", account.UsernameCategory}}
}

// Reset implements Resetter.
func (p *AccountViews) Reset(ctx context.Context) error {
	if p.cache != nil {
		p.cache.clear()
	}
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(accountViews)) })
}

func accountKey(id uuid.UUID) []byte   { return key(accountViews, "account", id.String()) }
func sessionKey(digest string) []byte  { return key(accountViews, "session", digest) }
func sessionIDKey(id uuid.UUID) []byte { return key(accountViews, "session_id", id.String()) }
func usernameKey(k string) []byte      { return key(accountViews, "username", k) }

// Handle implements Projection.
func (p *AccountViews) Handle(ctx context.Context, env es.Envelope) error {
	var endedDigest string
	err := p.kv.Write(ctx, func(b Batch) error {
		if fresh, err := guard(accountViews).fresh(b, env); err != nil || !fresh {
			return err
		}
		if e, ok := env.Event.(account.UsernameReserved); ok {
			if err := b.Set(usernameKey(e.UsernameKey), []byte(e.AccountID.String())); err != nil {
				return err
			}
			return updateAccount(b, e.AccountID, func(r *AccountRow) { r.Reachable = true })
		}
		id, ok := es.StreamID(env.Stream)
		if !ok {
			return nil
		}
		switch e := env.Event.(type) {
		case account.Registered:
			return updateAccount(b, id, func(r *AccountRow) {
				r.ID, r.Username, r.Email, r.Roles, r.RegisteredAt = e.AccountID, e.Username, e.Email, e.Roles, e.RegisteredAt
				if e.CreatedBy != uuid.Nil {
					c := e.CreatedBy
					r.CreatedBy = &c
				}
			})
		case account.EmailChanged:
			return updateAccount(b, id, func(r *AccountRow) { r.Email = e.Email })
		case account.LockedOut:
			return updateAccount(b, id, func(r *AccountRow) { u := e.Until; r.LockedUntil = &u })
		case account.Unlocked:
			return updateAccount(b, id, func(r *AccountRow) { r.LockedUntil = nil })
		case account.AuditorAppointed:
			return updateAccount(b, id, func(r *AccountRow) {
				if e.OrganizationID == uuid.Nil {
					r.Roles = append(r.Roles, account.RoleAuditor)
				} else {
					r.AuditOrganizations = append(r.AuditOrganizations, e.OrganizationID)
				}
			})
		case account.AuditorDismissed:
			return updateAccount(b, id, func(r *AccountRow) {
				if e.OrganizationID == uuid.Nil {
					r.Roles = slices.DeleteFunc(r.Roles, func(x account.Role) bool { return x == account.RoleAuditor })
				} else {
					r.AuditOrganizations = slices.DeleteFunc(r.AuditOrganizations, func(x uuid.UUID) bool { return x == e.OrganizationID })
				}
			})
		case account.SessionStarted:
			if err := b.Set(sessionIDKey(e.SessionID), []byte(e.TokenDigest)); err != nil {
				return err
			}
			return setJSON(b, sessionKey(e.TokenDigest), &SessionRow{AccountID: id, SessionID: e.SessionID, StartedAt: e.StartedAt, ExpiresAt: e.ExpiresAt})
		case account.SessionEnded:
			digest, err := b.Get(sessionIDKey(e.SessionID))
			if err != nil || digest == nil {
				return err
			}
			endedDigest = string(digest)
			if err := b.Delete(sessionKey(string(digest))); err != nil {
				return err
			}
			return b.Delete(sessionIDKey(e.SessionID))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", accountViews, env.Stream, env.Revision, err)
	}
	if p.cache != nil {
		switch env.Event.(type) {
		case account.SessionEnded:
			p.cache.drop(endedDigest, uuid.Nil)
		case account.SessionStarted, account.LoginFailed, account.UsernameReserved:
			// a new session loads on first use; the rest changes no session
		default:
			if id, ok := es.StreamID(env.Stream); ok {
				p.cache.drop("", id) // the account row behind its sessions changed
			}
		}
	}
	return nil
}

// updateAccount changes an account row, creating it if needed (a reservation may be
// seen before the account in another consumer's order; here both orders work).
func updateAccount(b Batch, id uuid.UUID, fn func(*AccountRow)) error {
	var r AccountRow
	if _, err := getJSON(b, accountKey(id), &r); err != nil {
		return err
	}
	r.ID = id
	fn(&r)
	return setJSON(b, accountKey(id), &r)
}

// AccountQueries reads accounts and sessions.
type AccountQueries struct {
	kv    KV
	clock interface{ Now() time.Time }
	cache *sessionCache
}

// NewAccountQueries returns the queries over kv; clock decides session expiry.
func NewAccountQueries(kv KV, clock interface{ Now() time.Time }) *AccountQueries {
	return &AccountQueries{kv: kv, clock: clock, cache: newSessionCache(100_000)}
}

// ErrSessionInvalid is returned for an unknown, ended or expired session token.
var ErrSessionInvalid = &domain.Error{Code: domain.EUnauthorized, Message: "the session is unknown or has ended: log in again"}

// Session returns the live session whose token has digest, with its account.
// Sessions in use are kept in memory; the projection drops one the moment it
// ends or its account changes, so the cache never answers for a stale session.
func (q *AccountQueries) Session(ctx context.Context, digest string) (*SessionRow, *AccountRow, error) {
	c, ok := q.cache.get(digest)
	if !ok {
		var err error
		if c, ok, err = q.cache.load(digest, func() (cachedSession, bool, error) {
			var s SessionRow
			found, err := readJSON(ctx, q.kv, sessionKey(digest), &s)
			if err != nil || !found {
				return cachedSession{}, false, err
			}
			a, err := q.Account(ctx, s.AccountID)
			if err != nil || a == nil {
				return cachedSession{}, false, err
			}
			return cachedSession{session: s, account: *a}, true, nil
		}); err != nil {
			return nil, nil, err
		}
	}
	if !ok || !q.clock.Now().Before(c.session.ExpiresAt) {
		return nil, nil, ErrSessionInvalid
	}
	s, a := c.session, c.account
	return &s, &a, nil
}

// Account returns an account row, or nil.
func (q *AccountQueries) Account(ctx context.Context, id uuid.UUID) (*AccountRow, error) {
	var a AccountRow
	found, err := readJSON(ctx, q.kv, accountKey(id), &a)
	if err != nil || !found || a.Username == "" {
		return nil, err
	}
	return &a, nil
}

// AccountByUsernameKey returns the account holding a username key, or nil.
func (q *AccountQueries) AccountByUsernameKey(ctx context.Context, k string) (*AccountRow, error) {
	v, err := q.kv.Get(ctx, usernameKey(k))
	if err != nil || v == nil {
		return nil, err
	}
	id, err := uuid.Parse(string(v))
	if err != nil {
		return nil, err
	}
	return q.Account(ctx, id)
}

package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"sleutel/domain"
	acct "sleutel/domain/account"
	"sleutel/domain/audit"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/report"
	"sleutel/projections"
)

// AuditConfig wires the audit API (SPEC H2, H3). Audit and AsOf are required.
type AuditConfig struct {
	Audit *projections.AuditQueries
	AsOf  *projections.AccessAsOf
	// AuditScopes decides what part of the history a caller may read;
	// DefaultAuditScope when nil.
	AuditScopes func(ctx context.Context, s *Server, p Principal) (AuditScope, error)
}

// AuditScope is the part of the history a caller may read (SPEC H2, H3, E2). Each
// audit request asks its caller's scope before it reads anything:
//
//   - platform-wide (PlatformScope): an account with the role auditor or operator
//     reads everything;
//   - an owner (OwnerScope): any other account reads its own locks' history, from
//     the moment it registered them, and its own changes;
//   - an auditor of an organization (OrganizationScope): the locks the
//     organization holds a key to, from then on, its own and its members'
//     streams, and their changes — together with its own locks (unionScope).
type AuditScope interface {
	// Global reports whether the caller may read the whole log without naming a
	// stream.
	Global() bool
	// Stream returns what of stream the caller may read; ErrStreamNotFound (not
	// found, E2) when nothing.
	Stream(ctx context.Context, stream string) (StreamBound, error)
	// Lock returns what of lock id's past the caller may see;
	// projections.ErrLockNotFound (not found, E2) when nothing.
	Lock(ctx context.Context, id uuid.UUID) (LockBound, error)
	// Actor returns nil when the caller may see what actor changed, and an error
	// with code forbidden otherwise.
	Actor(ctx context.Context, actor string) error
}

// StreamBound is the part of a stream a scope shows: from revision FromRevision
// and position FromPosition on.
type StreamBound struct {
	FromRevision uint64
	FromPosition es.Position
}

// LockBound is the part of a lock's past a scope shows: moments from From on, keys
// of tenure MinTenure or later (every key when 0).
type LockBound struct {
	From      time.Time
	MinTenure int
}

var (
	// ErrStreamNotFound is returned for a stream outside the caller's scope.
	ErrStreamNotFound = &domain.Error{Code: domain.ENotFound, Message: "stream not found"}
	errAuditGlobal    = &domain.Error{Code: domain.EForbidden, Message: "only auditors and operators read the whole history: name one of your locks' streams with stream=lock-<id> or stream=lockreport-<id>"}
	errAuditActor     = &domain.Error{Code: domain.EForbidden, Message: "only auditors and operators see what others changed: ask for your own account"}
)

// PlatformScope is the scope of platform-wide auditors and operators: everything.
type PlatformScope struct{}

// Global implements AuditScope.
func (PlatformScope) Global() bool { return true }

// Stream implements AuditScope.
func (PlatformScope) Stream(context.Context, string) (StreamBound, error) { return StreamBound{}, nil }

// Lock implements AuditScope.
func (PlatformScope) Lock(context.Context, uuid.UUID) (LockBound, error) { return LockBound{}, nil }

// Actor implements AuditScope.
func (PlatformScope) Actor(context.Context, string) error { return nil }

// OwnerScope is the scope of an account without an audit role: the locks it owns,
// from its registration on (their earlier owners' history is not its to see, E2),
// and its own changes.
type OwnerScope struct {
	Account uuid.UUID
	Queries *projections.LockQueries
	Audit   *projections.AuditQueries
}

// Global implements AuditScope.
func (OwnerScope) Global() bool { return false }

// Stream implements AuditScope: a lock's stream and its report stream, from the
// event that registered the lock to the caller on.
func (o OwnerScope) Stream(ctx context.Context, stream string) (StreamBound, error) {
	cat := es.Category(stream)
	id, ok := es.StreamID(stream)
	if !ok || cat != lock.Category && cat != report.Category {
		return StreamBound{}, ErrStreamNotFound
	}
	row, err := o.Queries.Lock(ctx, o.Account, id)
	if err != nil {
		return StreamBound{}, ErrStreamNotFound
	}
	reg, err := o.Audit.EventAt(ctx, lock.Stream(id), row.TenureStart)
	if err != nil {
		return StreamBound{}, err
	}
	b := StreamBound{FromPosition: reg.Position}
	if cat == lock.Category {
		b.FromRevision = row.TenureStart
	}
	return b, nil
}

// Lock implements AuditScope.
func (o OwnerScope) Lock(ctx context.Context, id uuid.UUID) (LockBound, error) {
	row, err := o.Queries.Lock(ctx, o.Account, id)
	if err != nil {
		return LockBound{}, err
	}
	return LockBound{From: row.RegisteredAt, MinTenure: row.Tenure}, nil
}

// Actor implements AuditScope.
func (o OwnerScope) Actor(_ context.Context, actor string) error {
	if actor != es.ActorOf(es.ActorAccount, o.Account.String()) {
		return errAuditActor
	}
	return nil
}

// DefaultAuditScope is the scope of p today: platform-wide for the roles auditor
// and operator; for every other account its own locks and changes, and what the
// organizations it audits let it see.
func DefaultAuditScope(_ context.Context, s *Server, p Principal) (AuditScope, error) {
	if p.HasRole(string(acct.RoleAuditor)) || p.HasRole(string(acct.RoleOperator)) {
		return PlatformScope{}, nil
	}
	own := OwnerScope{Account: p.AccountID, Queries: s.Queries, Audit: s.Audit}
	if len(p.AuditOrganizations) == 0 || s.Orgs == nil {
		return own, nil
	}
	u := unionScope{own}
	for _, org := range p.AuditOrganizations {
		u = append(u, OrganizationScope{Organization: org, Orgs: s.Orgs, Queries: s.Queries, Audit: s.Audit})
	}
	return u, nil
}

func (s *Server) auditScope(r *http.Request) (AuditScope, error) {
	scopes := s.AuditScopes
	if scopes == nil {
		scopes = DefaultAuditScope
	}
	return scopes(r.Context(), s, principal(r))
}

func (s *Server) auditRoutes() {
	s.handle(http.MethodGet, "/v1/audit/events", account, s.auditEvents)
	s.handle(http.MethodGet, "/v1/audit/locks/{lock}/access-as-of", account, s.accessAsOf)
	s.handle(http.MethodGet, "/v1/audit/actors/{id}/changes", account, s.actorChanges)
}

// auditEventList is a page of the audit history.
type auditEventList struct {
	Items      []projections.AuditEvent `json:"items"`
	NextCursor *string                  `json:"next_cursor"`
	// RedactedFields names the payload fields this API never shows; each event's
	// redacted lists those taken out of it.
	RedactedFields []string `json:"redacted_fields"`
}

func eventList(items []projections.AuditEvent, next *string) auditEventList {
	if items == nil {
		items = []projections.AuditEvent{}
	}
	return auditEventList{Items: items, NextCursor: next, RedactedFields: projections.RedactedFields}
}

func (s *Server) auditEvents(w http.ResponseWriter, r *http.Request) error {
	scope, err := s.auditScope(r)
	if err != nil {
		return err
	}
	limit, _, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	after := es.Start
	if v := q.Get("from_position"); v != "" {
		if after, err = es.ParsePosition(v); err != nil {
			return domain.Errorf(domain.EInvalid, "from_position must be a position such as 1042 (or commit/prepare)")
		}
	}
	f := projections.EventFilter{Stream: q.Get("stream"), Actor: q.Get("actor")}
	if t := q.Get("type"); t != "" {
		f.Types = strings.Split(t, ",")
	}
	if f.Since, err = timeParam(q.Get("since"), "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(q.Get("until"), "until"); err != nil {
		return err
	}
	if f.Stream == "" {
		if !scope.Global() {
			return errAuditGlobal
		}
	} else {
		if es.ValidateStream(f.Stream) != nil {
			return domain.Errorf(domain.EInvalid, "stream must be a stream name such as lock-<id>")
		}
		b, err := scope.Stream(r.Context(), f.Stream)
		if err != nil {
			return err
		}
		f.FromRevision, f.FromPosition = b.FromRevision, b.FromPosition
	}
	items, next, err := s.Audit.Events(r.Context(), f, after, limit)
	if err != nil {
		return err
	}
	var cursor *string
	if !next.IsZero() {
		c := next.String()
		cursor = &c
	}
	writeJSON(w, http.StatusOK, eventList(items, cursor))
	return nil
}

// accessAsOfBody is who could open a lock at a moment: the lock as it stood, and a
// page of its keys.
type accessAsOfBody struct {
	Lock       audit.Access      `json:"lock"`
	Items      []audit.KeyAccess `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

func (s *Server) accessAsOf(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	scope, err := s.auditScope(r)
	if err != nil {
		return err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	after, err := uuidCursor(cursor)
	if err != nil {
		return err
	}
	raw := r.URL.Query().Get("at")
	if raw == "" {
		return domain.Errorf(domain.EInvalid, "at is required: the moment to ask about, an RFC 3339 time such as 2026-01-31T09:00:00Z")
	}
	at, err := timeParam(raw, "at")
	if err != nil {
		return err
	}
	if at.After(s.Clock.Now()) {
		return domain.Errorf(domain.EInvalid, "at lies in the future: ask about a moment that has passed")
	}
	bound, err := scope.Lock(r.Context(), id)
	if err != nil {
		return err
	}
	if at.Before(bound.From) {
		return domain.Errorf(domain.EForbidden, "you may see this lock's past from %s on: from when you registered it, or when the organization you audit got its key", bound.From.UTC().Format(time.RFC3339))
	}
	ans, err := s.AsOf.At(r.Context(), id, at, audit.KeyQuery{MinTenure: bound.MinTenure, After: after, Limit: limit})
	if err != nil {
		return err
	}
	body := accessAsOfBody{Lock: ans.Lock, Items: ans.Keys}
	if body.Items == nil {
		body.Items = []audit.KeyAccess{}
	}
	if ans.More {
		body.NextCursor = cursorOf(ans.Keys[len(ans.Keys)-1].ID)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// actorOf reads the actor of a path: "account:<uuid>", "organization:<uuid>",
// "device:<uuid>", "system:<component>", any other "<kind>:<id>" that events name,
// or a bare UUID for an account.
func actorOf(raw string) (string, error) {
	if id, err := uuid.Parse(raw); err == nil {
		return es.ActorOf(es.ActorAccount, id.String()), nil
	}
	kind, rest, ok := strings.Cut(raw, ":")
	valid := ok && rest != "" && kind != "" && strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz") == ""
	switch {
	case !valid:
	case kind == es.ActorAccount || kind == es.ActorOrganization || kind == es.ActorDevice:
		if id, err := uuid.Parse(rest); err == nil {
			return es.ActorOf(kind, id.String()), nil
		}
	default:
		return raw, nil
	}
	return "", domain.Errorf(domain.EInvalid, "the actor is account:<id>, organization:<id>, device:<lock id>, system:<component> (any kind:id an event names) or an account id")
}

func (s *Server) actorChanges(w http.ResponseWriter, r *http.Request) error {
	actor, err := actorOf(mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	scope, err := s.auditScope(r)
	if err != nil {
		return err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	since, err := timeParam(q.Get("since"), "since")
	if err != nil {
		return err
	}
	until, err := timeParam(q.Get("until"), "until")
	if err != nil {
		return err
	}
	if err := scope.Actor(r.Context(), actor); err != nil {
		return err
	}
	items, next, err := s.Audit.ActorChanges(r.Context(), actor, since, until, cursor, limit)
	if err != nil {
		return err
	}
	var c *string
	if next != "" {
		c = &next
	}
	writeJSON(w, http.StatusOK, eventList(items, c))
	return nil
}

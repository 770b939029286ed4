package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
	"sleutel/domain/report"
	"sleutel/projections"
)

// OrganizationScope is the scope of an auditor of one organization (SPEC Actors):
// the organization's own stream and its members' accounts; the locks it holds an
// organization key to (L12), from the moment it got the key on; and what the
// organization and its members changed. Everything else reads as not found (E2).
type OrganizationScope struct {
	Organization uuid.UUID
	Orgs         *projections.OrganizationQueries
	Queries      *projections.LockQueries
	Audit        *projections.AuditQueries
}

// Global implements AuditScope.
func (OrganizationScope) Global() bool { return false }

// shared returns the organization's key row on lock id and the lock, or
// projections.ErrLockNotFound when the organization holds no key to it in the
// lock's current tenure.
func (o OrganizationScope) shared(ctx context.Context, id uuid.UUID) (*projections.SharedLockRow, *projections.LockRow, error) {
	s, err := o.Orgs.Shared(ctx, o.Organization, id)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		return nil, nil, projections.ErrLockNotFound
	}
	row, err := o.Queries.AnyLock(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if row == nil || row.Removed || s.SharedRevision < row.TenureStart {
		return nil, nil, projections.ErrLockNotFound
	}
	return s, row, nil
}

// Stream implements AuditScope.
func (o OrganizationScope) Stream(ctx context.Context, stream string) (StreamBound, error) {
	cat := es.Category(stream)
	id, ok := es.StreamID(stream)
	if !ok {
		return StreamBound{}, ErrStreamNotFound
	}
	switch cat {
	case organization.Category:
		if id == o.Organization {
			return StreamBound{}, nil
		}
	case commands.AccountCategory:
		if _, member, err := o.Orgs.RoleOf(ctx, o.Organization, id); err != nil || member {
			return StreamBound{}, err
		}
	case lock.Category, report.Category:
		s, _, err := o.shared(ctx, id)
		if errors.Is(err, projections.ErrLockNotFound) {
			return StreamBound{}, ErrStreamNotFound
		} else if err != nil {
			return StreamBound{}, err
		}
		got, err := o.Audit.EventAt(ctx, lock.Stream(id), s.SharedRevision)
		if err != nil {
			return StreamBound{}, err
		}
		b := StreamBound{FromPosition: got.Position}
		if cat == lock.Category {
			b.FromRevision = s.SharedRevision
		}
		return b, nil
	}
	return StreamBound{}, ErrStreamNotFound
}

// Lock implements AuditScope: a shared lock's past from the moment the
// organization got its key, in the current owner's tenure.
func (o OrganizationScope) Lock(ctx context.Context, id uuid.UUID) (LockBound, error) {
	s, row, err := o.shared(ctx, id)
	if err != nil {
		return LockBound{}, err
	}
	from := s.SharedAt
	if row.RegisteredAt.After(from) {
		from = row.RegisteredAt
	}
	return LockBound{From: from, MinTenure: row.Tenure}, nil
}

// errOrgAuditActor refuses an organization's auditor an actor outside it.
var errOrgAuditActor = &domain.Error{Code: domain.EForbidden,
	Message: "an organization's auditor sees what the organization and its members changed: this actor is neither"}

// Actor implements AuditScope.
func (o OrganizationScope) Actor(ctx context.Context, actor string) error {
	if actor == es.ActorOf(es.ActorOrganization, o.Organization.String()) {
		return nil
	}
	if kind, id, ok := strings.Cut(actor, ":"); ok && kind == es.ActorAccount {
		if account, err := uuid.Parse(id); err == nil {
			_, member, err := o.Orgs.RoleOf(ctx, o.Organization, account)
			if err != nil || member {
				return err
			}
		}
	}
	return errOrgAuditActor
}

// unionScope lets its caller read what any of its scopes lets it read: an owner
// who audits one or more organizations.
type unionScope []AuditScope

// Global implements AuditScope.
func (u unionScope) Global() bool {
	for _, s := range u {
		if s.Global() {
			return true
		}
	}
	return false
}

// Stream implements AuditScope: the widest bound any scope gives.
func (u unionScope) Stream(ctx context.Context, stream string) (StreamBound, error) {
	var best *StreamBound
	for _, s := range u {
		b, err := s.Stream(ctx, stream)
		if domain.ErrorCode(err) == domain.ENotFound {
			continue
		} else if err != nil {
			return StreamBound{}, err
		}
		if best == nil || b.FromPosition.Less(best.FromPosition) {
			best = &b
		}
	}
	if best == nil {
		return StreamBound{}, ErrStreamNotFound
	}
	return *best, nil
}

// Lock implements AuditScope: the widest bound any scope gives.
func (u unionScope) Lock(ctx context.Context, id uuid.UUID) (LockBound, error) {
	var best *LockBound
	for _, s := range u {
		b, err := s.Lock(ctx, id)
		if domain.ErrorCode(err) == domain.ENotFound {
			continue
		} else if err != nil {
			return LockBound{}, err
		}
		if best == nil || b.From.Before(best.From) {
			best = &b
		}
	}
	if best == nil {
		return LockBound{}, projections.ErrLockNotFound
	}
	return *best, nil
}

// Actor implements AuditScope.
func (u unionScope) Actor(ctx context.Context, actor string) error {
	var first error
	for _, s := range u {
		err := s.Actor(ctx, actor)
		if err == nil {
			return nil
		}
		if domain.ErrorCode(err) != domain.EForbidden {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// auditorRoutes appoint and dismiss auditors: platform-wide by the operator, for an
// organization by its admins or the operator (SPEC Actors).
func (s *Server) auditorRoutes() {
	s.handle(http.MethodPut, "/v1/auditors/{account_id}", account, s.appointAuditor)
	s.handle(http.MethodDelete, "/v1/auditors/{account_id}", account, s.dismissAuditor)
	s.handle(http.MethodPut, "/v1/organizations/{org_id}/auditors/{account_id}", account, s.appointAuditor)
	s.handle(http.MethodDelete, "/v1/organizations/{org_id}/auditors/{account_id}", account, s.dismissAuditor)
}

func (s *Server) appointAuditor(w http.ResponseWriter, r *http.Request) error {
	return s.auditorCommand(w, r, s.AccountAdmin.AppointAuditor)
}

func (s *Server) dismissAuditor(w http.ResponseWriter, r *http.Request) error {
	return s.auditorCommand(w, r, s.AccountAdmin.DismissAuditor)
}

func (s *Server) auditorCommand(w http.ResponseWriter, r *http.Request,
	run func(ctx context.Context, by commands.Caller, m commands.Meta, id, org uuid.UUID) (commands.Result, error)) error {
	org := uuid.Nil
	if _, named := mux.Vars(r)["org_id"]; named {
		var err error
		if org, err = pathID(r, "org_id"); err != nil {
			return err
		}
	}
	if _, err := s.runOn(w, r, "account_id", nil, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return run(r.Context(), caller(r), m, id, org)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

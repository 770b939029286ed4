package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/organization"
	"sleutel/domain/webhook"
	"sleutel/projections"
)

// Webhooks is what the webhook routes need (W1): the commands, the webhook views
// with their delivery logs, and a wait for those views, which a runtime of their
// own keeps apart from the read models.
type Webhooks interface {
	CreateWebhook(ctx context.Context, owner webhook.Owner, m commands.Meta, cmd commands.CreateWebhook) (commands.CreatedWebhook, error)
	DeleteWebhook(ctx context.Context, owner webhook.Owner, id uuid.UUID, m commands.Meta) (commands.Result, error)
	// OwnerOf returns who owns a webhook; projections.ErrWebhookNotFound when none.
	OwnerOf(ctx context.Context, id uuid.UUID) (webhook.Owner, error)
	// WaitFor waits until the webhook views have applied the log up to pos.
	WaitFor(ctx context.Context, pos es.Position) error
	Webhook(ctx context.Context, owner webhook.Owner, id uuid.UUID) (*projections.WebhookRow, error)
	Webhooks(ctx context.Context, owner webhook.Owner, after uuid.UUID, limit int) ([]projections.WebhookRow, uuid.UUID, error)
	Deliveries(ctx context.Context, owner webhook.Owner, id uuid.UUID, f projections.DeliveryFilter, before es.Position, limit int) ([]projections.DeliveryRow, es.Position, error)
}

// webhookView is the Webhook of the API. Secret is present only in the answer to
// its creation.
type webhookView struct {
	ID         uuid.UUID     `json:"id"`
	Owner      webhook.Owner `json:"owner"`
	URL        string        `json:"url"`
	EventTypes []string      `json:"event_types"`
	CreatedAt  time.Time     `json:"created_at"`
	Secret     string        `json:"secret,omitempty"`
}

func viewWebhook(r *projections.WebhookRow) webhookView {
	return webhookView{ID: r.ID, Owner: r.Owner, URL: r.URL, EventTypes: r.EventTypes, CreatedAt: r.RegisteredAt}
}

func (s *Server) webhookRoutes() {
	s.handle(http.MethodPost, "/v1/webhooks", account, s.createWebhook)
	s.handle(http.MethodGet, "/v1/webhooks", account, s.listWebhooks)
	s.handle(http.MethodGet, "/v1/webhooks/{webhook_id}", account, s.getWebhook)
	s.handle(http.MethodDelete, "/v1/webhooks/{webhook_id}", account, s.deleteWebhook)
	s.handle(http.MethodGet, "/v1/webhooks/{webhook_id}/deliveries", account, s.listDeliveries)
}

var errNoWebhooks = &domain.Error{Code: domain.ENotFound, Message: "no such endpoint"}

// webhookID reads the webhook id of the path; a malformed one is not found.
func webhookID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)["webhook_id"])
	if err != nil {
		return uuid.Nil, projections.ErrWebhookNotFound
	}
	return id, nil
}

// webhookOwner returns the owner the caller acts for: an organization named by
// organizationID (a body field or the query's organization_id) that the caller is
// an admin of (W1: an organization's webhooks are run by its admins, O4), or the
// caller's own account. A member or manager is refused; a stranger is told the
// organization does not exist (E2).
func (s *Server) webhookOwner(r *http.Request, organizationID string) (webhook.Owner, error) {
	p := principal(r)
	if organizationID == "" {
		return webhook.AccountOwner(p.AccountID), nil
	}
	org, err := uuid.Parse(organizationID)
	if err != nil {
		return webhook.Owner{}, domain.Errorf(domain.EInvalid, "organization_id is not an id")
	}
	if err := s.mayRunWebhooksOf(r.Context(), p.AccountID, webhook.OrganizationOwner(org)); err != nil {
		return webhook.Owner{}, err
	}
	return webhook.OrganizationOwner(org), nil
}

// errNotOrgAdmin refuses a member or manager who acts on the organization's webhooks.
var errNotOrgAdmin = &domain.Error{Code: domain.EForbidden, Message: "only the organization's admins run its webhooks"}

// mayRunWebhooksOf checks that account may act for owner's webhooks: it is the
// account, or an admin of the organization. Others get EForbidden (a member of the
// organization) or ENotFound.
func (s *Server) mayRunWebhooksOf(ctx context.Context, account uuid.UUID, owner webhook.Owner) error {
	switch {
	case owner.Kind == webhook.OwnerAccount && owner.ID == account:
		return nil
	case owner.Kind != webhook.OwnerOrganization || s.Orgs == nil:
		return projections.ErrWebhookNotFound
	}
	role, member, err := s.Orgs.RoleOf(ctx, owner.ID, account)
	switch {
	case err != nil:
		return err
	case !member:
		return projections.ErrOrganizationNotFound
	case role != organization.RoleAdmin:
		return errNotOrgAdmin
	}
	return nil
}

// ownedWebhook returns the id in the path and its owner, once the caller may act
// for that owner; a webhook of someone else reads as not found (E2).
func (s *Server) ownedWebhook(r *http.Request) (uuid.UUID, webhook.Owner, error) {
	id, err := webhookID(r)
	if err != nil {
		return uuid.Nil, webhook.Owner{}, err
	}
	owner, err := s.Webhooks.OwnerOf(r.Context(), id)
	if err != nil {
		return uuid.Nil, webhook.Owner{}, err
	}
	if err := s.mayRunWebhooksOf(r.Context(), principal(r).AccountID, owner); err != nil {
		if errors.Is(err, projections.ErrOrganizationNotFound) {
			err = projections.ErrWebhookNotFound
		}
		return uuid.Nil, webhook.Owner{}, err
	}
	return id, owner, nil
}

// settleWebhooks waits until the webhook views include a command's events.
func (s *Server) settleWebhooks(r *http.Request, res commands.Result) error {
	if res.Position.IsZero() {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.WaitTimeout)
	defer cancel()
	if err := s.Webhooks.WaitFor(ctx, res.Position); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &domain.Error{Code: domain.EInternal, Message: "the change is stored but the webhook views are late"}
		}
		return err
	}
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	var body struct {
		URL            string   `json:"url"`
		EventTypes     []string `json:"event_types"`
		OrganizationID string   `json:"organization_id"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	owner, err := s.webhookOwner(r, body.OrganizationID)
	if err != nil {
		return err
	}
	created, err := s.Webhooks.CreateWebhook(r.Context(), owner, m, commands.CreateWebhook{URL: body.URL, EventTypes: body.EventTypes})
	if err != nil {
		return err
	}
	if err := s.settleWebhooks(r, created.Result); err != nil {
		return err
	}
	h := created.Webhook
	w.Header().Set("Location", "/v1/webhooks/"+h.ID.String())
	writeJSON(w, http.StatusCreated, webhookView{ID: h.ID, Owner: h.Owner, URL: h.URL, EventTypes: h.EventTypes, CreatedAt: h.RegisteredAt, Secret: created.Secret})
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	after, err := uuidCursor(cursor)
	if err != nil {
		return err
	}
	owner, err := s.webhookOwner(r, r.URL.Query().Get("organization_id"))
	if err != nil {
		return err
	}
	rows, next, err := s.Webhooks.Webhooks(r.Context(), owner, after, limit)
	if err != nil {
		return err
	}
	out := listBody[webhookView]{Items: make([]webhookView, 0, len(rows)), NextCursor: cursorOf(next)}
	for i := range rows {
		out.Items = append(out.Items, viewWebhook(&rows[i]))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	id, owner, err := s.ownedWebhook(r)
	if err != nil {
		return err
	}
	row, err := s.Webhooks.Webhook(r.Context(), owner, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewWebhook(row))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	if err := noBody(r); err != nil {
		return err
	}
	id, owner, err := s.ownedWebhook(r)
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Webhooks.DeleteWebhook(r.Context(), owner, id, m)
	if err != nil {
		return err
	}
	if err := s.settleWebhooks(r, res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deliveryStatuses are the values of the status filter.
var deliveryStatuses = []string{projections.DeliveryPending, projections.DeliveryDelivered, projections.DeliveryFailed}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	id, owner, err := s.ownedWebhook(r)
	if err != nil {
		return err
	}
	limit, cursor, err := page(r)
	if err != nil {
		return err
	}
	var f projections.DeliveryFilter
	if st := r.URL.Query().Get("status"); st != "" {
		f.Status = st
		known := false
		for _, v := range deliveryStatuses {
			known = known || v == st
		}
		if !known {
			return domain.Errorf(domain.EInvalid, "status must be pending, delivered or failed")
		}
	}
	before := es.Start
	if cursor != "" {
		if before, err = es.ParsePosition(cursor); err != nil || before.IsZero() {
			return domain.Errorf(domain.EInvalid, "cursor is not one this API gave")
		}
	}
	rows, next, err := s.Webhooks.Deliveries(r.Context(), owner, id, f, before, limit)
	if err != nil {
		return err
	}
	out := listBody[projections.DeliveryRow]{Items: rows}
	if out.Items == nil {
		out.Items = []projections.DeliveryRow{}
	}
	if !next.IsZero() {
		c := next.String()
		out.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

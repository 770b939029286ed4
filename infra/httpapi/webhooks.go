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
	"sleutel/domain/webhook"
	"sleutel/projections"
)

// Webhooks is what the webhook routes need (W1): the commands, the webhook views
// with their delivery logs, and a wait for those views, which a runtime of their
// own keeps apart from the read models.
type Webhooks interface {
	CreateWebhook(ctx context.Context, owner uuid.UUID, m commands.Meta, cmd commands.CreateWebhook) (commands.CreatedWebhook, error)
	DeleteWebhook(ctx context.Context, owner, id uuid.UUID, m commands.Meta) (commands.Result, error)
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
		URL        string   `json:"url"`
		EventTypes []string `json:"event_types"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	created, err := s.Webhooks.CreateWebhook(r.Context(), principal(r).AccountID, m, commands.CreateWebhook{URL: body.URL, EventTypes: body.EventTypes})
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
	rows, next, err := s.Webhooks.Webhooks(r.Context(), webhook.AccountOwner(principal(r).AccountID), after, limit)
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
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	row, err := s.Webhooks.Webhook(r.Context(), webhook.AccountOwner(principal(r).AccountID), id)
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
	id, err := webhookID(r)
	if err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Webhooks.DeleteWebhook(r.Context(), principal(r).AccountID, id, m)
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
	id, err := webhookID(r)
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
	rows, next, err := s.Webhooks.Deliveries(r.Context(), webhook.AccountOwner(principal(r).AccountID), id, f, before, limit)
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

// Package httpapi serves Sleutel's HTTP API (gorilla/mux): JSON in and out, one
// error shape, strict decoding, authentication of accounts and devices, and
// read-your-writes: a command answers once the read models include its events, so a
// GET that follows sees its effect.
package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	"go.uber.org/zap"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/infra/logging"
	"sleutel/projections"
)

// Principal is who a request acts as: a logged-in account.
type Principal struct {
	AccountID uuid.UUID
	SessionID uuid.UUID
	Roles     []string
	// Network is set, without an account, for a request let in by one of the
	// organization's trusted networks (A7): it may only read as a member.
	Network uuid.UUID
	// AuditOrganizations are the organizations the account audits (SPEC Actors).
	AuditOrganizations []uuid.UUID
}

// HasRole reports whether the principal has role.
func (p Principal) HasRole(role string) bool {
	for _, r := range p.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Sessions authenticates bearer tokens.
type Sessions interface {
	// Authenticate returns the principal of a session token; an error with code
	// unauthorized for an unknown, ended or expired session.
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Waiter waits until the read models fed by a stream have applied the log up to
// a position.
type Waiter interface {
	WaitFor(ctx context.Context, stream string, pos es.Position) error
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// DevClock is a clock tests can advance over HTTP (sleuteld --dev-clock).
type DevClock interface {
	Clock
	Advance(d time.Duration) (time.Time, error)
}

// Config wires a Server. Every field but DevClock is required.
type Config struct {
	Logger   *zap.Logger
	Clock    Clock
	DevClock DevClock // nil unless --dev-clock
	Waiter   Waiter
	Sessions Sessions
	Accounts AccountService
	Codes    CodeService
	Locks    *commands.Locks
	Queries  *projections.LockQueries
	Log      *projections.LockLogQueries
	Access   *projections.AccessIndex
	// Organizations and Orgs serve organizations and shared key management (O1–O6,
	// L12); nil leaves those routes out.
	Organizations *commands.Organizations
	Orgs          *projections.OrganizationQueries
	Secrets       commands.Secrets
	Digest        commands.TokenDigest
	// Buildings and BuildingQueries serve building management (L13).
	Buildings       *commands.Buildings
	BuildingQueries *projections.BuildingQueries
	// Webhooks serves the webhook routes (W1); without it they answer not found.
	Webhooks Webhooks
	// AccountAdmin, Credentials and Emails serve accounts managed by organizations
	// and the operator, welcome letters, password recovery and sessions (A3–A6, A8).
	AccountAdmin *commands.AccountAdmin
	Credentials  CredentialService
	Emails       commands.EmailIndex
	// TrustedProxies are the peers whose X-Forwarded-For names the client (A7).
	TrustedProxies []netip.Prefix
	// WaitTimeout bounds a command's wait for the read models; 5 s when zero.
	WaitTimeout time.Duration
	AuditConfig // the audit API (H2, H3)
}

// Server is the HTTP API.
type Server struct {
	Config
	log    *zap.Logger
	router *mux.Router
}

// New returns the API's handler.
func New(c Config) *Server {
	if c.Logger == nil || c.Clock == nil || c.Waiter == nil || c.Sessions == nil || c.Accounts == nil || c.Codes == nil ||
		c.Locks == nil || c.Queries == nil || c.Log == nil || c.Access == nil || c.Secrets == nil || c.Digest == nil {
		panic("httpapi: nil dependency")
	}
	if c.Buildings == nil || c.BuildingQueries == nil {
		panic("httpapi: nil dependency")
	}
	if c.Audit == nil || c.AsOf == nil {
		panic("httpapi: nil audit dependency")
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = 5 * time.Second
	}
	s := &Server{Config: c, log: c.Logger, router: mux.NewRouter()}
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

type ctxKey int

const (
	principalKey ctxKey = iota
	deviceKey
	correlationKey
)

// handler is an API handler: it returns an error instead of writing one.
type handler func(w http.ResponseWriter, r *http.Request) error

// auth says who may call a route.
type auth int

const (
	public     auth = iota // anyone
	account                // a logged-in account
	device                 // a lock's device token
	memberRead             // an account, or without a login a GET from the organization's trusted network (A7)
)

func (s *Server) handle(method, path string, who auth, h handler) {
	s.router.Handle(path, s.wrap(path, who, h)).Methods(method)
}

// wrap adds what every route has: a correlation id, recovery, authentication, the
// error shape and one log line per request (STYLE §8), without bodies or tokens.
func (s *Server) wrap(route string, who auth, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		corr := r.Header.Get("X-Correlation-Id")
		if corr == "" || len(corr) > 100 {
			corr = uuid.Must(uuid.NewV7()).String()
		}
		rec.Header().Set("X-Correlation-Id", corr)
		ctx := context.WithValue(r.Context(), correlationKey, corr)
		actor := ""
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic serving request", logging.Route(route), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				if !rec.wrote {
					writeJSON(rec, http.StatusInternalServerError, errorBody{Error: errorDetail{Code: domain.EInternal, Message: "internal error"}})
				}
			}
			s.log.Info("request", logging.Method(r.Method), logging.Route(route), logging.Status(rec.status),
				logging.Duration(time.Since(start)), logging.CorrelationID(corr), logging.Actor(actor))
		}()
		r = r.WithContext(ctx)
		switch who {
		case account:
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(rec, r, err)
				return
			}
			actor = es.ActorOf(es.ActorAccount, p.AccountID.String())
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		case memberRead:
			p, who, err := s.authenticateReader(r)
			if err != nil {
				s.writeError(rec, r, err)
				return
			}
			actor = who
			r = r.WithContext(context.WithValue(r.Context(), principalKey, p))
		case device:
			lockID, err := s.authenticateDevice(r)
			if err != nil {
				s.writeError(rec, r, err)
				return
			}
			actor = es.ActorOf(es.ActorDevice, lockID.String())
			r = r.WithContext(context.WithValue(r.Context(), deviceKey, lockID))
		}
		if err := h(rec, r); err != nil {
			s.writeError(rec, r, err)
		}
	})
}

type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

var (
	errUnauthorized = &domain.Error{Code: domain.EUnauthorized, Message: "log in first: send Authorization: Bearer <token>"}
	errDevice       = &domain.Error{Code: domain.EUnauthorized, Message: "send Authorization: Device <token> with the lock's device token"}
	errNotOperator  = &domain.Error{Code: domain.EForbidden, Message: "only the platform's operator may do this"}
)

func (s *Server) authenticate(r *http.Request) (Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return Principal{}, errUnauthorized
	}
	return s.Sessions.Authenticate(r.Context(), strings.TrimSpace(token))
}

func (s *Server) authenticateDevice(r *http.Request) (uuid.UUID, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Device") || token == "" {
		return uuid.Nil, errDevice
	}
	id, found, err := s.Access.LockForDevice(r.Context(), s.Digest(strings.TrimSpace(token)))
	if err != nil {
		return uuid.Nil, err
	}
	if !found {
		return uuid.Nil, errDevice
	}
	return id, nil
}

func principal(r *http.Request) Principal {
	p, _ := r.Context().Value(principalKey).(Principal)
	return p
}

func deviceLock(r *http.Request) uuid.UUID {
	id, _ := r.Context().Value(deviceKey).(uuid.UUID)
	return id
}

// meta returns the command metadata of a request: actor, correlation id and the
// Idempotency-Key header.
func meta(r *http.Request) (commands.Meta, error) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return commands.Meta{}, domain.Errorf(domain.EInvalid, "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	corr, _ := r.Context().Value(correlationKey).(string)
	m := commands.Meta{CorrelationID: corr}
	if key != "" {
		// Scope the key to the route, so one key cannot replay another command; the
		// commands scope it to the actor (or, before there is one, to the username).
		m.IdempotencyKey = r.Method + " " + r.URL.Path + " " + key
	}
	if p := principal(r); p.AccountID != uuid.Nil {
		m.Actor = es.ActorOf(es.ActorAccount, p.AccountID.String())
	}
	return m, nil
}

// settle waits until the read models include a command's events, so the answer and
// any GET after it see them (read-your-writes).
func (s *Server) settle(r *http.Request, res commands.Result) error {
	if res.Position.IsZero() {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.WaitTimeout)
	defer cancel()
	if err := s.Waiter.WaitFor(ctx, res.Stream, res.Position); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return &domain.Error{Code: domain.EInternal, Message: "the change is stored but the read models are late"}
		}
		return err
	}
	return nil
}

func pathID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)[name])
	if err != nil {
		return uuid.Nil, &domain.Error{Code: domain.ENotFound, Message: strings.ReplaceAll(name, "_", " ") + " not found"}
	}
	return id, nil
}

func (s *Server) routes() {
	s.router.NotFoundHandler = s.wrap("not_found", public, func(http.ResponseWriter, *http.Request) error {
		return &domain.Error{Code: domain.ENotFound, Message: "no such endpoint"}
	})
	s.router.MethodNotAllowedHandler = s.wrap("method_not_allowed", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed", Message: r.Method + " is not allowed here"}})
		return nil
	})
	s.handle(http.MethodGet, "/healthz", public, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	})
	s.handle(http.MethodGet, "/openapi.json", public, func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(openAPI)
		return err
	})
	s.accountRoutes()
	s.lockRoutes()
	s.keyRoutes()
	s.deviceRoutes()
	s.accountManageRoutes()
	s.auditRoutes()
	s.auditorRoutes()
	s.buildingRoutes()
	s.webhookRoutes()
	s.organizationRoutes()
	if s.DevClock != nil {
		s.handle(http.MethodPost, "/v1/dev/clock", public, s.advanceClock)
	}
}

func (s *Server) advanceClock(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Advance string `json:"advance"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	d, err := time.ParseDuration(body.Advance)
	if err != nil {
		return domain.Errorf(domain.EInvalid, "advance must be a duration such as \"2160h\"")
	}
	now, err := s.DevClock.Advance(d)
	if err != nil {
		return domain.Errorf(domain.EInvalid, "%s", err.Error())
	}
	writeJSON(w, http.StatusOK, map[string]time.Time{"now": now.UTC()})
	return nil
}

package httpapi

import (
	"context"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"sleutel/commands"
	"sleutel/domain"
	acct "sleutel/domain/account"
)

// CredentialService runs what an account does with its password and sessions,
// and the forgotten-password flow (A4, A8). *commands.Accounts implements it.
type CredentialService interface {
	// RequestPasswordReset asks for a reset link by username or email; it fails
	// only when the store does.
	RequestPasswordReset(ctx context.Context, m commands.Meta, usernameOrEmail string, emails commands.EmailIndex) error
	// ResetPassword sets a password with a reset link's token (ENotFound when it
	// is unusable).
	ResetPassword(ctx context.Context, m commands.Meta, token, password string) (commands.Result, error)
	// ChangePassword sets a password given the current one (EForbidden when wrong)
	// and ends the other sessions.
	ChangePassword(ctx context.Context, m commands.Meta, accountID, session uuid.UUID, current, password string) (commands.Result, error)
	// Sessions lists the account's live sessions.
	Sessions(ctx context.Context, accountID uuid.UUID) ([]acct.Session, error)
	// EndSession ends one of the account's sessions (ENotFound when it is not one).
	EndSession(ctx context.Context, m commands.Meta, accountID, sessionID uuid.UUID) (commands.Result, error)
}

// accountManageRoutes are the routes of accounts managed by organizations and the
// operator, welcome letters, password recovery and sessions (A3–A6, A8).
func (s *Server) accountManageRoutes() {
	s.handle(http.MethodGet, "/v1/accounts/{account_id}", account, s.getAccount)
	s.handle(http.MethodPost, "/v1/accounts/{account_id}/unlock", account, s.unlockAccount)
	s.handle(http.MethodPut, "/v1/accounts/{account_id}/email", account, s.changeEmail)
	s.handle(http.MethodPost, "/v1/accounts/{account_id}/activations", account, s.issueActivation)
	s.handle(http.MethodGet, "/v1/accounts/{account_id}/letter", account, s.letter)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/accounts", account, s.createResident)
	s.handle(http.MethodPost, "/v1/activations", public, s.activate)
	s.handle(http.MethodPost, "/v1/password-resets", public, s.requestPasswordReset)
	s.handle(http.MethodPost, "/v1/password-resets/{token}", public, s.resetPassword)
	s.handle(http.MethodPut, "/v1/me/password", account, s.changePassword)
	s.handle(http.MethodGet, "/v1/me/sessions", account, s.listSessions)
	s.handle(http.MethodDelete, "/v1/me/sessions/{session_id}", account, s.endSession)
}

// accountView is the Account of the API: what the account itself and those who
// manage it see (A5). It never holds a password hash.
type accountView struct {
	ID       uuid.UUID `json:"id"`
	Username string    `json:"username"`
	Email    string    `json:"email"`
	Roles    []string  `json:"roles"`
	// AuditOrganizations are the organizations the account audits.
	AuditOrganizations []uuid.UUID `json:"audit_organizations"`
	CreatedBy          *uuid.UUID  `json:"created_by"`
	OrganizationID     *uuid.UUID  `json:"organization_id"`
	Shared             bool        `json:"shared"`
	Activated          bool        `json:"activated"`
	LockedUntil        *time.Time  `json:"locked_until"`
	RegisteredAt       time.Time   `json:"registered_at"`
}

func viewAccount(a commands.AccountInfo) accountView {
	v := accountView{ID: a.ID, Username: a.Username, Email: a.Email, Roles: []string{}, AuditOrganizations: a.AuditOrganizations, Shared: a.Shared,
		Activated: a.Activated, RegisteredAt: a.RegisteredAt.UTC()}
	for _, r := range a.Roles {
		v.Roles = append(v.Roles, string(r))
	}
	if v.AuditOrganizations == nil {
		v.AuditOrganizations = []uuid.UUID{}
	}
	if a.CreatedBy != uuid.Nil {
		v.CreatedBy = &a.CreatedBy
	}
	if a.OrganizationID != uuid.Nil {
		v.OrganizationID = &a.OrganizationID
	}
	if !a.LockedUntil.IsZero() {
		u := a.LockedUntil.UTC()
		v.LockedUntil = &u
	}
	return v
}

// caller returns the request's account as a command caller.
func caller(r *http.Request) commands.Caller {
	p := principal(r)
	return commands.Caller{ID: p.AccountID, Operator: p.HasRole("operator")}
}

func (s *Server) respondAccount(w http.ResponseWriter, r *http.Request, id uuid.UUID, status int) error {
	info, err := s.AccountAdmin.Account(r.Context(), caller(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, viewAccount(info))
	return nil
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account_id")
	if err != nil {
		return err
	}
	return s.respondAccount(w, r, id, http.StatusOK)
}

// accountCommand runs a command on the account in the path, waits for the read
// models and answers with the account.
func (s *Server) accountCommand(w http.ResponseWriter, r *http.Request, body any, run func(id uuid.UUID, m commands.Meta) (commands.Result, error)) error {
	id, err := s.runOn(w, r, "account_id", body, run)
	if err != nil {
		return err
	}
	return s.respondAccount(w, r, id, http.StatusOK)
}

func (s *Server) unlockAccount(w http.ResponseWriter, r *http.Request) error {
	return s.accountCommand(w, r, nil, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.AccountAdmin.Unlock(r.Context(), caller(r), m, id)
	})
}

func (s *Server) changeEmail(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Email string `json:"email"`
	}
	return s.accountCommand(w, r, &body, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.AccountAdmin.ChangeEmail(r.Context(), caller(r), m, id, body.Email)
	})
}

// letterURL is where the welcome letter of an account is shown (A6).
func letterURL(id uuid.UUID) string { return "/v1/accounts/" + id.String() + "/letter" }

func (s *Server) issueActivation(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account_id")
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
	res, err := s.AccountAdmin.IssueActivation(r.Context(), caller(r), m, id)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.Header().Set("Location", letterURL(id))
	writeJSON(w, http.StatusCreated, map[string]string{"letter_url": letterURL(id)})
	return nil
}

func (s *Server) createResident(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	var body struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Shared   bool   `json:"shared"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.AccountAdmin.CreateResident(r.Context(), principal(r).AccountID, m, org,
		commands.Resident{Username: body.Username, Email: body.Email, Shared: body.Shared})
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	info, err := s.AccountAdmin.Account(r.Context(), caller(r), res.AccountID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/accounts/"+res.AccountID.String())
	writeJSON(w, http.StatusCreated, map[string]any{"account": viewAccount(info), "letter_url": letterURL(res.AccountID)})
	return nil
}

// letterPage is the printable welcome letter (A6). html/template escapes the
// username; the code is of the activation alphabet only.
var letterPage = template.Must(template.New("letter").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Welcome to Sleutel</title>
<style>
body { font-family: Georgia, serif; max-width: 40em; margin: 3em auto; line-height: 1.5; color: #111; }
.box { border: 2px solid #111; padding: 1em 1.5em; margin: 2em 0; }
.code { font-family: "Courier New", monospace; font-size: 1.6em; letter-spacing: 0.1em; }
@media print { body { margin: 2cm; } .noprint { display: none; } }
</style>
</head>
<body>
<h1>Welcome to Sleutel</h1>
<p>An account was made for you. With it you open your doors with your phone and see who has a key.</p>
<div class="box">
<p>Username: <strong class="code">{{.Username}}</strong></p>
<p>Activation code: <strong class="code">{{.Code}}</strong></p>
</div>
<p>To start, choose a password of at least 10 characters with this code, before {{.ExpiresAt}}.
Send <code>POST /v1/activations</code> with <code>{"activation_code": "…", "password": "…"}</code>, or let the app do it for you.
The code works once. Keep this letter private until you have used it.</p>
<p class="noprint"><button onclick="window.print()">Print this letter</button></p>
</body>
</html>
`))

func (s *Server) letter(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account_id")
	if err != nil {
		return err
	}
	l, err := s.AccountAdmin.Letter(r.Context(), principal(r).AccountID, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	return letterPage.Execute(w, map[string]string{"Username": l.Username, "Code": l.Code,
		"ExpiresAt": l.ExpiresAt.UTC().Format("2 January 2006")})
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Code     string `json:"activation_code"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.AccountAdmin.Activate(r.Context(), m, body.Code, body.Password)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": res.AccountID, "username": res.Username})
	return nil
}

// resetAccepted is the one answer to a reset request (A4): the same body whether
// or not an account matched.
var resetAccepted = map[string]string{"message": "If an account matches, a link to choose a new password is on its way to its email address. It works for one hour."}

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		UsernameOrEmail string `json:"username_or_email"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.UsernameOrEmail) == "" || len(body.UsernameOrEmail) > acct.MaxEmail {
		return domain.Errorf(domain.EInvalid, "username_or_email names a username or an email address")
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	// No settle: the mail goes out from the event, and waiting would take longer
	// when an account matched.
	if err := s.Credentials.RequestPasswordReset(r.Context(), m, body.UsernameOrEmail, s.Emails); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, resetAccepted)
	return nil
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		NewPassword string `json:"new_password"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Credentials.ResetPassword(r.Context(), m, pathVar(r, "token"), body.NewPassword)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	p := principal(r)
	res, err := s.Credentials.ChangePassword(r.Context(), m, p.AccountID, p.SessionID, body.CurrentPassword, body.NewPassword)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sessionView is a Session of the API.
type sessionView struct {
	ID        uuid.UUID `json:"id"`
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Current   bool      `json:"current"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	sessions, err := s.Credentials.Sessions(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	out := listBody[sessionView]{Items: make([]sessionView, 0, len(sessions))}
	for _, x := range sessions {
		out.Items = append(out.Items, sessionView{ID: x.ID, StartedAt: x.StartedAt.UTC(), ExpiresAt: x.ExpiresAt.UTC(), Current: x.ID == p.SessionID})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "session_id")
	if err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Credentials.EndSession(r.Context(), m, principal(r).AccountID, id)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pathVar returns a path variable as given.
func pathVar(r *http.Request, name string) string { return mux.Vars(r)[name] }

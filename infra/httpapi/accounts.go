package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"sleutel/commands"
	"sleutel/domain/organization"
	"sleutel/projections"
)

// AccountService runs the account commands.
type AccountService interface {
	// SignUp creates an account (self sign-up).
	SignUp(ctx context.Context, m commands.Meta, cmd commands.SignUp) (commands.SignedUp, error)
	// Login checks a password and starts a session (A2, A3).
	Login(ctx context.Context, m commands.Meta, username, password string) (commands.LoggedIn, error)
}

// CodeService runs the prepaid-code commands.
type CodeService interface {
	// IssueCodes issues a batch of codes of one product (P1): mayIssue is true for
	// the operator and a reseller's admins, and EForbidden answers anyone else.
	IssueCodes(ctx context.Context, by uuid.UUID, mayIssue bool, m commands.Meta, product string, count int) (commands.IssuedCodes, error)
	// RedeemOnLock redeems a code on a lock the caller owns (L3, L8, L11, P2, P3).
	RedeemOnLock(ctx context.Context, by, lockID uuid.UUID, m commands.Meta, code string) (commands.Result, error)
}

func (s *Server) accountRoutes() {
	s.handle(http.MethodPost, "/v1/accounts", public, s.signUp)
	s.handle(http.MethodPost, "/v1/sessions", public, s.login)
	s.handle(http.MethodPost, "/v1/codes", account, s.issueCodes)
}

func (s *Server) signUp(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Accounts.SignUp(r.Context(), m, commands.SignUp{Username: body.Username, Email: body.Email, Password: body.Password})
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	out := map[string]any{"id": res.AccountID, "username": res.Username}
	if s.Organizations != nil {
		// O3: an email of an allowed domain links the account to that organization,
		// or, when several share the domain, the answer lists them to choose from
		// (PUT /v1/me/organization).
		joined, choices, jres, err := s.Organizations.JoinByDomain(r.Context(), res.AccountID, body.Email, m)
		if err != nil {
			return err
		}
		if err := s.settle(r, jres); err != nil {
			return err
		}
		if joined != uuid.Nil {
			out["organization_id"] = joined
		}
		if len(choices) > 0 {
			out["choose_organization"] = choices
		}
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Accounts.Login(r.Context(), m, body.Username, body.Password)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": res.Token, "expires_at": res.ExpiresAt.UTC().Format(time.RFC3339)})
	return nil
}

// resellerAdmin reports whether account is an admin of an organization the
// operator marked as a reseller (P1: a reseller issues prepaid codes too).
func (s *Server) resellerAdmin(ctx context.Context, account uuid.UUID) (bool, error) {
	if s.Orgs == nil {
		return false, nil
	}
	roles, err := s.Orgs.MembershipsOf(ctx, account)
	if err != nil {
		return false, err
	}
	for org, role := range roles {
		if role != organization.RoleAdmin {
			continue
		}
		row, err := s.Orgs.Organization(ctx, account, org, true)
		if errors.Is(err, projections.ErrOrganizationNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if row.Reseller {
			return true, nil
		}
	}
	return false, nil
}

func (s *Server) issueCodes(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Product string `json:"product"`
		Count   int    `json:"count"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	p := principal(r)
	may := p.HasRole("operator")
	if !may {
		if may, err = s.resellerAdmin(r.Context(), p.AccountID); err != nil {
			return err
		}
	}
	res, err := s.Codes.IssueCodes(r.Context(), p.AccountID, may, m, body.Product, body.Count)
	if err != nil {
		return err
	}
	if err := s.settle(r, res.Result); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"product": res.Product, "codes": res.Codes})
	return nil
}

package httpapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"sleutel/commands"
	"sleutel/domain"
	"sleutel/domain/organization"
	"sleutel/projections"
)

func (s *Server) organizationRoutes() {
	s.handle(http.MethodPost, "/v1/me/redemptions", account, s.redeemForAccount)
	s.handle(http.MethodPut, "/v1/me/organization", account, s.chooseOrganization)
	s.handle(http.MethodPost, "/v1/organizations", account, s.createOrganization)
	s.handle(http.MethodGet, "/v1/organizations", account, s.listOrganizations)
	s.handle(http.MethodGet, "/v1/organizations/{org_id}", memberRead, s.getOrganization)
	s.handle(http.MethodPatch, "/v1/organizations/{org_id}", account, s.updateOrganization)
	s.handle(http.MethodPut, "/v1/organizations/{org_id}/domains", account, s.setDomains)
	s.handle(http.MethodPut, "/v1/organizations/{org_id}/reseller", account, s.setReseller)
	s.handle(http.MethodPut, "/v1/organizations/{org_id}/trusted-networks", account, s.setTrustedNetworks)
	s.handle(http.MethodGet, "/v1/organizations/{org_id}/members", memberRead, s.listMembers)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/members", account, s.addMember)
	s.handle(http.MethodPatch, "/v1/organizations/{org_id}/members/{account_id}", account, s.changeMember)
	s.handle(http.MethodDelete, "/v1/organizations/{org_id}/members/{account_id}", account, s.removeMember)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/invitations", account, s.invite)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/invitations/{token}/acceptance", public, s.acceptInvitation)
	s.handle(http.MethodGet, "/v1/organizations/{org_id}/locks", memberRead, s.sharedLocks)
	s.handle(http.MethodPut, "/v1/organizations/{org_id}/locks/{lock_id}/access", account, s.setAccessMode)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/locks/{lock_id}/access-requests", account, s.requestAccess)
	s.handle(http.MethodGet, "/v1/organizations/{org_id}/access-requests", account, s.listRequests)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/access-requests/{request_id}/approval", account, s.approveRequest)
	s.handle(http.MethodPost, "/v1/organizations/{org_id}/access-requests/{request_id}/denial", account, s.denyRequest)
	s.handle(http.MethodPost, "/v1/locks/{lock}/organization-keys", account, s.grantOrganization)
	s.handle(http.MethodGet, "/v1/locks/{lock}/organization-keys", account, s.listOrganizationKeys)
	s.handle(http.MethodDelete, "/v1/locks/{lock}/organization-keys/{org_id}", account, s.revokeOrganization)
}

// organizationView is the Organization of the API.
type organizationView struct {
	projections.OrganizationRow
	Role organization.Role `json:"role,omitempty"` // the caller's
}

func (s *Server) respondOrganization(w http.ResponseWriter, r *http.Request, id uuid.UUID, status int) error {
	p := principal(r)
	row, err := s.Orgs.Organization(r.Context(), p.AccountID, id, p.HasRole("operator") || p.Network == id)
	if err != nil {
		return err
	}
	role, _, err := s.Orgs.RoleOf(r.Context(), id, p.AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, status, organizationView{OrganizationRow: *row, Role: role})
	return nil
}

// orgCommand runs a command on the organization in the path and answers with it.
func (s *Server) orgCommand(w http.ResponseWriter, r *http.Request, body any, status int, run func(org uuid.UUID, m commands.Meta) (commands.Result, error)) error {
	org, err := s.runOn(w, r, "org_id", body, run)
	if err != nil {
		return err
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	return s.respondOrganization(w, r, org, status)
}

func (s *Server) redeemForAccount(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Code string `json:"code"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Organizations.RedeemForAccount(r.Context(), principal(r).AccountID, m, body.Code)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"organization_management": true})
	return nil
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name           string     `json:"name"`
		AdminAccountID *uuid.UUID `json:"admin_account_id"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	p := principal(r)
	admin := uuid.Nil
	if body.AdminAccountID != nil {
		if !p.HasRole("operator") {
			return domain.Errorf(domain.EForbidden, "only the operator founds an organization for another account")
		}
		admin = *body.AdminAccountID
	}
	id, res, err := s.Organizations.CreateOrganization(r.Context(), p.AccountID, p.HasRole("operator"), m, body.Name, admin)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/organizations/"+id.String())
	return s.respondOrganization(w, r, id, http.StatusCreated)
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	roles, err := s.Orgs.MembershipsOf(r.Context(), p.AccountID)
	if err != nil {
		return err
	}
	out := listBody[organizationView]{Items: []organizationView{}}
	for id, role := range roles {
		row, err := s.Orgs.Organization(r.Context(), p.AccountID, id, true)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, organizationView{OrganizationRow: *row, Role: role})
	}
	sortByID(out.Items, func(v organizationView) uuid.UUID { return v.ID })
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	return s.respondOrganization(w, r, org, http.StatusOK)
}

func (s *Server) updateOrganization(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name             *string `json:"name"`
		SelfRegistration *bool   `json:"self_registration"`
	}
	by := principal(r).AccountID
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.Update(r.Context(), org, m, func(o *organization.Organization, now time.Time) error {
			if body.Name != nil {
				if err := o.Rename(by, *body.Name, now); err != nil {
					return err
				}
			}
			if body.SelfRegistration != nil {
				return o.SetSelfRegistration(by, *body.SelfRegistration, now)
			}
			return nil
		})
	})
}

func (s *Server) operatorOnly(r *http.Request) error {
	if !principal(r).HasRole("operator") {
		return errNotOperator
	}
	return nil
}

func (s *Server) setDomains(w http.ResponseWriter, r *http.Request) error {
	if err := s.operatorOnly(r); err != nil {
		return err
	}
	var body struct {
		Domains []string `json:"domains"`
	}
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.Update(r.Context(), org, m, func(o *organization.Organization, now time.Time) error {
			return o.SetDomains(principal(r).AccountID, body.Domains, now)
		})
	})
}

func (s *Server) setReseller(w http.ResponseWriter, r *http.Request) error {
	if err := s.operatorOnly(r); err != nil {
		return err
	}
	var body struct {
		Reseller bool `json:"reseller"`
	}
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.Update(r.Context(), org, m, func(o *organization.Organization, now time.Time) error {
			return o.SetReseller(principal(r).AccountID, body.Reseller, now)
		})
	})
}

func (s *Server) setTrustedNetworks(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		CIDRs []string `json:"cidrs"`
	}
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.Update(r.Context(), org, m, func(o *organization.Organization, now time.Time) error {
			return o.SetTrustedNetworks(principal(r).AccountID, body.CIDRs, now)
		})
	})
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	var rows []projections.MemberRow
	if p := principal(r); p.Network == org {
		rows, err = s.Orgs.MemberList(r.Context(), org) // a trusted network (A7)
	} else {
		rows, err = s.Orgs.Members(r.Context(), p.AccountID, org)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listBody[projections.MemberRow]{Items: rows})
	return nil
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		AccountID uuid.UUID `json:"account_id"`
		Role      string    `json:"role"`
	}
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.AddMember(r.Context(), principal(r).AccountID, org, body.AccountID, organization.Role(body.Role), m)
	})
}

func (s *Server) changeMember(w http.ResponseWriter, r *http.Request) error {
	member, err := pathID(r, "account_id")
	if err != nil {
		return err
	}
	var body struct {
		Role string `json:"role"`
	}
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.Update(r.Context(), org, m, func(o *organization.Organization, now time.Time) error {
			return o.ChangeRole(principal(r).AccountID, member, organization.Role(body.Role), now)
		})
	})
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) error {
	member, err := pathID(r, "account_id")
	if err != nil {
		return err
	}
	return s.orgCommand(w, r, nil, http.StatusNoContent, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.Update(r.Context(), org, m, func(o *organization.Organization, now time.Time) error {
			return o.RemoveMember(principal(r).AccountID, member, now)
		})
	})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	var body struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if body.Role == "" {
		body.Role = string(organization.RoleMember)
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	id, res, err := s.Organizations.Invite(r.Context(), principal(r).AccountID, org, body.Email, organization.Role(body.Role), m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "email": body.Email, "role": body.Role,
		"expires_at": s.Clock.Now().Add(commands.InvitationTTL).UTC().Format(time.RFC3339)})
	return nil
}

// acceptInvitation completes an invitation (O2): a logged-in account joins; without
// a login, {username, password} registers a new account with the invited email
// address, which then joins.
func (s *Server) acceptInvitation(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	token := mux.Vars(r)["token"]
	m, err := meta(r)
	if err != nil {
		return err
	}
	var member uuid.UUID
	status := http.StatusOK
	if r.Header.Get("Authorization") != "" {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		if err := noBody(r); err != nil {
			return err
		}
		member = p.AccountID
	} else {
		var body struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := decode(w, r, &body); err != nil {
			return err
		}
		email, err := s.Organizations.InvitationEmail(r.Context(), org, token)
		if err != nil {
			return err
		}
		up, err := s.Accounts.SignUp(r.Context(), m, commands.SignUp{Username: body.Username, Email: email, Password: body.Password})
		if err != nil {
			return err
		}
		member, status = up.AccountID, http.StatusCreated
	}
	res, err := s.Organizations.AcceptInvitation(r.Context(), org, token, member, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, status, map[string]any{"organization_id": org, "account_id": member})
	return nil
}

func (s *Server) chooseOrganization(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		OrganizationID uuid.UUID `json:"organization_id"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	m, err := meta(r)
	if err != nil {
		return err
	}
	res, err := s.Organizations.JoinChosen(r.Context(), principal(r).AccountID, body.OrganizationID, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	return s.respondOrganization(w, r, body.OrganizationID, http.StatusOK)
}

func (s *Server) sharedLocks(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	var rows []projections.SharedLockRow
	if p := principal(r); p.Network == org {
		rows, err = s.Orgs.SharedLockList(r.Context(), org) // a trusted network (A7)
	} else {
		rows, err = s.Orgs.SharedLocks(r.Context(), p.AccountID, org)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listBody[projections.SharedLockRow]{Items: rows})
	return nil
}

func (s *Server) setAccessMode(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock_id")
	if err != nil {
		return err
	}
	var body struct {
		Mode string `json:"mode"`
	}
	return s.orgCommand(w, r, &body, http.StatusOK, func(org uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Organizations.SetLockAccessMode(r.Context(), principal(r).AccountID, org, lockID, body.Mode, m)
	})
}

func (s *Server) requestAccess(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	lockID, err := pathID(r, "lock_id")
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
	id, res, err := s.Organizations.RequestAccess(r.Context(), principal(r).AccountID, org, lockID, m)
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "lock_id": lockID, "status": "pending"})
	return nil
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	rows, err := s.Orgs.Requests(r.Context(), principal(r).AccountID, org)
	if err != nil {
		return err
	}
	if rows == nil {
		rows = []projections.AccessRequestRow{}
	}
	writeJSON(w, http.StatusOK, listBody[projections.AccessRequestRow]{Items: rows})
	return nil
}

func (s *Server) decideRequest(w http.ResponseWriter, r *http.Request, approve bool) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	req, err := pathID(r, "request_id")
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
	by := principal(r).AccountID
	out := map[string]any{"id": req}
	var res commands.Result
	if approve {
		var keyID uuid.UUID
		keyID, res, err = s.Organizations.ApproveRequest(r.Context(), by, org, req, m)
		out["status"], out["key_id"] = "approved", keyID
	} else {
		res, err = s.Organizations.DenyRequest(r.Context(), by, org, req, m)
		out["status"] = "denied"
	}
	if err != nil {
		return err
	}
	if err := s.settle(r, res); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) approveRequest(w http.ResponseWriter, r *http.Request) error {
	return s.decideRequest(w, r, true)
}

func (s *Server) denyRequest(w http.ResponseWriter, r *http.Request) error {
	return s.decideRequest(w, r, false)
}

func (s *Server) grantOrganization(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		OrganizationID uuid.UUID `json:"organization_id"`
		Quota          int       `json:"quota"`
	}
	return s.onLock(w, r, &body, http.StatusOK, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Locks.GrantOrganization(r.Context(), principal(r).AccountID, id, body.OrganizationID, body.Quota, m)
	})
}

type organizationKeyView struct {
	OrganizationID uuid.UUID `json:"organization_id"`
	Quota          int       `json:"quota"`
	Issued         int       `json:"issued"`
}

func (s *Server) listOrganizationKeys(w http.ResponseWriter, r *http.Request) error {
	lockID, err := pathID(r, "lock")
	if err != nil {
		return err
	}
	grants, err := s.Locks.OrganizationKeys(r.Context(), principal(r).AccountID, lockID)
	if err != nil {
		return err
	}
	out := listBody[organizationKeyView]{Items: []organizationKeyView{}}
	for _, g := range grants {
		out.Items = append(out.Items, organizationKeyView{OrganizationID: g.Organization, Quota: g.Quota, Issued: g.Issued})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeOrganization(w http.ResponseWriter, r *http.Request) error {
	org, err := pathID(r, "org_id")
	if err != nil {
		return err
	}
	return s.onLock(w, r, nil, http.StatusNoContent, func(id uuid.UUID, m commands.Meta) (commands.Result, error) {
		return s.Locks.RevokeOrganization(r.Context(), principal(r).AccountID, id, org, m)
	})
}

func sortByID[T any](items []T, id func(T) uuid.UUID) {
	slices.SortFunc(items, func(a, b T) int { x, y := id(a), id(b); return slices.Compare(x[:], y[:]) })
}

package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
)

// OrganizationRow is the read model of an organization.
type OrganizationRow struct {
	ID               uuid.UUID `json:"id"`
	Name             string    `json:"name"`
	Management       bool      `json:"organization_management"`
	Reseller         bool      `json:"reseller"`
	Domains          []string  `json:"domains"`
	SelfRegistration bool      `json:"self_registration"`
	TrustedNetworks  []string  `json:"trusted_networks"`
	CreatedAt        time.Time `json:"created_at"`
}

// MemberRow is one member of an organization.
type MemberRow struct {
	AccountID uuid.UUID         `json:"account_id"`
	Role      organization.Role `json:"role"`
	Via       string            `json:"via"`
	AddedAt   time.Time         `json:"added_at"`
}

// SharedLockRow is a lock an organization holds a key to (L12), with its access
// mode (O5).
type SharedLockRow struct {
	LockID     uuid.UUID `json:"lock_id"`
	Quota      int       `json:"quota,omitempty"`
	AccessMode string    `json:"access_mode"`
	// SharedAt and SharedRevision tell when the organization got its key: the
	// moment, and the lock stream's revision of that event. An auditor of the
	// organization sees the lock's history from there on.
	SharedAt       time.Time `json:"shared_at"`
	SharedRevision uint64    `json:"shared_revision"`
}

// AccessRequestRow is a member's request for a key to a shared lock (O5).
type AccessRequestRow struct {
	ID          uuid.UUID  `json:"id"`
	LockID      uuid.UUID  `json:"lock_id"`
	AccountID   uuid.UUID  `json:"account_id"`
	Status      string     `json:"status"` // pending, approved, denied
	KeyID       *uuid.UUID `json:"key_id,omitempty"`
	RequestedAt time.Time  `json:"requested_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
}

// OrganizationViews keeps organizations, their members, the index of members'
// organizations and of email domains, the locks shared with them and the access
// requests. It reads organization streams and lock streams (for the keys given to
// organizations).
type OrganizationViews struct {
	kv KV
	// The last revision the projection applied of each stream, as its revision
	// marker holds it: every lock event comes by, and reading the marker of each
	// (guard.fresh) was most of what a replay spent here.
	revs *memo[orgStream, struct{}]
	w    orgWrite          // the event being applied
	fn   func(Batch) error // write, bound once
	// The revision markers, when the KV takes them once in a while
	// (MarkerDeferrer); nil when each is written with its event.
	markers *pendingMarkers
}

// orgStream names a stream the projection reads: a lock's or an organization's.
type orgStream struct {
	lock bool
	id   uuid.UUID
}

// orgWrite is the event OrganizationViews is applying.
type orgWrite struct {
	env     es.Envelope
	id      orgStream
	known   bool // the projection remembers the stream's revision
	applied bool // the event was new, and written
}

// NewOrganizationViews returns the projection.
func NewOrganizationViews(kv KV) *OrganizationViews {
	p := &OrganizationViews{kv: kv, revs: newMemo[orgStream, struct{}](100_000)}
	p.fn = p.write
	p.markers = deferMarkers(kv, guard(orgViews))
	return p
}

const orgViews = "organization_views_v2"

// Name implements Projection.
func (*OrganizationViews) Name() string { return orgViews }

// Filter implements Filtered.
func (*OrganizationViews) Filter() es.Filter {
	return es.Filter{Categories: []string{organization.Category, lock.Category}}
}

// Reset implements Resetter.
func (p *OrganizationViews) Reset(ctx context.Context) error {
	p.revs.clear()
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(orgViews)) })
}

func orgKey(id uuid.UUID) []byte { return key(orgViews, "org", id.String()) }
func memberKey(org, account uuid.UUID) []byte {
	return key(orgViews, "member", org.String(), account.String())
}
func membershipKey(account, org uuid.UUID) []byte {
	return key(orgViews, "membership", account.String(), org.String())
}
func domainKey(d string, org uuid.UUID) []byte { return key(orgViews, "domain", d, org.String()) }
func sharedKey(org, lockID uuid.UUID) []byte {
	return key(orgViews, "shared", org.String(), lockID.String())
}
func requestKey(org, id uuid.UUID) []byte { return key(orgViews, "request", org.String(), id.String()) }

// Handle implements Projection.
func (p *OrganizationViews) Handle(ctx context.Context, env es.Envelope) error {
	id, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	stream := orgStream{lock: es.Category(env.Stream) == lock.Category, id: id}
	m, known := p.revs.get(stream)
	if known && env.Revision <= m.rev {
		return nil // seen before (at-least-once delivery)
	}
	w := &p.w
	defer func() { w.env = es.Envelope{} }() // it holds the envelope's strings and payload
	*w = orgWrite{env: env, id: stream, known: known}
	if err := p.kv.Write(ctx, p.fn); err != nil {
		return fmt.Errorf("%s %s/%d: %w", orgViews, env.Stream, env.Revision, err)
	}
	if w.applied {
		p.revs.applied(stream, m, env.Revision, struct{}{}, p.markers, env.Stream)
	}
	return nil
}

// write applies the event in p.w to the batch.
func (p *OrganizationViews) write(b Batch) error {
	w := &p.w
	if w.known {
		if p.markers == nil {
			if err := guard(orgViews).setRevision(b, w.env.Stream, w.env.Revision); err != nil {
				return err
			}
		}
	} else if fresh, err := guard(orgViews).fresh(b, w.env); err != nil || !fresh {
		return err
	}
	w.applied = true
	if w.id.lock {
		return p.applyLock(b, w.id.id, w.env)
	}
	return p.applyOrg(b, w.id.id, w.env.Event)
}

func (p *OrganizationViews) applyLock(b Batch, lockID uuid.UUID, env es.Envelope) error {
	switch e := env.Event.(type) {
	case lock.OrganizationKeyIssued:
		row := SharedLockRow{LockID: lockID, Quota: e.Quota, AccessMode: organization.AccessOnRequest,
			SharedAt: e.IssuedAt, SharedRevision: env.Revision}
		if _, err := getJSON(b, sharedKey(e.OrganizationID, lockID), &row); err != nil {
			return err
		}
		row.Quota = e.Quota
		return setJSON(b, sharedKey(e.OrganizationID, lockID), &row)
	case lock.OrganizationKeyRevoked:
		return b.Delete(sharedKey(e.OrganizationID, lockID))
	}
	return nil
}

func (p *OrganizationViews) applyOrg(b Batch, org uuid.UUID, e es.Event) error {
	var row OrganizationRow
	if _, err := getJSON(b, orgKey(org), &row); err != nil {
		return err
	}
	save := func() error { return setJSON(b, orgKey(org), &row) }
	switch e := e.(type) {
	case organization.Created:
		row = OrganizationRow{ID: e.OrganizationID, Name: e.Name, Management: e.Management, CreatedAt: e.CreatedAt, Domains: []string{}, TrustedNetworks: []string{}}
		return save()
	case organization.Renamed:
		row.Name = e.Name
		return save()
	case organization.DomainsSet:
		for _, d := range row.Domains {
			if err := b.Delete(domainKey(d, org)); err != nil {
				return err
			}
		}
		row.Domains = e.Domains
		for _, d := range row.Domains {
			if err := b.Set(domainKey(d, org), nil); err != nil {
				return err
			}
		}
		return save()
	case organization.SelfRegistrationSet:
		row.SelfRegistration = e.Allowed
		return save()
	case organization.ResellerSet:
		row.Reseller = e.Reseller
		return save()
	case organization.TrustedNetworksSet:
		row.TrustedNetworks = e.CIDRs
		return save()
	case organization.MemberAdded:
		if err := setJSON(b, memberKey(org, e.AccountID), &MemberRow{AccountID: e.AccountID, Role: e.Role, Via: e.Via, AddedAt: e.AddedAt}); err != nil {
			return err
		}
		return b.Set(membershipKey(e.AccountID, org), []byte(e.Role))
	case organization.MemberRoleChanged:
		var m MemberRow
		if _, err := getJSON(b, memberKey(org, e.AccountID), &m); err != nil {
			return err
		}
		m.Role = e.Role
		if err := setJSON(b, memberKey(org, e.AccountID), &m); err != nil {
			return err
		}
		return b.Set(membershipKey(e.AccountID, org), []byte(e.Role))
	case organization.MemberRemoved:
		if err := b.Delete(memberKey(org, e.AccountID)); err != nil {
			return err
		}
		return b.Delete(membershipKey(e.AccountID, org))
	case organization.LockAccessModeSet:
		var s SharedLockRow
		found, err := getJSON(b, sharedKey(org, e.LockID), &s)
		if err != nil || !found {
			return err
		}
		s.AccessMode = e.Mode
		return setJSON(b, sharedKey(org, e.LockID), &s)
	case organization.AccessRequested:
		return setJSON(b, requestKey(org, e.RequestID), &AccessRequestRow{ID: e.RequestID, LockID: e.LockID, AccountID: e.AccountID, Status: "pending", RequestedAt: e.RequestedAt})
	case organization.AccessRequestApproved:
		return updateRequest(b, org, e.RequestID, func(r *AccessRequestRow) {
			k, at := e.KeyID, e.DecidedAt
			r.Status, r.KeyID, r.DecidedAt = "approved", &k, &at
		})
	case organization.AccessRequestDenied:
		return updateRequest(b, org, e.RequestID, func(r *AccessRequestRow) {
			at := e.DecidedAt
			r.Status, r.DecidedAt = "denied", &at
		})
	}
	return nil
}

func updateRequest(b Batch, org, id uuid.UUID, fn func(*AccessRequestRow)) error {
	var r AccessRequestRow
	found, err := getJSON(b, requestKey(org, id), &r)
	if err != nil || !found {
		return err
	}
	fn(&r)
	return setJSON(b, requestKey(org, id), &r)
}

// OrganizationQueries reads organizations for their members (E2: a non-member
// sees nothing of an organization but what the operator may).
type OrganizationQueries struct{ kv KV }

// NewOrganizationQueries returns the queries over kv.
func NewOrganizationQueries(kv KV) *OrganizationQueries { return &OrganizationQueries{kv: kv} }

// ErrOrganizationNotFound is returned for an organization the caller may not see.
var ErrOrganizationNotFound = &domain.Error{Code: domain.ENotFound, Message: "organization not found"}

// Organization returns an organization to a member, or to anyone when all is true
// (the operator).
func (q *OrganizationQueries) Organization(ctx context.Context, caller, id uuid.UUID, all bool) (*OrganizationRow, error) {
	if !all {
		if _, ok, err := q.RoleOf(ctx, id, caller); err != nil {
			return nil, err
		} else if !ok {
			return nil, ErrOrganizationNotFound
		}
	}
	var row OrganizationRow
	found, err := readJSON(ctx, q.kv, orgKey(id), &row)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrOrganizationNotFound
	}
	return &row, nil
}

// RoleOf returns account's role in org.
func (q *OrganizationQueries) RoleOf(ctx context.Context, org, account uuid.UUID) (organization.Role, bool, error) {
	v, err := q.kv.Get(ctx, membershipKey(account, org))
	if err != nil || v == nil {
		return "", false, err
	}
	return organization.Role(v), true, nil
}

// MembershipsOf returns the organizations account belongs to, with its roles.
func (q *OrganizationQueries) MembershipsOf(ctx context.Context, account uuid.UUID) (map[uuid.UUID]organization.Role, error) {
	prefix := key(orgViews, "membership", account.String(), "")
	pairs, err := q.kv.Scan(ctx, prefix, nil, 10_000, false)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]organization.Role, len(pairs))
	for _, p := range pairs {
		id, err := uuid.Parse(string(p.Key[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out[id] = organization.Role(p.Value)
	}
	return out, nil
}

// ByDomain returns the organizations that have an email domain among their allowed
// ones (whether they take self-registrations is for the aggregate to say).
func (q *OrganizationQueries) ByDomain(ctx context.Context, d string) ([]uuid.UUID, error) {
	prefix := key(orgViews, "domain", d, "")
	pairs, err := q.kv.Scan(ctx, prefix, nil, 1000, false)
	if err != nil {
		return nil, err
	}
	out := make([]uuid.UUID, 0, len(pairs))
	for _, p := range pairs {
		id, err := uuid.Parse(string(p.Key[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// Members lists an organization's members, for its members.
func (q *OrganizationQueries) Members(ctx context.Context, caller, org uuid.UUID) ([]MemberRow, error) {
	if _, err := q.Organization(ctx, caller, org, false); err != nil {
		return nil, err
	}
	return q.MemberList(ctx, org)
}

// MemberList lists an organization's members for a reader let in already: a
// request from one of its trusted networks (A7).
func (q *OrganizationQueries) MemberList(ctx context.Context, org uuid.UUID) ([]MemberRow, error) {
	pairs, err := q.kv.Scan(ctx, key(orgViews, "member", org.String(), ""), nil, 100_000, false)
	if err != nil {
		return nil, err
	}
	out := make([]MemberRow, 0, len(pairs))
	for _, p := range pairs {
		var m MemberRow
		if err := json.Unmarshal(p.Value, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// SharedLocks lists the locks the organization holds a key to, for its members.
func (q *OrganizationQueries) SharedLocks(ctx context.Context, caller, org uuid.UUID) ([]SharedLockRow, error) {
	if _, err := q.Organization(ctx, caller, org, false); err != nil {
		return nil, err
	}
	return q.SharedLockList(ctx, org)
}

// SharedLockList lists the locks the organization holds a key to, for a reader
// let in already: a request from one of its trusted networks (A7).
func (q *OrganizationQueries) SharedLockList(ctx context.Context, org uuid.UUID) ([]SharedLockRow, error) {
	pairs, err := q.kv.Scan(ctx, key(orgViews, "shared", org.String(), ""), nil, 100_000, false)
	if err != nil {
		return nil, err
	}
	out := make([]SharedLockRow, 0, len(pairs))
	for _, p := range pairs {
		var s SharedLockRow
		if err := json.Unmarshal(p.Value, &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Shared returns one shared lock row, or nil.
func (q *OrganizationQueries) Shared(ctx context.Context, org, lockID uuid.UUID) (*SharedLockRow, error) {
	var s SharedLockRow
	found, err := readJSON(ctx, q.kv, sharedKey(org, lockID), &s)
	if err != nil || !found {
		return nil, err
	}
	return &s, nil
}

// Requests lists an organization's access requests, newest first: all of them for
// managers, a member's own otherwise.
func (q *OrganizationQueries) Requests(ctx context.Context, caller, org uuid.UUID) ([]AccessRequestRow, error) {
	role, ok, err := q.RoleOf(ctx, org, caller)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrOrganizationNotFound
	}
	pairs, err := q.kv.Scan(ctx, key(orgViews, "request", org.String(), ""), nil, 100_000, false)
	if err != nil {
		return nil, err
	}
	var out []AccessRequestRow
	for _, p := range pairs {
		var r AccessRequestRow
		if err := json.Unmarshal(p.Value, &r); err != nil {
			return nil, err
		}
		if role.AtLeast(organization.RoleManager) || r.AccountID == caller {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[j].RequestedAt.Before(out[i].RequestedAt) })
	return out, nil
}

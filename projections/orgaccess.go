package projections

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
	"sleutel/domain/organization"
)

// MemberAccess issues and revokes the organization's phone keys of members.
type MemberAccess interface {
	// GrantMemberAccess issues the organization's phone key for member on a lock,
	// idempotently per cause.
	GrantMemberAccess(ctx context.Context, org, lockID, member uuid.UUID, cause string) (uuid.UUID, error)
	// RevokeMemberAccess revokes it.
	RevokeMemberAccess(ctx context.Context, org, lockID, member uuid.UUID) error
}

// OrganizationAccess is the process manager of organization-wide access (O5):
// when an admin makes a shared lock organization-wide, every member gets the
// organization's phone key to it; a member who joins later gets one, a member who
// leaves loses it. The keys are ordinary keys of the lock, issued by the
// organization, within its quota and the lock's allowance, so "who could open the
// door" stays answerable from the lock's own stream (H3). It keeps its own view of
// members and modes, from the events it handles. A key the lock refuses (quota,
// allowance, lapsed management) is recorded as a failure for the admins to see,
// not retried forever.
type OrganizationAccess struct {
	kv     KV
	access MemberAccess
}

// NewOrganizationAccess returns the process manager.
func NewOrganizationAccess(kv KV, access MemberAccess) *OrganizationAccess {
	return &OrganizationAccess{kv: kv, access: access}
}

const orgAccess = "organization_access_v1"

// Name implements Projection.
func (*OrganizationAccess) Name() string { return orgAccess }

// Filter implements Filtered.
func (*OrganizationAccess) Filter() es.Filter {
	return es.Filter{Categories: []string{organization.Category, lock.Category}}
}

// AccessFailure is a key the process manager could not issue.
type AccessFailure struct {
	LockID    uuid.UUID `json:"lock_id"`
	AccountID uuid.UUID `json:"account_id"`
	Code      string    `json:"code"`
	Message   string    `json:"message"`
}

func accMember(org, acc uuid.UUID) []byte {
	return key(orgAccess, "member", org.String(), acc.String())
}
func accWide(org, l uuid.UUID) []byte { return key(orgAccess, "wide", org.String(), l.String()) }
func accFailed(org, l, acc uuid.UUID) []byte {
	return key(orgAccess, "failed", org.String(), l.String(), acc.String())
}

// Handle implements Projection.
func (p *OrganizationAccess) Handle(ctx context.Context, env es.Envelope) error {
	id, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	var grants, revokes [][3]uuid.UUID // org, lock, member
	err := p.kv.Write(ctx, func(b Batch) error {
		switch e := env.Event.(type) {
		case organization.MemberAdded:
			if err := b.Set(accMember(id, e.AccountID), []byte{1}); err != nil {
				return err
			}
			locks, err := p.scan(ctx, key(orgAccess, "wide", id.String(), ""))
			if err != nil {
				return err
			}
			for _, l := range locks {
				grants = append(grants, [3]uuid.UUID{id, l, e.AccountID})
			}
		case organization.MemberRemoved:
			if err := b.Delete(accMember(id, e.AccountID)); err != nil {
				return err
			}
			locks, err := p.scan(ctx, key(orgAccess, "wide", id.String(), ""))
			if err != nil {
				return err
			}
			for _, l := range locks {
				revokes = append(revokes, [3]uuid.UUID{id, l, e.AccountID})
			}
		case organization.LockAccessModeSet:
			if e.Mode != organization.AccessOrganizationWide {
				return b.Delete(accWide(id, e.LockID))
			}
			if err := b.Set(accWide(id, e.LockID), []byte{1}); err != nil {
				return err
			}
			members, err := p.scan(ctx, key(orgAccess, "member", id.String(), ""))
			if err != nil {
				return err
			}
			for _, m := range members {
				grants = append(grants, [3]uuid.UUID{id, e.LockID, m})
			}
		case lock.OrganizationKeyRevoked:
			return b.Delete(accWide(e.OrganizationID, id)) // its keys went with it
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", orgAccess, env.Stream, env.Revision, err)
	}
	for _, g := range grants {
		_, err := p.access.GrantMemberAccess(ctx, g[0], g[1], g[2], env.ID.String())
		if err := p.outcome(ctx, g, err); err != nil {
			return err
		}
	}
	for _, r := range revokes {
		if err := p.outcome(ctx, r, p.access.RevokeMemberAccess(ctx, r[0], r[1], r[2])); err != nil {
			return err
		}
	}
	return nil
}

// outcome records a refusal by the lock for the admins, and returns only faults,
// which the runtime retries.
func (p *OrganizationAccess) outcome(ctx context.Context, g [3]uuid.UUID, err error) error {
	switch code := domain.ErrorCode(err); code {
	case "":
		return p.kv.Write(ctx, func(b Batch) error { return b.Delete(accFailed(g[0], g[1], g[2])) })
	case domain.EInternal:
		return err
	default:
		return p.kv.Write(ctx, func(b Batch) error {
			return setJSON(b, accFailed(g[0], g[1], g[2]), &AccessFailure{LockID: g[1], AccountID: g[2], Code: code, Message: domain.ErrorMessage(err)})
		})
	}
}

// scan lists the ids under prefix as committed: every Handle reads only what the
// events before it wrote (a member's joining reads the modes, a mode's change the
// members).
func (p *OrganizationAccess) scan(ctx context.Context, prefix []byte) ([]uuid.UUID, error) {
	pairs, err := p.kv.Scan(ctx, prefix, nil, 100_000, false)
	if err != nil {
		return nil, err
	}
	out := make([]uuid.UUID, 0, len(pairs))
	for _, pr := range pairs {
		id, err := uuid.Parse(string(pr.Key[len(prefix):]))
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// Failures lists the keys the process manager could not issue for an organization.
func (p *OrganizationAccess) Failures(ctx context.Context, org uuid.UUID) ([]AccessFailure, error) {
	pairs, err := p.kv.Scan(ctx, key(orgAccess, "failed", org.String(), ""), nil, 10_000, false)
	if err != nil {
		return nil, err
	}
	out := make([]AccessFailure, 0, len(pairs))
	for _, pr := range pairs {
		var f AccessFailure
		if err := json.Unmarshal(pr.Value, &f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

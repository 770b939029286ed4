package projections

import (
	"context"
	"net/netip"

	"github.com/google/uuid"
)

// Trusts reports whether addr lies in one of the trusted networks of org (A7): a
// request from there reads the organization as a member does, without a login.
func (q *OrganizationQueries) Trusts(ctx context.Context, org uuid.UUID, addr netip.Addr) (bool, error) {
	var row OrganizationRow
	found, err := readJSON(ctx, q.kv, orgKey(org), &row)
	if err != nil || !found {
		return false, err
	}
	addr = addr.Unmap()
	for _, c := range row.TrustedNetworks {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr) {
			return true, nil
		}
	}
	return false, nil
}

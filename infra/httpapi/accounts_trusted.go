package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"sleutel/domain/es"
)

// ActorNetwork is the actor kind of a request let in by an organization's trusted
// network (A7): it reads only, so it appears in logs, never in events.
const ActorNetwork = "network"

// authenticateReader admits a memberRead route's request: with credentials, as the
// account they name; without, a GET from one of the trusted networks of the
// organization in the path, as a read-only member of it (A7). Everything else needs
// a login: a member's read access covers the organization, its members and its
// shared locks, never a change and never an admin function.
func (s *Server) authenticateReader(r *http.Request) (Principal, string, error) {
	if r.Header.Get("Authorization") != "" || r.Method != http.MethodGet && r.Method != http.MethodHead {
		p, err := s.authenticate(r)
		return p, es.ActorOf(es.ActorAccount, p.AccountID.String()), err
	}
	org, err := uuid.Parse(mux.Vars(r)["org_id"])
	if err != nil || s.Orgs == nil {
		return Principal{}, "", errUnauthorized
	}
	addr, ok := clientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.TrustedProxies)
	if !ok {
		return Principal{}, "", errUnauthorized
	}
	trusted, err := s.Orgs.Trusts(r.Context(), org, addr)
	if err != nil {
		return Principal{}, "", err
	}
	if !trusted {
		return Principal{}, "", errUnauthorized
	}
	return Principal{Network: org}, es.ActorOf(ActorNetwork, org.String()), nil
}

// clientAddr returns the address a request came from (A7): the connection's peer,
// unless that peer is one of the configured proxies; then the X-Forwarded-For
// entries are read from the right (the one the proxy added) past every trusted
// proxy, and the first other address is the client. Without trusted proxies the
// header is ignored, so a client cannot claim an address by sending it. It returns
// false when the peer's address cannot be read.
func clientAddr(remote string, forwarded []string, proxies []netip.Prefix) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	peer = peer.Unmap()
	if !inAny(peer, proxies) {
		return peer, true
	}
	var hops []string
	for _, h := range forwarded {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return client, true // a malformed hop: trust nothing beyond it
		}
		client = a.Unmap()
		if !inAny(client, proxies) {
			return client, true
		}
	}
	return client, true
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads the --trusted-proxy values: CIDR ranges or single
// addresses.
func ParseTrustedProxies(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !strings.Contains(v, "/") {
			a, err := netip.ParseAddr(v)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

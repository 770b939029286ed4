// Package webhook is the webhooks aggregate (SPEC W1): which URLs an owner has
// registered to receive which events of their locks, and the rules for those URLs.
//
// All webhooks of one owner live in one stream, "webhooks-<owner id>": the owner's
// set guards how many webhooks one owner may have, and a retried registration (with
// an Idempotency-Key) finds the webhook it created in a stream it can name.
//
// An owner is an account today. Organizations (issue 4) will own webhooks too: an
// Owner has a kind, and an organization's set is the stream of its id; deciding
// which locks' events reach an organization's webhooks belongs to the delivery
// side, which will follow the organization's shared management of each lock.
package webhook

import (
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Category is the stream category of webhook sets: "webhooks-<owner id>".
const Category = "webhooks"

// Stream returns the stream of the webhooks owned by owner.
func Stream(owner Owner) string { return es.StreamName(Category, owner.ID) }

// Owner kinds.
const (
	OwnerAccount = "account"
	// OwnerOrganization owns an organization's webhooks: they receive the events
	// of the keys the organization issued on locks shared with it (L12).
	OwnerOrganization = "organization"
)

// Owner is who owns a webhook and whose locks' events it receives.
type Owner struct {
	Kind string    `json:"kind"`
	ID   uuid.UUID `json:"id"`
}

// AccountOwner returns the owner for an account.
func AccountOwner(id uuid.UUID) Owner { return Owner{Kind: OwnerAccount, ID: id} }

// OrganizationOwner returns the owner for an organization.
func OrganizationOwner(id uuid.UUID) Owner { return Owner{Kind: OwnerOrganization, ID: id} }

// Limits of a webhook.
const (
	// MaxWebhooks is the most webhooks one owner may have at once.
	MaxWebhooks = 20
	// MaxURL bounds a webhook URL, in bytes.
	MaxURL = 2048
	// MaxEventTypes bounds the event types of one webhook.
	MaxEventTypes = 64
)

// URLPolicy says which receivers a webhook may target.
//
// A URL is absolute, http or https, without credentials or a fragment. Unless
// AllowPrivate is set, its host must not be "localhost" (or a name under
// ".localhost") nor an IP address that PublicAddr refuses. Other host names are
// resolved only when delivering, and the delivery client refuses to connect to a
// non-public address then too, so a name that resolves (or later re-resolves) to an
// internal address reaches nothing (SSRF).
type URLPolicy struct {
	// AllowPrivate admits loopback, private and link-local receivers. Off in
	// production; tests turn it on for receivers on loopback.
	AllowPrivate bool
}

// CheckURL validates raw under the policy and returns it normalized, or EInvalid
// with a message that says what is wrong.
func (p URLPolicy) CheckURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxURL {
		return "", domain.Errorf(domain.EInvalid, "url must be 1 to %d bytes", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", domain.Errorf(domain.EInvalid, "url is not a valid URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", domain.Errorf(domain.EInvalid, "url must start with https:// or http://")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", domain.Errorf(domain.EInvalid, "url must be absolute, with a host")
	case u.User != nil:
		return "", domain.Errorf(domain.EInvalid, "url must not hold a user name or password: authenticate the request by its signature")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", domain.Errorf(domain.EInvalid, "url must not have a #fragment")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", domain.Errorf(domain.EInvalid, "url has an invalid port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", domain.Errorf(domain.EInvalid, "url has an invalid port")
	}
	if !p.AllowPrivate {
		host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return "", domain.Errorf(domain.EInvalid, "url must not point at localhost")
		}
		if a, err := netip.ParseAddr(host); err == nil && !PublicAddr(a) {
			return "", domain.Errorf(domain.EInvalid, "url must not point at a loopback, private, link-local or reserved address")
		}
	}
	out := u.String()
	if len(out) > MaxURL {
		return "", domain.Errorf(domain.EInvalid, "url must be 1 to %d bytes", MaxURL)
	}
	return out, nil
}

// nonPublic are the IPv4 and IPv6 ranges, beyond what netip's predicates name,
// that a webhook may not reach: "this network", shared address space (carrier-grade
// NAT), IETF protocol assignments, benchmarking, reserved, and the IPv6 translation
// prefixes through which an internal IPv4 address could be reached.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("100::/64"),
}

// PublicAddr reports whether a webhook may connect to a: not loopback, private,
// link-local (which holds cloud metadata services), multicast, unspecified or
// otherwise reserved. IPv4-mapped IPv6 addresses are judged as IPv4.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// CheckEventTypes validates a webhook's event types as a set: at least one, at most
// MaxEventTypes, each a well-formed type. It returns them sorted, without
// duplicates. Which types a webhook may receive is the command's to check: the
// domain of webhooks does not know the other aggregates' events.
func CheckEventTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, domain.Errorf(domain.EInvalid, "event_types must name at least one event type")
	}
	out := make([]string, 0, len(types))
	for _, t := range types {
		t = strings.TrimSpace(t)
		if err := es.ValidateEventType(t); err != nil {
			return nil, domain.Errorf(domain.EInvalid, "event_types: %q is not an event type", t)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxEventTypes {
		return nil, domain.Errorf(domain.EInvalid, "event_types names more than %d types", MaxEventTypes)
	}
	return out, nil
}

// Webhook is one registered webhook, as the set holds it.
type Webhook struct {
	ID           uuid.UUID
	Owner        Owner
	URL          string
	EventTypes   []string
	SecretSalt   string
	RegisteredAt time.Time
}

// Set is the aggregate of one owner's webhooks. State is private; it changes only
// through its methods.
type Set struct {
	es.Root
	owner   Owner
	active  map[uuid.UUID]Webhook
	deleted map[uuid.UUID]bool
}

// New returns an owner's empty set, for a repository to fill.
func New() *Set {
	return &Set{active: make(map[uuid.UUID]Webhook), deleted: make(map[uuid.UUID]bool)}
}

// Rehydrate builds a set from its stored history. It is for repositories and tests.
func Rehydrate(history []es.Event) *Set {
	s := New()
	s.Replay(history...)
	return s
}

// Replay applies stored events and counts them in the version.
func (s *Set) Replay(events ...es.Event) {
	for _, e := range events {
		s.apply(e)
	}
	s.Replayed(len(events))
}

func (s *Set) record(e es.Event) {
	s.apply(e)
	s.Record(e)
}

// apply changes state from one event. It never validates, fails or reads a clock.
func (s *Set) apply(e es.Event) {
	switch e := e.(type) {
	case Registered:
		s.owner = e.Owner
		s.active[e.WebhookID] = Webhook{ID: e.WebhookID, Owner: e.Owner, URL: e.URL, EventTypes: e.EventTypes,
			SecretSalt: e.SecretSalt, RegisteredAt: e.RegisteredAt}
	case Deleted:
		delete(s.active, e.WebhookID)
		s.deleted[e.WebhookID] = true
	}
}

// Register adds webhook id, owned by owner, delivering eventTypes (see
// CheckEventTypes; the caller has checked the owner may receive each) to rawURL
// (see URLPolicy.CheckURL). salt, chosen by the caller, goes into the derivation
// of the webhook's secret. It returns EInvalid for bad input, EConflict for an id
// used before, and ErrTooMany past MaxWebhooks.
func (s *Set) Register(id uuid.UUID, owner Owner, rawURL string, eventTypes []string, salt string, policy URLPolicy, now time.Time) error {
	if id == uuid.Nil || owner.ID == uuid.Nil || salt == "" {
		return domain.Errorf(domain.EInvalid, "a webhook needs an id, an owner and a secret salt")
	}
	if owner.Kind != OwnerAccount && owner.Kind != OwnerOrganization {
		return domain.Errorf(domain.EInvalid, "unknown owner kind %q", owner.Kind)
	}
	if s.owner.ID != uuid.Nil && s.owner != owner {
		return domain.Errorf(domain.EInvalid, "this set of webhooks belongs to another owner")
	}
	if _, taken := s.active[id]; taken || s.deleted[id] {
		return domain.Errorf(domain.EConflict, "webhook %s exists", id)
	}
	if len(s.active) >= MaxWebhooks {
		return ErrTooMany
	}
	u, err := policy.CheckURL(rawURL)
	if err != nil {
		return err
	}
	types, err := CheckEventTypes(eventTypes)
	if err != nil {
		return err
	}
	s.record(Registered{WebhookID: id, Owner: owner, URL: u, EventTypes: types, SecretSalt: salt, RegisteredAt: now.UTC()})
	return nil
}

// Delete removes webhook id. A webhook that is not in the set, or was deleted
// already, is ErrNotFound.
func (s *Set) Delete(id uuid.UUID, now time.Time) error {
	if _, ok := s.active[id]; !ok {
		return ErrNotFound
	}
	s.record(Deleted{WebhookID: id, DeletedAt: now.UTC()})
	return nil
}

// Webhook returns an active webhook of the set.
func (s *Set) Webhook(id uuid.UUID) (Webhook, bool) {
	w, ok := s.active[id]
	return w, ok
}

// Len returns the number of active webhooks.
func (s *Set) Len() int { return len(s.active) }

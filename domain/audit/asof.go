package audit

import (
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// Timeline is one lock's stream folded for questions about its past (SPEC H3): the
// lock's own state after each change of it, and each key's terms after each change
// of the key, indexed by stream revision. Asking who could open the lock at a
// moment then costs a binary search per key, not a replay of the stream.
//
// A moment is read on the platform's clock: each event counts from the time its
// command decided it (the time the event itself records: issued_at, frozen_at …),
// and an event counts at a moment only when every event before it in the stream
// does too, so the state asked about is always one the stream really passed
// through. A Timeline is not safe for concurrent use; it never validates: the
// events were validated when they were decided.
type Timeline struct {
	lockID    uuid.UUID
	times     []time.Time   // when each event took effect, by revision (never decreasing)
	positions []es.Position // each event's global position, by revision
	states    []lockState   // the lock's own state, one entry per change
	keys      []*keyHistory // in issue order
	byID      map[uuid.UUID]*keyHistory
}

type lockState struct {
	from         uint64 // first revision this state holds at
	registered   bool
	owner        uuid.UUID
	serial       string
	name         string
	timeZone     string
	frozen       bool
	tenure       int    // 1 for the first registration, +1 each re-registration
	tenureStart  uint64 // revision of the tenure's registration
	registeredAt time.Time
}

type keyHistory struct {
	issued   uint64 // revision of the issue
	tenure   int
	versions []keyVersion
}

type keyVersion struct {
	from uint64
	key  KeyAccess // the key's state from this revision on; CouldOpen and Reason unset
}

// NewTimeline returns the empty timeline of a lock.
func NewTimeline(lockID uuid.UUID) *Timeline {
	return &Timeline{lockID: lockID, byID: make(map[uuid.UUID]*keyHistory)}
}

// Next returns the revision of the event the timeline expects next: the number of
// events it holds.
func (t *Timeline) Next() uint64 { return uint64(len(t.times)) }

// Add folds the stream's next event in. It returns an error for an event that is
// not the next one of the lock's stream.
func (t *Timeline) Add(env es.Envelope) error {
	rev := env.Revision
	if rev != t.Next() {
		return fmt.Errorf("lock %s: event at revision %d, want %d", t.lockID, rev, t.Next())
	}
	at, ok := effectiveTime(env.Event)
	if !ok {
		at = env.RecordedAt
	}
	if n := len(t.times); n > 0 && at.Before(t.times[n-1]) {
		at = t.times[n-1]
	}
	t.times = append(t.times, at.UTC())
	t.positions = append(t.positions, env.Position)

	var cur lockState
	if n := len(t.states); n > 0 {
		cur = t.states[n-1]
	}
	next := cur
	switch e := env.Event.(type) {
	case lock.Registered:
		next.registered, next.owner, next.serial, next.name, next.timeZone = true, e.OwnerID, e.Serial, e.Name, e.TimeZone
		next.frozen, next.registeredAt, next.tenureStart = false, e.RegisteredAt, rev
		next.tenure++
	case lock.Updated:
		next.name, next.timeZone = e.Name, e.TimeZone
	case lock.Removed:
		next.registered, next.owner, next.frozen = false, uuid.Nil, false
	case lock.Frozen:
		next.frozen = true
	case lock.Unfrozen:
		next.frozen = false
	case lock.Replaced:
		next.serial = e.NewSerial
	case lock.KeyIssued:
		k := KeyAccess{ID: e.KeyID, Type: e.Type, HolderName: e.HolderName, CredentialHint: e.CredentialHint,
			ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, Schedule: e.Schedule, MaxUses: e.MaxUses,
			IssuedBy: e.IssuedBy, IssuedAt: e.IssuedAt, IssuedRevision: rev, Tenure: cur.tenure}
		if e.AccountID != uuid.Nil {
			a := e.AccountID
			k.AccountID = &a
		}
		if e.Organization != uuid.Nil {
			o := e.Organization
			k.OrganizationID = &o
		}
		h := &keyHistory{issued: rev, tenure: cur.tenure, versions: []keyVersion{{from: rev, key: k}}}
		t.keys = append(t.keys, h)
		t.byID[e.KeyID] = h
	case lock.KeyChanged:
		t.change(e.KeyID, rev, func(k *KeyAccess) {
			k.HolderName, k.ValidFrom, k.ValidUntil, k.Schedule, k.MaxUses = e.HolderName, e.ValidFrom, e.ValidUntil, e.Schedule, e.MaxUses
			at, by := e.ChangedAt, e.ChangedBy
			k.ChangedAt, k.ChangedBy = &at, &by
		})
	case lock.KeyUsed:
		t.change(e.KeyID, rev, func(k *KeyAccess) { k.Uses = e.Uses })
	case lock.KeyRevoked:
		t.change(e.KeyID, rev, func(k *KeyAccess) {
			at, by := e.RevokedAt, e.RevokedBy
			k.Revoked, k.RevokedAt, k.RevokedBy, k.RevokeReason = true, &at, &by, e.Reason
		})
	}
	if next != cur || len(t.states) == 0 {
		next.from = rev
		t.states = append(t.states, next)
	}
	return nil
}

func (t *Timeline) change(id uuid.UUID, rev uint64, fn func(*KeyAccess)) {
	h := t.byID[id]
	if h == nil {
		return
	}
	k := h.versions[len(h.versions)-1].key
	fn(&k)
	h.versions = append(h.versions, keyVersion{from: rev, key: k})
}

// effectiveTime returns when a lock event took effect on the platform's clock.
func effectiveTime(e es.Event) (time.Time, bool) {
	switch e := e.(type) {
	case lock.Registered:
		return e.RegisteredAt, true
	case lock.Updated:
		return e.UpdatedAt, true
	case lock.Removed:
		return e.RemovedAt, true
	case lock.ManagementExtended:
		return e.ExtendedAt, true
	case lock.KeyAllowanceIncreased:
		return e.IncreasedAt, true
	case lock.SharedManagementActivated:
		return e.ActivatedAt, true
	case lock.PeriodEnded:
		return e.EndedAt, true
	case lock.PeriodReminderDue:
		return e.DueAt, true
	case lock.Frozen:
		return e.FrozenAt, true
	case lock.Unfrozen:
		return e.UnfrozenAt, true
	case lock.Replaced:
		return e.ReplacedAt, true
	case lock.DeviceTokenRotated:
		return e.RotatedAt, true
	case lock.KeyIssued:
		return e.IssuedAt, true
	case lock.KeyChanged:
		return e.ChangedAt, true
	case lock.KeyRevoked:
		return e.RevokedAt, true
	case lock.KeyUsed:
		return e.UsedAt, true
	case lock.OrganizationKeyIssued:
		return e.IssuedAt, true
	case lock.OrganizationKeyRevoked:
		return e.RevokedAt, true
	}
	return time.Time{}, false
}

// Access is who could open a lock at a moment, as its stream stood then (SPEC H3).
type Access struct {
	LockID uuid.UUID `json:"lock_id"`
	At     time.Time `json:"at"`
	// Events is how many of the stream's events had taken effect at At; Revision
	// and Position name the last of them (absent when none had).
	Events       uint64       `json:"events"`
	Revision     *uint64      `json:"revision,omitempty"`
	Position     *es.Position `json:"position,omitempty"`
	Registered   bool         `json:"registered"`
	OwnerID      *uuid.UUID   `json:"owner_id,omitempty"`
	Serial       string       `json:"serial,omitempty"`
	Name         string       `json:"name,omitempty"`
	TimeZone     string       `json:"time_zone,omitempty"`
	Frozen       bool         `json:"frozen"`
	Tenure       int          `json:"tenure"`
	RegisteredAt *time.Time   `json:"registered_at,omitempty"`
}

// KeyAccess is one key as it stood at the moment asked, and whether it could open
// the lock then, with the reason when it could not: lock_not_registered,
// key_revoked, lock_frozen, not_yet_valid, expired, outside_schedule or
// uses_exhausted (lock.Access* reasons), else allowed.
type KeyAccess struct {
	ID             uuid.UUID     `json:"id"`
	Type           lock.KeyType  `json:"type"`
	HolderName     string        `json:"holder_name"`
	AccountID      *uuid.UUID    `json:"account_id,omitempty"`
	CredentialHint string        `json:"credential_hint,omitempty"`
	ValidFrom      *time.Time    `json:"valid_from,omitempty"`
	ValidUntil     *time.Time    `json:"valid_until,omitempty"`
	Schedule       lock.Schedule `json:"schedule,omitempty"`
	MaxUses        int           `json:"max_uses,omitempty"`
	Uses           int           `json:"uses"`
	IssuedBy       uuid.UUID     `json:"issued_by"`
	OrganizationID *uuid.UUID    `json:"organization_id,omitempty"` // the organization whose manager issued it (L12)
	IssuedAt       time.Time     `json:"issued_at"`
	IssuedRevision uint64        `json:"issued_revision"`
	Tenure         int           `json:"tenure"`
	ChangedAt      *time.Time    `json:"changed_at,omitempty"`
	ChangedBy      *uuid.UUID    `json:"changed_by,omitempty"`
	Revoked        bool          `json:"revoked"`
	RevokedAt      *time.Time    `json:"revoked_at,omitempty"`
	RevokedBy      *uuid.UUID    `json:"revoked_by,omitempty"`
	RevokeReason   string        `json:"revoke_reason,omitempty"`
	CouldOpen      bool          `json:"could_open"`
	Reason         string        `json:"reason"`
}

// KeyQuery selects the keys At returns: those of tenure MinTenure or later (0 for
// every key ever issued), after the key After (uuid.Nil for the first), at most
// Limit (0 for all).
type KeyQuery struct {
	MinTenure int
	After     uuid.UUID
	Limit     int
}

// At returns the lock and its keys as they stood at moment at, in issue order,
// with loc resolving the lock's time zone for schedules; more is true when keys
// remain after the Limit returned.
func (t *Timeline) At(at time.Time, loc func(string) (*time.Location, error), q KeyQuery) (a Access, keys []KeyAccess, more bool) {
	n := sort.Search(len(t.times), func(i int) bool { return t.times[i].After(at) })
	a = Access{LockID: t.lockID, At: at.UTC(), Events: uint64(n)}
	if n == 0 {
		return a, nil, false
	}
	last := uint64(n - 1)
	pos := t.positions[last]
	a.Revision, a.Position = &last, &pos
	s := t.states[sort.Search(len(t.states), func(i int) bool { return t.states[i].from > last })-1]
	a.Registered, a.Serial, a.Name, a.TimeZone, a.Frozen, a.Tenure = s.registered, s.serial, s.name, s.timeZone, s.frozen, s.tenure
	if s.registered {
		owner, reg := s.owner, s.registeredAt
		a.OwnerID, a.RegisteredAt = &owner, &reg
	}
	where := time.UTC
	if l, err := loc(s.timeZone); err == nil && l != nil {
		where = l
	}
	// Keys are in issue order, which is revision order: those issued by last are a prefix.
	issued := sort.Search(len(t.keys), func(i int) bool { return t.keys[i].issued > last })
	start := 0
	if q.After != uuid.Nil {
		if h := t.byID[q.After]; h != nil {
			start = sort.Search(issued, func(i int) bool { return t.keys[i].issued > h.issued })
		}
	}
	// One allocation for the answer: a lock's keys are thousands of 272-byte
	// structs, and growing the slice by appending copied each of them twice more.
	if n := issued - start; n > 0 {
		if q.Limit > 0 && n > q.Limit {
			n = q.Limit
		}
		keys = make([]KeyAccess, 0, n)
	}
	for i := start; i < issued; i++ {
		h := t.keys[i]
		if h.tenure < q.MinTenure {
			continue
		}
		if q.Limit > 0 && len(keys) == q.Limit {
			return a, keys, true
		}
		keys = append(keys, h.at(last).key)
		k := &keys[len(keys)-1]
		k.CouldOpen, k.Reason = decide(&s, k, at, where)
	}
	return a, keys, false
}

// at returns the key's version current at revision rev, which is at or after its
// issue. Most keys have a few versions, scanned from the newest; a key used
// thousands of times is searched.
func (h *keyHistory) at(rev uint64) *keyVersion {
	vs := h.versions
	if len(vs) > 8 {
		lo, hi := 0, len(vs) // vs[lo].from <= rev < vs[hi].from
		for hi-lo > 1 {
			if m := int(uint(lo+hi) >> 1); vs[m].from <= rev {
				lo = m
			} else {
				hi = m
			}
		}
		return &vs[lo]
	}
	i := len(vs) - 1
	for i > 0 && vs[i].from > rev {
		i--
	}
	return &vs[i]
}

// decide is the door's answer at at, as lock.Lock.Access gives it, with the reason
// most useful to an auditor first: a revoked key says so even on a frozen lock.
func decide(s *lockState, k *KeyAccess, at time.Time, loc *time.Location) (bool, string) {
	switch {
	case !s.registered:
		return false, lock.AccessNotRegistered
	case k.Revoked:
		return false, lock.AccessRevoked
	case s.frozen:
		return false, lock.AccessFrozen
	}
	key := lock.Key{KeyTerms: lock.KeyTerms{ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil, Schedule: k.Schedule, MaxUses: k.MaxUses}, Uses: k.Uses}
	return key.Opens(at, loc)
}

// Tenure returns the tenure current after the stream's last event (0 when the lock
// was never registered) and the time it began.
func (t *Timeline) Tenure() (int, time.Time) {
	if len(t.states) == 0 {
		return 0, time.Time{}
	}
	s := t.states[len(t.states)-1]
	return s.tenure, s.registeredAt
}

// Keys returns how many keys were ever issued on the lock.
func (t *Timeline) Keys() int { return len(t.keys) }

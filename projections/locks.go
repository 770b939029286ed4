package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// LockRow is the read model of one lock, and the Lock of the API.
type LockRow struct {
	ID                     uuid.UUID  `json:"id"`
	Serial                 string     `json:"serial"`
	Name                   string     `json:"name"`
	TimeZone               string     `json:"time_zone"`
	OwnerID                uuid.UUID  `json:"owner_id"`
	RegisteredAt           time.Time  `json:"registered_at"`
	Frozen                 bool       `json:"frozen"`
	KeyAllowance           int        `json:"key_allowance"`
	ActiveKeys             int        `json:"active_keys"`
	TrialEndsAt            time.Time  `json:"trial_ends_at"`
	PaidEndsAt             *time.Time `json:"paid_ends_at,omitempty"`
	SharedManagementEndsAt *time.Time `json:"shared_management_ends_at,omitempty"`
	DeviceTokenDigest      string     `json:"device_token_digest"`
	// TenureStart is the stream revision of the current owner's registration: their
	// view of the log starts there.
	TenureStart uint64 `json:"tenure_start"`
	Tenure      int    `json:"tenure"`
	Removed     bool   `json:"removed"`
}

// Level returns the management level at t (L4).
func (r *LockRow) Level(t time.Time) lock.Level {
	if t.Before(r.managementEnds()) {
		return lock.LevelFull
	}
	return lock.LevelRevokeOnly
}

func (r *LockRow) managementEnds() time.Time {
	if r.PaidEndsAt != nil && r.PaidEndsAt.After(r.TrialEndsAt) {
		return *r.PaidEndsAt
	}
	return r.TrialEndsAt
}

// DaysLeft returns whole days, rounded up, until full management ends (L16).
func (r *LockRow) DaysLeft(t time.Time) int {
	end := r.managementEnds()
	if !t.Before(end) {
		return 0
	}
	d := end.Sub(t)
	return int((d + 24*time.Hour - 1) / (24 * time.Hour))
}

// KeyStatus is a key's state in the read model.
type KeyStatus string

// Key states.
const (
	KeyActive  KeyStatus = "active"
	KeyRevoked KeyStatus = "revoked"
)

// KeyRow is the read model of one key. The API serves its own view of it, without
// the credential digest.
type KeyRow struct {
	ID         uuid.UUID    `json:"id"`
	LockID     uuid.UUID    `json:"lock_id"`
	Type       lock.KeyType `json:"type"`
	HolderName string       `json:"holder_name"`
	AccountID  *uuid.UUID   `json:"account_id,omitempty"`
	// CredentialDigest is stored for the access index; the API never serves it.
	CredentialDigest string        `json:"credential_digest,omitempty"`
	CredentialHint   string        `json:"credential_hint,omitempty"`
	ValidFrom        *time.Time    `json:"valid_from,omitempty"`
	ValidUntil       *time.Time    `json:"valid_until,omitempty"`
	Schedule         lock.Schedule `json:"schedule,omitempty"`
	MaxUses          int           `json:"max_uses,omitempty"`
	Uses             int           `json:"uses"`
	Status           KeyStatus     `json:"status"`
	IssuedBy         uuid.UUID     `json:"issued_by"`
	Organization     *uuid.UUID    `json:"organization_id,omitempty"` // the organization that issued it (L12)
	IssuedAt         time.Time     `json:"issued_at"`
	ChangedAt        *time.Time    `json:"changed_at,omitempty"`
	RevokedAt        *time.Time    `json:"revoked_at,omitempty"`
	RevokedBy        *uuid.UUID    `json:"revoked_by,omitempty"`
	RevokeReason     string        `json:"revoke_reason,omitempty"`
}

// LockViews keeps the lock and key read models and feeds the access index, in one
// projection so that a lock's rows and its index entry move together.
type LockViews struct {
	kv     KV
	access *AccessIndex
	rows   *memo[uuid.UUID, LockRow] // each lock's row and last applied revision
	keys   *memo[lockKeyID, KeyRow]  // each key's row as last written
	w      lockViewsWrite            // the event being applied
	write  func(Batch) error         // writeEvent, bound once
	// The revision markers, when the KV takes them once in a while
	// (MarkerDeferrer); nil when each is written with its event.
	markers *pendingMarkers
}

// lockKeyID names a key: its lock, then its id.
type lockKeyID [2]uuid.UUID

// NewLockViews returns the projection; access may be nil.
func NewLockViews(kv KV, access *AccessIndex) *LockViews {
	p := &LockViews{kv: kv, access: access, rows: newMemo[uuid.UUID, LockRow](100_000), keys: newMemo[lockKeyID, KeyRow](100_000)}
	p.write = p.writeEvent
	p.markers = deferMarkers(kv, guard(lockViews))
	return p
}

const lockViews = "lock_views_v1"

// Name implements Projection.
func (*LockViews) Name() string { return lockViews }

// Filter implements Filtered: lock streams only.
func (*LockViews) Filter() es.Filter { return es.Filter{Categories: []string{lock.Category}} }

// Reset implements Resetter.
func (p *LockViews) Reset(ctx context.Context) error {
	p.rows.clear()
	p.keys.clear()
	if p.access != nil {
		p.access.reset()
	}
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(lockViews)) })
}

func lockKey(id uuid.UUID) []byte { return key(lockViews, "lock", id.String()) }
func keyKey(lockID, keyID uuid.UUID) []byte {
	return key(lockViews, "key", lockID.String(), keyID.String())
}
func ownerKey(owner, lockID uuid.UUID) []byte {
	return key(lockViews, "owner", owner.String(), lockID.String())
}
func holderKey(account, lockID, keyID uuid.UUID) []byte {
	return key(lockViews, "holder", account.String(), lockID.String(), keyID.String())
}
func deviceKey(digest string) []byte { return key(lockViews, "device", digest) }

// Handle implements Projection.
func (p *LockViews) Handle(ctx context.Context, env es.Envelope) error {
	id, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	cached, known := p.rows.get(id)
	if known && env.Revision <= cached.rev {
		return nil // seen before (at-least-once delivery)
	}
	w := &p.w
	defer func() { w.env, w.row, w.keys = es.Envelope{}, nil, w.keys[:0] }() // it holds the envelope's strings and payload
	w.env, w.id, w.known, w.applied = env, id, known, false
	// The row is a value of its own for every event: a lazy batch encodes it
	// when it writes the buffer (setJSON).
	w.row = new(LockRow)
	if known {
		*w.row = cached.val
	}
	if err := p.kv.Write(ctx, p.write); err != nil {
		return fmt.Errorf("%s %s/%d: %w", lockViews, env.Stream, env.Revision, err)
	}
	if w.applied {
		p.rows.applied(id, cached, env.Revision, *w.row, p.markers, env.Stream)
		for _, k := range w.keys {
			p.keys.put(lockKeyID{k.LockID, k.ID}, env.Revision, k)
		}
	}
	if p.access != nil {
		p.access.apply(id, env)
	}
	return nil
}

// lockViewsWrite is the event LockViews is applying, which its write (bound once,
// as p.write) reads: a closure over them was four allocations an event.
type lockViewsWrite struct {
	env     es.Envelope
	id      uuid.UUID
	known   bool     // the projection remembers the lock's row, which row starts as
	row     *LockRow // the lock's row
	keys    []KeyRow // the key rows the event wrote, to remember once committed
	applied bool     // set by write
}

// writeEvent applies the event in p.w to the batch.
func (p *LockViews) writeEvent(b Batch) error {
	w := &p.w
	w.keys = w.keys[:0]
	if w.known {
		if p.markers == nil {
			if err := guard(lockViews).setRevision(b, w.env.Stream, w.env.Revision); err != nil {
				return err
			}
		}
	} else {
		if fresh, err := guard(lockViews).fresh(b, w.env); err != nil || !fresh {
			return err
		}
		if _, err := getJSON(b, lockKey(w.id), w.row); err != nil {
			return err
		}
	}
	w.applied = true
	if err := p.apply(b, w.id, w.row, w.env, &w.keys); err != nil {
		return err
	}
	if w.row.ID == uuid.Nil {
		return nil // an event before registration: nothing to show
	}
	return setJSON(b, lockKey(w.id), w.row)
}

// apply writes what env changes; the key rows it writes are added to keys.
func (p *LockViews) apply(b Batch, id uuid.UUID, row *LockRow, env es.Envelope, keys *[]KeyRow) error {
	switch e := env.Event.(type) {
	case lock.Registered:
		if row.DeviceTokenDigest != "" {
			if err := b.Delete(deviceKey(row.DeviceTokenDigest)); err != nil {
				return err
			}
		}
		row.ID, row.Serial, row.Name, row.TimeZone, row.OwnerID = e.LockID, e.Serial, e.Name, e.TimeZone, e.OwnerID
		row.RegisteredAt, row.Frozen, row.Removed = e.RegisteredAt, false, false
		row.TrialEndsAt, row.KeyAllowance, row.DeviceTokenDigest = e.TrialEndsAt, e.KeyAllowance, e.DeviceTokenDigest
		row.TenureStart = env.Revision
		row.Tenure++
		if err := b.Set(ownerKey(e.OwnerID, id), nil); err != nil {
			return err
		}
		return b.Set(deviceKey(e.DeviceTokenDigest), []byte(id.String()))
	case lock.Updated:
		row.Name, row.TimeZone = e.Name, e.TimeZone
	case lock.Removed:
		row.Removed, row.Frozen = true, false
		if err := b.Delete(ownerKey(e.OwnerID, id)); err != nil {
			return err
		}
		return b.Delete(deviceKey(row.DeviceTokenDigest))
	case lock.ManagementExtended:
		t := e.PaidEndsAt
		row.PaidEndsAt = &t
	case lock.SharedManagementActivated:
		t := e.SharedManagementEndsAt
		row.SharedManagementEndsAt = &t
	case lock.KeyAllowanceIncreased:
		row.KeyAllowance = e.KeyAllowance
	case lock.Frozen:
		row.Frozen = true
	case lock.Unfrozen:
		row.Frozen = false
	case lock.Replaced:
		row.Serial = e.NewSerial
	case lock.DeviceTokenRotated:
		if err := b.Delete(deviceKey(row.DeviceTokenDigest)); err != nil {
			return err
		}
		row.DeviceTokenDigest = e.DeviceTokenDigest
		return b.Set(deviceKey(e.DeviceTokenDigest), []byte(id.String()))
	case lock.KeyIssued:
		k := KeyRow{ID: e.KeyID, LockID: id, Type: e.Type, HolderName: e.HolderName, CredentialDigest: e.CredentialDigest,
			CredentialHint: e.CredentialHint, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, Schedule: e.Schedule,
			MaxUses: e.MaxUses, Status: KeyActive, IssuedBy: e.IssuedBy, IssuedAt: e.IssuedAt}
		if e.Organization != uuid.Nil {
			o := e.Organization
			k.Organization = &o
		}
		if e.AccountID != uuid.Nil {
			a := e.AccountID
			k.AccountID = &a
			if err := b.Set(holderKey(a, id, e.KeyID), nil); err != nil {
				return err
			}
		}
		row.ActiveKeys++
		*keys = append(*keys, k)
		return setJSON(b, keyKey(id, e.KeyID), &k)
	case lock.KeyChanged:
		return p.updateKey(b, id, e.KeyID, keys, func(k *KeyRow) {
			k.HolderName, k.ValidFrom, k.ValidUntil, k.Schedule, k.MaxUses = e.HolderName, e.ValidFrom, e.ValidUntil, e.Schedule, e.MaxUses
			at := e.ChangedAt
			k.ChangedAt = &at
		})
	case lock.KeyUsed:
		return p.updateKey(b, id, e.KeyID, keys, func(k *KeyRow) { k.Uses = e.Uses })
	case lock.KeyRevoked:
		row.ActiveKeys--
		return p.updateKey(b, id, e.KeyID, keys, func(k *KeyRow) {
			at, by := e.RevokedAt, e.RevokedBy
			k.Status, k.RevokedAt, k.RevokedBy, k.RevokeReason = KeyRevoked, &at, &by, e.Reason
			if k.AccountID != nil {
				_ = b.Delete(holderKey(*k.AccountID, id, k.ID))
			}
		})
	}
	return nil
}

// updateKey rewrites a key's row with fn, from the row remembered or else the
// store's. fn replaces the row's fields and never writes through its pointers or
// into its schedule: the remembered row shares them.
func (p *LockViews) updateKey(b Batch, lockID, keyID uuid.UUID, keys *[]KeyRow, fn func(*KeyRow)) error {
	var k KeyRow
	if m, ok := p.keys.get(lockKeyID{lockID, keyID}); ok {
		k = m.val
	} else if found, err := getJSON(b, keyKey(lockID, keyID), &k); err != nil || !found {
		return err
	}
	fn(&k)
	*keys = append(*keys, k)
	return setJSON(b, keyKey(lockID, keyID), &k)
}

// LockQueries answers questions about locks and keys from the read models. Every
// method checks the caller may see what it asks for (E2): a lock the caller does
// not own reads as not found.
type LockQueries struct{ kv KV }

// NewLockQueries returns the queries over kv.
func NewLockQueries(kv KV) *LockQueries { return &LockQueries{kv: kv} }

// ErrLockNotFound is returned for a lock that does not exist or is not the caller's.
var ErrLockNotFound = &domain.Error{Code: domain.ENotFound, Message: "lock not found"}

// ErrKeyNotFound is returned for a key that does not exist on the lock.
var ErrKeyNotFound = &domain.Error{Code: domain.ENotFound, Message: "key not found"}

// Lock returns the lock as its owner sees it.
func (q *LockQueries) Lock(ctx context.Context, account, id uuid.UUID) (*LockRow, error) {
	var row LockRow
	found, err := readJSON(ctx, q.kv, lockKey(id), &row)
	if err != nil {
		return nil, err
	}
	if !found || row.Removed || row.OwnerID != account {
		return nil, ErrLockNotFound
	}
	return &row, nil
}

// LockForOrganization returns a lock an organization holds a key to (L12), as its
// managers see it; the caller has checked it acts for the organization.
func (q *LockQueries) LockForOrganization(ctx context.Context, org, id uuid.UUID) (*LockRow, error) {
	v, err := q.kv.Get(ctx, sharedKey(org, id))
	if err != nil {
		return nil, err
	}
	row, err := q.AnyLock(ctx, id)
	if err != nil {
		return nil, err
	}
	if v == nil || row == nil || row.Removed {
		return nil, ErrLockNotFound
	}
	return row, nil
}

// AnyLock returns a lock whoever owns it (for the platform's own use: devices,
// schedulers, audits); nil when there is none.
func (q *LockQueries) AnyLock(ctx context.Context, id uuid.UUID) (*LockRow, error) {
	var row LockRow
	found, err := readJSON(ctx, q.kv, lockKey(id), &row)
	if err != nil || !found {
		return nil, err
	}
	return &row, nil
}

// Locks lists the caller's locks in registration order, after the lock id after
// (uuid.Nil for the first page); next is the cursor of the following page, or Nil.
func (q *LockQueries) Locks(ctx context.Context, account uuid.UUID, after uuid.UUID, limit int) (rows []LockRow, next uuid.UUID, err error) {
	prefix := key(lockViews, "owner", account.String(), "")
	var start []byte
	if after != uuid.Nil {
		start = append(ownerKey(account, after), 0)
	}
	pairs, err := q.kv.Scan(ctx, prefix, start, limit+1, false)
	if err != nil {
		return nil, uuid.Nil, err
	}
	for i, p := range pairs {
		if i == limit {
			next = rows[len(rows)-1].ID
			break
		}
		id, err := uuid.Parse(string(p.Key[len(prefix):]))
		if err != nil {
			return nil, uuid.Nil, fmt.Errorf("owner index: %w", err)
		}
		row, err := q.AnyLock(ctx, id)
		if err != nil {
			return nil, uuid.Nil, err
		}
		if row != nil {
			rows = append(rows, *row)
		}
	}
	return rows, next, nil
}

// KeyFilter narrows a key listing; zero values mean any.
type KeyFilter struct {
	Status KeyStatus
	Type   lock.KeyType
	// Organization keeps only the keys an organization issued.
	Organization uuid.UUID
}

// Keys lists a lock's keys in issue order, after key id after; the caller must own
// the lock, or f.Organization must be set to an organization the caller acts for
// (checked by the caller with LockForOrganization).
func (q *LockQueries) Keys(ctx context.Context, account, lockID uuid.UUID, f KeyFilter, after uuid.UUID, limit int) (rows []KeyRow, next uuid.UUID, err error) {
	if f.Organization == uuid.Nil {
		if _, err := q.Lock(ctx, account, lockID); err != nil {
			return nil, uuid.Nil, err
		}
	}
	prefix := key(lockViews, "key", lockID.String(), "")
	start := prefix
	if after != uuid.Nil {
		start = append(keyKey(lockID, after), 0)
	}
	for len(rows) <= limit {
		pairs, err := q.kv.Scan(ctx, prefix, start, 512, false)
		if err != nil {
			return nil, uuid.Nil, err
		}
		for _, p := range pairs {
			var k KeyRow
			if err := json.Unmarshal(p.Value, &k); err != nil {
				return nil, uuid.Nil, err
			}
			if (f.Status == "" || k.Status == f.Status) && (f.Type == "" || k.Type == f.Type) &&
				(f.Organization == uuid.Nil || k.Organization != nil && *k.Organization == f.Organization) {
				rows = append(rows, k)
			}
		}
		if len(pairs) < 512 {
			break
		}
		start = append(pairs[len(pairs)-1].Key, 0)
	}
	if len(rows) > limit {
		rows, next = rows[:limit], rows[limit-1].ID
	}
	return rows, next, nil
}

// Key returns one key of a lock the caller owns.
func (q *LockQueries) Key(ctx context.Context, account, lockID, keyID uuid.UUID) (*KeyRow, error) {
	if _, err := q.Lock(ctx, account, lockID); err != nil {
		return nil, err
	}
	return q.AnyKey(ctx, lockID, keyID)
}

// AnyKey returns a key of a lock whoever owns it, for callers that checked the
// rights themselves (a command just did); ErrKeyNotFound when there is none.
func (q *LockQueries) AnyKey(ctx context.Context, lockID, keyID uuid.UUID) (*KeyRow, error) {
	var k KeyRow
	found, err := readJSON(ctx, q.kv, keyKey(lockID, keyID), &k)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, ErrKeyNotFound
	}
	return &k, nil
}

// PhoneKeys lists the active phone keys held by account, on every lock.
func (q *LockQueries) PhoneKeys(ctx context.Context, account uuid.UUID) ([]KeyRow, error) {
	prefix := key(lockViews, "holder", account.String(), "")
	pairs, err := q.kv.Scan(ctx, prefix, nil, 10_000, false)
	if err != nil {
		return nil, err
	}
	var out []KeyRow
	for _, p := range pairs {
		var lockID, keyID uuid.UUID
		rest := string(p.Key[len(prefix):])
		if len(rest) != 73 {
			return nil, fmt.Errorf("holder index key %q", rest)
		}
		if lockID, err = uuid.Parse(rest[:36]); err != nil {
			return nil, err
		}
		if keyID, err = uuid.Parse(rest[37:]); err != nil {
			return nil, err
		}
		var k KeyRow
		if found, err := readJSON(ctx, q.kv, keyKey(lockID, keyID), &k); err != nil {
			return nil, err
		} else if found && k.Status == KeyActive {
			out = append(out, k)
		}
	}
	return out, nil
}

// LockByDeviceToken returns the lock whose current device token has digest, or nil.
func (q *LockQueries) LockByDeviceToken(ctx context.Context, digest string) (*LockRow, error) {
	v, err := q.kv.Get(ctx, deviceKey(digest))
	if err != nil || v == nil {
		return nil, err
	}
	id, err := uuid.Parse(string(v))
	if err != nil {
		return nil, err
	}
	return q.AnyLock(ctx, id)
}

// AllLocks visits every lock row (schedulers and tools), in id order.
func (q *LockQueries) AllLocks(ctx context.Context, fn func(*LockRow) error) error {
	prefix := key(lockViews, "lock", "")
	var start []byte
	for {
		pairs, err := q.kv.Scan(ctx, prefix, start, 1024, false)
		if err != nil {
			return err
		}
		for _, p := range pairs {
			var row LockRow
			if err := json.Unmarshal(p.Value, &row); err != nil {
				return err
			}
			if err := fn(&row); err != nil {
				return err
			}
		}
		if len(pairs) < 1024 {
			return nil
		}
		start = append(pairs[len(pairs)-1].Key, 0)
	}
}

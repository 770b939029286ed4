package projections

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// AccessIndex answers device access checks (D1) from memory: per lock, its state
// and its active keys by credential. A lock is loaded from the read models on its
// first check; after that, the LockViews projection applies each of the lock's
// events to it as soon as their rows are written, so a check follows every
// acknowledged change (a command returns only once its projection has run).
//
// Every event is applied as a state assignment (set this key, drop that one), so
// applying an event to an entry whose snapshot already holds it changes nothing;
// writeMu orders loads against applies so that no event is ever missed.
type AccessIndex struct {
	kv        KV
	locations func(string) (*time.Location, error)

	writeMu sync.Mutex // held by loads and applies
	mu      sync.RWMutex
	locks   map[uuid.UUID]*accessLock
	devices map[string]uuid.UUID // device token digest → lock
}

type accessLock struct {
	mu         sync.RWMutex
	registered bool
	frozen     bool
	loc        *time.Location
	device     string
	byDigest   map[string]*lock.Key
	byAccount  map[uuid.UUID]*lock.Key
	byID       map[uuid.UUID]*lock.Key
}

// NewAccessIndex returns an empty index over the read models in kv; locations
// resolves IANA time-zone names.
func NewAccessIndex(kv KV, locations func(string) (*time.Location, error)) *AccessIndex {
	return &AccessIndex{kv: kv, locations: locations, locks: make(map[uuid.UUID]*accessLock), devices: make(map[string]uuid.UUID)}
}

func (x *AccessIndex) reset() {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	clear(x.locks)
	clear(x.devices)
}

// LockForDevice returns the lock whose current device token has digest, and false
// when none has.
func (x *AccessIndex) LockForDevice(ctx context.Context, digest string) (uuid.UUID, bool, error) {
	x.mu.RLock()
	id, ok := x.devices[digest]
	x.mu.RUnlock()
	if ok {
		return id, true, nil
	}
	v, err := x.kv.Get(ctx, deviceKey(digest))
	if err != nil || v == nil {
		return uuid.Nil, false, err
	}
	id, err = uuid.Parse(string(v))
	if err != nil {
		return uuid.Nil, false, err
	}
	if _, err := x.entry(ctx, id); err != nil {
		return uuid.Nil, false, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	got, ok := x.devices[digest]
	return got, ok && got == id, nil
}

// Check decides whether the credential opens lock lockID at t (D1), as the domain
// would: registered, not frozen (L15), an active key of that type whose validity,
// schedule and use limit allow t (L9).
func (x *AccessIndex) Check(ctx context.Context, lockID uuid.UUID, c lock.Credential, t time.Time) (lock.Decision, error) {
	l, err := x.entry(ctx, lockID)
	if err != nil {
		return lock.Decision{}, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.registered {
		return lock.Decision{Reason: lock.AccessNotRegistered}, nil
	}
	var k *lock.Key
	if c.Type == lock.KeyPhone {
		k = l.byAccount[c.AccountID]
	} else {
		k = l.byDigest[c.Digest]
	}
	if k == nil || k.Type != c.Type {
		return lock.Decision{Reason: lock.AccessUnknown}, nil
	}
	if l.frozen {
		return lock.Decision{KeyID: k.ID, Reason: lock.AccessFrozen}, nil
	}
	ok, reason := k.Opens(t, l.loc)
	return lock.Decision{Allowed: ok, KeyID: k.ID, Reason: reason}, nil
}

// UseLimited reports whether the key has a use limit, so that opening with it must
// be recorded (D1, L9).
func (x *AccessIndex) UseLimited(ctx context.Context, lockID, keyID uuid.UUID) (bool, error) {
	l, err := x.entry(ctx, lockID)
	if err != nil {
		return false, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	k := l.byID[keyID]
	return k != nil && k.MaxUses > 0, nil
}

// PhoneHolder returns the account holding an active phone key of the lock.
func (x *AccessIndex) PhoneHolder(ctx context.Context, lockID, keyID uuid.UUID) (uuid.UUID, bool, error) {
	l, err := x.entry(ctx, lockID)
	if err != nil {
		return uuid.Nil, false, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	k := l.byID[keyID]
	if k == nil || k.Type != lock.KeyPhone {
		return uuid.Nil, false, nil
	}
	return k.AccountID, true, nil
}

// Location returns a lock's time zone.
func (x *AccessIndex) Location(ctx context.Context, lockID uuid.UUID) (*time.Location, error) {
	l, err := x.entry(ctx, lockID)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.loc, nil
}

// entry returns the lock's index entry, loading it from the read models on first use.
func (x *AccessIndex) entry(ctx context.Context, id uuid.UUID) (*accessLock, error) {
	x.mu.RLock()
	l := x.locks[id]
	x.mu.RUnlock()
	if l != nil {
		return l, nil
	}
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.mu.RLock()
	l = x.locks[id]
	x.mu.RUnlock()
	if l != nil {
		return l, nil
	}
	l = &accessLock{loc: time.UTC, byDigest: map[string]*lock.Key{}, byAccount: map[uuid.UUID]*lock.Key{}, byID: map[uuid.UUID]*lock.Key{}}
	var row LockRow
	found, err := readJSON(ctx, x.kv, lockKey(id), &row)
	if err != nil {
		return nil, err
	}
	if found && !row.Removed {
		l.registered, l.frozen, l.device = true, row.Frozen, row.DeviceTokenDigest
		if l.loc, err = x.locations(row.TimeZone); err != nil {
			l.loc = time.UTC
		}
		prefix := key(lockViews, "key", id.String(), "")
		var start []byte
		for {
			pairs, err := x.kv.Scan(ctx, prefix, start, 1024, false)
			if err != nil {
				return nil, err
			}
			for _, p := range pairs {
				var k KeyRow
				if err := json.Unmarshal(p.Value, &k); err != nil {
					return nil, err
				}
				if k.Status == KeyActive {
					l.put(keyOf(&k))
				}
			}
			if len(pairs) < 1024 {
				break
			}
			start = append(pairs[len(pairs)-1].Key, 0)
		}
	}
	x.mu.Lock()
	x.locks[id] = l
	if l.device != "" {
		x.devices[l.device] = id
	}
	x.mu.Unlock()
	return l, nil
}

func keyOf(k *KeyRow) *lock.Key {
	out := &lock.Key{ID: k.ID, Type: k.Type, CredentialDigest: k.CredentialDigest, Uses: k.Uses,
		KeyTerms: lock.KeyTerms{HolderName: k.HolderName, ValidFrom: k.ValidFrom, ValidUntil: k.ValidUntil, Schedule: k.Schedule, MaxUses: k.MaxUses}}
	if k.AccountID != nil {
		out.AccountID = *k.AccountID
	}
	return out
}

func (l *accessLock) put(k *lock.Key) {
	l.byID[k.ID] = k
	if k.Type == lock.KeyPhone {
		l.byAccount[k.AccountID] = k
	} else {
		l.byDigest[k.CredentialDigest] = k
	}
}

func (l *accessLock) drop(id uuid.UUID) {
	k := l.byID[id]
	if k == nil {
		return
	}
	delete(l.byID, id)
	if k.Type == lock.KeyPhone {
		delete(l.byAccount, k.AccountID)
	} else {
		delete(l.byDigest, k.CredentialDigest)
	}
}

// apply brings a loaded entry up to date with one of its lock's events, after the
// event's rows are written. Entries not loaded are left to load from the rows.
func (x *AccessIndex) apply(id uuid.UUID, env es.Envelope) {
	x.writeMu.Lock()
	defer x.writeMu.Unlock()
	x.mu.RLock()
	l := x.locks[id]
	x.mu.RUnlock()
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch e := env.Event.(type) {
	case lock.Registered:
		l.registered, l.frozen = true, false
		if loc, err := x.locations(e.TimeZone); err == nil {
			l.loc = loc
		}
		x.setDevice(id, l, e.DeviceTokenDigest)
	case lock.Updated:
		if loc, err := x.locations(e.TimeZone); err == nil {
			l.loc = loc
		}
	case lock.Removed:
		l.registered, l.frozen = false, false
		x.setDevice(id, l, "")
	case lock.Frozen:
		l.frozen = true
	case lock.Unfrozen:
		l.frozen = false
	case lock.DeviceTokenRotated:
		x.setDevice(id, l, e.DeviceTokenDigest)
	case lock.KeyIssued:
		l.drop(e.KeyID)
		l.put(&lock.Key{ID: e.KeyID, Type: e.Type, AccountID: e.AccountID, CredentialDigest: e.CredentialDigest,
			KeyTerms: lock.KeyTerms{HolderName: e.HolderName, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, Schedule: e.Schedule, MaxUses: e.MaxUses}})
	case lock.KeyChanged:
		if k := l.byID[e.KeyID]; k != nil {
			c := *k
			c.KeyTerms = lock.KeyTerms{HolderName: e.HolderName, ValidFrom: e.ValidFrom, ValidUntil: e.ValidUntil, Schedule: e.Schedule, MaxUses: e.MaxUses}
			l.drop(k.ID)
			l.put(&c)
		}
	case lock.KeyUsed:
		if k := l.byID[e.KeyID]; k != nil {
			c := *k
			c.Uses = e.Uses
			l.drop(k.ID)
			l.put(&c)
		}
	case lock.KeyRevoked:
		l.drop(e.KeyID)
	}
}

func (x *AccessIndex) setDevice(id uuid.UUID, l *accessLock, digest string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if l.device != "" {
		delete(x.devices, l.device)
	}
	l.device = digest
	if digest != "" {
		x.devices[digest] = id
	}
}

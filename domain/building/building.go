// Package building groups a lock owner's locks in buildings (SPEC L13), so that one
// command issues or revokes a key on several locks of a building.
//
// The aggregate is an owner's Portfolio, all their buildings in one stream, because
// its rule spans buildings: a lock is in at most one building of its owner. The
// locks themselves stay the authority on keys: a bulk issue is recorded here, and
// each lock then decides in its own stream, for itself (see domain/lock BulkKey).
package building

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Category is the stream category of portfolios: "buildings-<owner id>".
const Category = "buildings"

// Stream returns the stream of owner's buildings.
func Stream(owner uuid.UUID) string { return es.StreamName(Category, owner) }

// Limits of the buildings rule.
const (
	// MaxLocks bounds the locks in one building, and so the locks one bulk issue
	// reaches: each of them is one append, and the answer waits for all.
	MaxLocks = 100
	// MaxBuildings bounds the buildings of one owner.
	MaxBuildings = 1000
	// MaxName bounds a building's name, in characters.
	MaxName = 100
)

// Building is one building as the portfolio holds it.
type Building struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
	Locks     []uuid.UUID // in the order they were added
}

// Bulk is one bulk issue of a building: one key issued on several locks (L13).
type Bulk struct {
	ID         uuid.UUID
	BuildingID uuid.UUID
	LockIDs    []uuid.UUID // the locks asked, in order
	KeyType    string
	HolderName string
	IssuedAt   time.Time
	RevokedAt  time.Time // zero while not revoked
}

// Portfolio is the buildings of one owner. State is private; it changes only
// through its methods.
type Portfolio struct {
	es.Root
	owner     uuid.UUID
	buildings map[uuid.UUID]*Building
	lockIn    map[uuid.UUID]uuid.UUID // lock → the building it is in
	bulks     map[uuid.UUID]*Bulk
}

// New returns the empty portfolio of owner, for a repository to fill.
func New(owner uuid.UUID) *Portfolio {
	return &Portfolio{owner: owner, buildings: make(map[uuid.UUID]*Building),
		lockIn: make(map[uuid.UUID]uuid.UUID), bulks: make(map[uuid.UUID]*Bulk)}
}

// Rehydrate builds owner's portfolio from its stored history. It is for
// repositories and tests only; commands change a Portfolio through its methods.
func Rehydrate(owner uuid.UUID, history []es.Event) *Portfolio {
	p := New(owner)
	p.Replay(history...)
	return p
}

// Replay applies stored events and counts them in the version.
func (p *Portfolio) Replay(events ...es.Event) {
	for _, e := range events {
		p.apply(e)
	}
	p.Replayed(len(events))
}

// Owner returns the account whose buildings these are.
func (p *Portfolio) Owner() uuid.UUID { return p.owner }

// Building returns a copy of building id, and false when the owner has none such.
func (p *Portfolio) Building(id uuid.UUID) (Building, bool) {
	b := p.buildings[id]
	if b == nil {
		return Building{}, false
	}
	c := *b
	c.Locks = slices.Clone(b.Locks)
	return c, true
}

// BuildingOf returns the building lockID is in, and false when it is in none.
func (p *Portfolio) BuildingOf(lockID uuid.UUID) (uuid.UUID, bool) {
	id, ok := p.lockIn[lockID]
	return id, ok
}

// Bulk returns a copy of bulk issue id of building buildingID, and false when the
// building has none such.
func (p *Portfolio) Bulk(buildingID, id uuid.UUID) (Bulk, bool) {
	b := p.bulks[id]
	if b == nil || b.BuildingID != buildingID {
		return Bulk{}, false
	}
	c := *b
	c.LockIDs = slices.Clone(b.LockIDs)
	return c, true
}

// ValidateName checks a building's name: trimmed, 1 to MaxName characters, no
// control characters.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > MaxName {
		return "", domain.Errorf(domain.EInvalid, "name must be 1 to %d characters", MaxName)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", domain.Errorf(domain.EInvalid, "name holds a control character")
		}
	}
	return name, nil
}

// Create adds building id named name (L13). managementOn says whether the owner
// switched building management on (the command layer reads it from the account);
// without it the building is refused with ErrManagementOff. Names are unique among
// the owner's buildings, compared without case. Creating the same id again with the
// same name records nothing.
func (p *Portfolio) Create(id uuid.UUID, name string, managementOn bool, now time.Time) error {
	if id == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "a building needs an id")
	}
	if !managementOn {
		return ErrManagementOff
	}
	name, err := ValidateName(name)
	if err != nil {
		return err
	}
	if b := p.buildings[id]; b != nil {
		if b.Name == name {
			return nil
		}
		return domain.Errorf(domain.EConflict, "building %s exists", id)
	}
	for _, b := range p.buildings {
		if strings.EqualFold(b.Name, name) {
			return ErrNameTaken
		}
	}
	if len(p.buildings) >= MaxBuildings {
		return ErrTooManyBuildings
	}
	p.record(Created{BuildingID: id, OwnerID: p.owner, Name: name, CreatedAt: now.UTC()})
	return nil
}

// AddLock puts lockID in building buildingID (L13). The command layer has checked
// that the owner owns the lock now. A lock already in this building records
// nothing; a lock in another of the owner's buildings is refused (EConflict), as
// is a full building (ErrBuildingFull).
func (p *Portfolio) AddLock(buildingID, lockID uuid.UUID, now time.Time) error {
	b := p.buildings[buildingID]
	if b == nil {
		return ErrNotFound
	}
	if lockID == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "a lock id is required")
	}
	switch in, ok := p.lockIn[lockID]; {
	case ok && in == buildingID:
		return nil
	case ok:
		return domain.Errorf(domain.EConflict, "this lock is in your building %q: a lock is in one building at most, so remove it there first", p.buildings[in].Name)
	}
	if len(b.Locks) >= MaxLocks {
		return ErrBuildingFull
	}
	p.record(LockAdded{BuildingID: buildingID, LockID: lockID, AddedAt: now.UTC()})
	return nil
}

// RemoveLock takes lockID out of building buildingID (L13); ErrLockNotInBuilding
// when it is not there. The lock's keys stay as they are.
func (p *Portfolio) RemoveLock(buildingID, lockID uuid.UUID, now time.Time) error {
	if p.buildings[buildingID] == nil {
		return ErrNotFound
	}
	if in, ok := p.lockIn[lockID]; !ok || in != buildingID {
		return ErrLockNotInBuilding
	}
	p.record(LockRemoved{BuildingID: buildingID, LockID: lockID, Reason: ReasonRemoved, RemovedAt: now.UTC()})
	return nil
}

// ForgetLock takes lockID out of whichever building holds it because the owner no
// longer owns the lock (they removed it from the platform, L7). It records nothing
// when no building holds it.
func (p *Portfolio) ForgetLock(lockID uuid.UUID, now time.Time) {
	if in, ok := p.lockIn[lockID]; ok {
		p.record(LockRemoved{BuildingID: in, LockID: lockID, Reason: ReasonNotOwned, RemovedAt: now.UTC()})
	}
}

// BulkIssue is what IssueKeys records: a bulk issue's id, the locks to ask (empty
// for every lock of the building), and what the key is, without its credential.
type BulkIssue struct {
	BulkID     uuid.UUID
	LockIDs    []uuid.UUID
	KeyType    string
	HolderName string
}

// IssueKeys records bulk issue req on building buildingID (L13) and returns the
// locks it asks, in order: req.LockIDs, each of which must be in the building, or
// every lock of the building when req.LockIDs is empty. It refuses an empty list
// (ErrNoLocks), more than MaxLocks locks (ErrTooManyLocks), a lock named twice
// (ErrDuplicateLock) and a lock the building does not hold (ErrLockNotInBuilding,
// EInvalid here: the request names it). Each lock then decides for itself.
func (p *Portfolio) IssueKeys(buildingID uuid.UUID, req BulkIssue, now time.Time) ([]uuid.UUID, error) {
	b := p.buildings[buildingID]
	if b == nil {
		return nil, ErrNotFound
	}
	if req.BulkID == uuid.Nil {
		return nil, domain.Errorf(domain.EInvalid, "a bulk issue needs an id")
	}
	if p.bulks[req.BulkID] != nil {
		return nil, domain.Errorf(domain.EConflict, "bulk issue %s exists", req.BulkID)
	}
	locks := req.LockIDs
	if locks == nil {
		locks = b.Locks
	}
	if len(locks) > MaxLocks {
		return nil, ErrTooManyLocks
	}
	if len(locks) == 0 {
		return nil, ErrNoLocks
	}
	seen := make(map[uuid.UUID]bool, len(locks))
	for _, id := range locks {
		if seen[id] {
			return nil, ErrDuplicateLock
		}
		seen[id] = true
		if p.lockIn[id] != buildingID {
			return nil, domain.Errorf(domain.EInvalid, "lock %s is not in this building", id)
		}
	}
	locks = slices.Clone(locks)
	p.record(KeysIssued{BuildingID: buildingID, BulkID: req.BulkID, LockIDs: locks, KeyType: req.KeyType,
		HolderName: strings.TrimSpace(req.HolderName), IssuedAt: now.UTC()})
	return slices.Clone(locks), nil
}

// RevokeKeys records that the owner revokes the key of bulk issue bulkID on the
// locks it asked (L13), and returns them; each lock then revokes its own key. A
// bulk revoked before records nothing and returns its locks again, so a retry
// revokes what a first attempt left.
func (p *Portfolio) RevokeKeys(buildingID, bulkID uuid.UUID, now time.Time) ([]uuid.UUID, error) {
	if p.buildings[buildingID] == nil {
		return nil, ErrNotFound
	}
	bulk := p.bulks[bulkID]
	if bulk == nil || bulk.BuildingID != buildingID {
		return nil, ErrBulkNotFound
	}
	if bulk.RevokedAt.IsZero() {
		p.record(KeysRevoked{BuildingID: buildingID, BulkID: bulkID, RevokedAt: now.UTC()})
	}
	return slices.Clone(bulk.LockIDs), nil
}

func (p *Portfolio) record(e es.Event) {
	p.apply(e)
	p.Record(e)
}

// apply mutates state from one event. It never validates, fails, or reads a clock.
func (p *Portfolio) apply(e es.Event) {
	switch e := e.(type) {
	case Created:
		p.buildings[e.BuildingID] = &Building{ID: e.BuildingID, Name: e.Name, CreatedAt: e.CreatedAt}
	case LockAdded:
		if b := p.buildings[e.BuildingID]; b != nil {
			b.Locks = append(b.Locks, e.LockID)
			p.lockIn[e.LockID] = e.BuildingID
		}
	case LockRemoved:
		if b := p.buildings[e.BuildingID]; b != nil {
			b.Locks = slices.DeleteFunc(b.Locks, func(id uuid.UUID) bool { return id == e.LockID })
		}
		if p.lockIn[e.LockID] == e.BuildingID {
			delete(p.lockIn, e.LockID)
		}
	case KeysIssued:
		p.bulks[e.BulkID] = &Bulk{ID: e.BulkID, BuildingID: e.BuildingID, LockIDs: slices.Clone(e.LockIDs),
			KeyType: e.KeyType, HolderName: e.HolderName, IssuedAt: e.IssuedAt}
	case KeysRevoked:
		if b := p.bulks[e.BulkID]; b != nil {
			b.RevokedAt = e.RevokedAt
		}
	}
}

package commands

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/account"
	"sleutel/domain/building"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// Buildings handles building management (L13): the owner's switch, buildings that
// group the owner's locks, and one key issued or revoked on several locks of a
// building in one command, each lock deciding for itself.
type Buildings struct {
	portfolios *Repository[*building.Portfolio]
	accounts   *Repository[*account.Account]
	locks      *Locks
	clock      Clock
	workers    int
}

// BuildingsConfig wires Buildings.
type BuildingsConfig struct {
	Store    EventStore
	Registry *es.Registry
	// Accounts and Locks are the account and lock handlers: Buildings shares their
	// repositories (one cached aggregate per stream) and runs its per-lock work
	// through Locks.IssueKey and Locks.RevokeKey.
	Accounts *Accounts
	Locks    *Locks
	Clock    Clock
	// Workers bounds the locks a bulk command works on at once; 4 when zero.
	Workers int
}

// NewBuildings returns the building command handlers.
func NewBuildings(c BuildingsConfig) *Buildings {
	if c.Store == nil || c.Registry == nil || c.Accounts == nil || c.Locks == nil || c.Clock == nil {
		panic("commands: nil dependency")
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	return &Buildings{
		portfolios: NewRepository(c.Store, c.Registry, portfolio, 10_000),
		accounts:   c.Accounts.accounts, locks: c.Locks, clock: c.Clock, workers: c.Workers,
	}
}

func portfolio(stream string) *building.Portfolio {
	owner, _ := es.StreamID(stream)
	return building.New(owner)
}

// BuildingManagement is the outcome of EnableBuildingManagement: since when it is on.
type BuildingManagement struct {
	Result
	EnabledAt time.Time
}

// EnableBuildingManagement switches building management on for the calling
// account (L13), without a code. Switching it on again changes nothing and answers
// with the first time.
func (h *Buildings) EnableBuildingManagement(ctx context.Context, by uuid.UUID, meta Meta) (BuildingManagement, error) {
	stream := accountStream(by)
	res, err := h.accounts.Update(ctx, stream, meta, func(a *account.Account) error {
		return a.EnableBuildingManagement(h.clock.Now())
	})
	if err != nil {
		return BuildingManagement{}, err
	}
	out := BuildingManagement{Result: res}
	err = h.accounts.Read(ctx, stream, func(a *account.Account) error {
		_, out.EnabledAt = a.BuildingManagement()
		return nil
	})
	return out, err
}

// BuildingManagementOf returns since when the account by has building management
// on (L13): zero while it is off.
func (h *Buildings) BuildingManagementOf(ctx context.Context, by uuid.UUID) (time.Time, error) {
	var since time.Time
	err := h.accounts.Read(ctx, accountStream(by), func(a *account.Account) error {
		_, since = a.BuildingManagement()
		return nil
	})
	return since, err
}

// CreatedBuilding is the outcome of CreateBuilding.
type CreatedBuilding struct {
	Result
	BuildingID uuid.UUID
}

// CreateBuilding creates a building of the calling owner (L13); refused with
// building.ErrManagementOff until the owner switched building management on.
func (h *Buildings) CreateBuilding(ctx context.Context, by uuid.UUID, meta Meta, name string) (CreatedBuilding, error) {
	var on bool
	if err := h.accounts.Read(ctx, accountStream(by), func(a *account.Account) error {
		on, _ = a.BuildingManagement()
		return nil
	}); err != nil {
		return CreatedBuilding{}, err
	}
	id := NewID()
	res, err := h.portfolios.Update(ctx, building.Stream(by), meta, func(p *building.Portfolio) error {
		return p.Create(id, name, on, h.clock.Now())
	})
	if err != nil {
		return CreatedBuilding{}, err
	}
	if created, ok := res.First.(building.Created); res.Replayed && ok {
		id = created.BuildingID // a retry: the building the first attempt created
	}
	return CreatedBuilding{Result: res, BuildingID: id}, nil
}

// AddLock puts a lock the caller owns now in one of the caller's buildings (L13).
// A building of someone else, or a lock the caller does not own, is not found (E2).
func (h *Buildings) AddLock(ctx context.Context, by, buildingID, lockID uuid.UUID, meta Meta) (Result, error) {
	if err := h.portfolios.Read(ctx, building.Stream(by), func(p *building.Portfolio) error {
		if _, ok := p.Building(buildingID); !ok {
			return building.ErrNotFound
		}
		return nil
	}); err != nil {
		return Result{}, err
	}
	if err := h.locks.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if !l.CanSee(by) {
			return lock.ErrNotRegistered
		}
		return nil
	}); err != nil {
		return Result{}, err
	}
	return h.portfolios.Update(ctx, building.Stream(by), meta, func(p *building.Portfolio) error {
		return p.AddLock(buildingID, lockID, h.clock.Now())
	})
}

// RemoveLock takes a lock out of one of the caller's buildings (L13). Its keys
// stay as they are.
func (h *Buildings) RemoveLock(ctx context.Context, by, buildingID, lockID uuid.UUID, meta Meta) (Result, error) {
	return h.portfolios.Update(ctx, building.Stream(by), meta, func(p *building.Portfolio) error {
		return p.RemoveLock(buildingID, lockID, h.clock.Now())
	})
}

// ForgetRemovedLock takes a lock its owner removed from the platform (L7) out of
// the owner's buildings, so that buildings hold only locks their owner owns. The
// lock's current state decides, not the event alone: a lock the same owner has
// registered again since stays where it is, so a late or repeated delivery does no
// harm.
func (h *Buildings) ForgetRemovedLock(ctx context.Context, owner, lockID uuid.UUID) error {
	var owns bool
	if err := h.locks.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		owns = l.CanSee(owner)
		return nil
	}); err != nil || owns {
		return err
	}
	meta := Meta{Actor: es.ActorOf(es.ActorSystem, "buildings")}
	_, err := h.portfolios.Update(ctx, building.Stream(owner), meta, func(p *building.Portfolio) error {
		p.ForgetLock(lockID, h.clock.Now())
		return nil
	})
	return err
}

// IssueBuildingKeys issues one key on several locks of a building (L13): the body
// of a single key issue, and optionally the locks to reach (nil: every lock of
// the building).
type IssueBuildingKeys struct {
	BuildingID uuid.UUID
	LockIDs    []uuid.UUID
	Type       string
	AccountID  uuid.UUID // phone keys
	Credential string    // remote serial, tag UID or PIN; one PIN for every lock is generated when empty
	Terms      lock.KeyTerms
}

// LockOutcome is what one lock of a bulk command did.
type LockOutcome struct {
	LockID uuid.UUID
	// KeyID is the key the lock issued or revoked; Nil when it had none to revoke
	// or refused.
	KeyID uuid.UUID
	// Err is the lock's refusal (a *domain.Error with its own code and message,
	// or an internal error); nil when the lock did its part.
	Err error
	// Result is where the lock's write stands; zero when it wrote nothing.
	Result Result
}

// BulkOutcome is the outcome of a bulk command: the building's record of it, and
// what each lock did, in the order of the bulk's locks.
type BulkOutcome struct {
	Result
	BuildingID uuid.UUID
	BulkID     uuid.UUID
	// PIN is the code every lock was given when the platform generated it, shown
	// this once.
	PIN   string
	Locks []LockOutcome
}

// LocksResult returns the latest of the locks' writes: a query after the command
// waits for the read models of locks to reach it (read-your-writes).
func (o BulkOutcome) LocksResult() Result {
	var last Result
	for _, l := range o.Locks {
		if last.Position.Less(l.Result.Position) {
			last = l.Result
		}
	}
	return last
}

// IssueKeys issues one key on several locks of one of the caller's buildings in
// one command (L13). Bad input is refused once, before anything is recorded (E1).
// Then the building records the bulk issue, and every lock decides for itself
// through the ordinary key issue (L8–L10): a lock in revoke-only, at its allowance
// or no longer the caller's refuses with its own error while the others issue. It
// is not all-or-nothing across locks, but it is safe to retry: a lock keeps at
// most one active key per bulk issue, and with an idempotency key a retry finds
// the same bulk, the same keys and the same PIN, and asks again only the locks
// that refused.
func (h *Buildings) IssueKeys(ctx context.Context, by uuid.UUID, meta Meta, cmd IssueBuildingKeys) (BulkOutcome, error) {
	t, err := lock.ParseKeyType(cmd.Type)
	if err != nil {
		return BulkOutcome{}, err
	}
	if cmd.Terms, err = lock.ValidateKeyTerms(t, cmd.Terms); err != nil {
		return BulkOutcome{}, err
	}
	if err := h.checkCredential(ctx, t, cmd); err != nil {
		return BulkOutcome{}, err
	}
	bulkID := NewID()
	var locks []uuid.UUID
	res, err := h.portfolios.Update(ctx, building.Stream(by), meta.sub("bulk"), func(p *building.Portfolio) error {
		var err error
		locks, err = p.IssueKeys(cmd.BuildingID, building.BulkIssue{BulkID: bulkID, LockIDs: cmd.LockIDs,
			KeyType: string(t), HolderName: cmd.Terms.HolderName}, h.clock.Now())
		return err
	})
	if err != nil {
		return BulkOutcome{}, err
	}
	if issued, ok := res.First.(building.KeysIssued); res.Replayed && ok {
		bulkID, locks = issued.BulkID, issued.LockIDs // a retry: the first attempt's bulk and locks
	}
	out := BulkOutcome{Result: res, BuildingID: cmd.BuildingID, BulkID: bulkID}
	credential := cmd.Credential
	if t == lock.KeyCode && credential == "" {
		if credential, err = h.bulkPIN(ctx, by, bulkID, locks, meta); err != nil {
			return BulkOutcome{}, err
		}
		out.PIN = credential
	}
	out.Locks = h.eachLock(locks, func(lockID uuid.UUID) LockOutcome {
		return h.issueOn(ctx, by, lockID, bulkID, meta, IssueKey{LockID: lockID, Type: string(t), AccountID: cmd.AccountID,
			Credential: credential, Terms: cmd.Terms, BulkID: bulkID})
	})
	return out, nil
}

// checkCredential refuses, once for all locks, a credential no lock would accept.
func (h *Buildings) checkCredential(ctx context.Context, t lock.KeyType, cmd IssueBuildingKeys) error {
	if t == lock.KeyPhone {
		if cmd.Credential != "" {
			return domain.Errorf(domain.EInvalid, "a phone key takes account_id, not a credential")
		}
		if cmd.AccountID == uuid.Nil {
			return domain.Errorf(domain.EInvalid, "a phone key needs account_id")
		}
		ok, err := h.locks.accounts.AccountExists(ctx, cmd.AccountID)
		if err != nil {
			return err
		}
		if !ok {
			return domain.Errorf(domain.EInvalid, "account_id names no account")
		}
		return nil
	}
	if cmd.AccountID != uuid.Nil {
		return domain.Errorf(domain.EInvalid, "only phone keys take account_id")
	}
	if cmd.Credential == "" {
		if t != lock.KeyCode {
			return domain.Errorf(domain.EInvalid, "a %s key needs its credential", t)
		}
		return nil
	}
	_, err := lock.NormalizeCredential(t, cmd.Credential)
	return err
}

// issueOn issues the bulk's key on one lock, unless the lock already holds it (a
// retry), through the ordinary key issue.
func (h *Buildings) issueOn(ctx context.Context, by, lockID, bulkID uuid.UUID, meta Meta, cmd IssueKey) LockOutcome {
	out := LockOutcome{LockID: lockID}
	held, err := h.bulkKey(ctx, by, lockID, bulkID)
	if err != nil || held != uuid.Nil {
		out.KeyID, out.Err = held, err
		return out
	}
	issued, err := h.locks.IssueKey(ctx, by, meta.sub("lock/"+lockID.String()), cmd)
	switch {
	case errors.Is(err, lock.ErrBulkKeyHeld):
		// A concurrent retry of the same bulk issued it first: that key is the answer.
		out.KeyID, out.Err = h.bulkKey(ctx, by, lockID, bulkID)
	case errors.Is(err, lock.ErrNotRegistered):
		out.Err = building.ErrLockNotOwned
	default:
		out.KeyID, out.Err, out.Result = issued.KeyID, err, issued.Result
	}
	return out
}

// bulkKey returns the active key of bulk issue bulkID on a lock the caller owns
// (uuid.Nil when it holds none), or building.ErrLockNotOwned.
func (h *Buildings) bulkKey(ctx context.Context, by, lockID, bulkID uuid.UUID) (uuid.UUID, error) {
	var id uuid.UUID
	err := h.locks.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if !l.CanSee(by) {
			return building.ErrLockNotOwned
		}
		if k := l.BulkKey(bulkID); k != nil {
			id = k.ID
		}
		return nil
	})
	return id, err
}

// bulkPIN picks one PIN for a code key on every lock of a bulk issue: one no
// active key of those locks uses, unless it is this bulk's own key there (a
// retry, which so finds the PIN it gave the first time). It is derived from the
// idempotency key when there is one, random otherwise.
func (h *Buildings) bulkPIN(ctx context.Context, by, bulkID uuid.UUID, locks []uuid.UUID, meta Meta) (string, error) {
	m := meta.sub("bulk-pin")
	for attempt := 0; attempt < 20; attempt++ {
		pin, err := h.locks.generatePIN(m, attempt)
		if err != nil {
			return "", err
		}
		free := true
		for _, lockID := range locks {
			digest := h.locks.secrets.CredentialDigest(lockID, string(lock.KeyCode), pin)
			if err := h.locks.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
				if !l.CanSee(by) {
					return nil // it will refuse on its own
				}
				if k := l.BulkKey(bulkID); k != nil {
					free = k.CredentialDigest == digest
				} else {
					free = !l.CredentialInUse(digest)
				}
				return nil
			}); err != nil {
				return "", err
			}
			if !free {
				break
			}
		}
		if free {
			return pin, nil
		}
	}
	return "", domain.Errorf(domain.EConflict, "could not find a PIN free on every lock of the building: give one")
}

// RevokeKeys revokes the key of bulk issue bulkID on every lock it was issued on
// (L13), whatever the locks' management level (L5). The building records the
// revocation, then each lock revokes its active key of the bulk, if it holds one:
// a lock no longer the caller's refuses on its own. Revoking again is harmless, so
// a retry needs no idempotency key.
func (h *Buildings) RevokeKeys(ctx context.Context, by, buildingID, bulkID uuid.UUID, meta Meta) (BulkOutcome, error) {
	stream := building.Stream(by)
	res, err := h.portfolios.Update(ctx, stream, meta.sub("bulk"), func(p *building.Portfolio) error {
		_, err := p.RevokeKeys(buildingID, bulkID, h.clock.Now())
		return err
	})
	if err != nil {
		return BulkOutcome{}, err
	}
	var locks []uuid.UUID
	if err := h.portfolios.Read(ctx, stream, func(p *building.Portfolio) error {
		b, _ := p.Bulk(buildingID, bulkID)
		locks = b.LockIDs
		return nil
	}); err != nil {
		return BulkOutcome{}, err
	}
	out := BulkOutcome{Result: res, BuildingID: buildingID, BulkID: bulkID}
	out.Locks = h.eachLock(locks, func(lockID uuid.UUID) LockOutcome {
		o := LockOutcome{LockID: lockID}
		keyID, err := h.bulkKey(ctx, by, lockID, bulkID)
		if err != nil || keyID == uuid.Nil {
			o.Err = err
			return o
		}
		res, err := h.locks.RevokeKey(ctx, by, lockID, keyID, meta.sub("lock/"+lockID.String()))
		switch {
		case errors.Is(err, lock.ErrKeyRevoked), errors.Is(err, lock.ErrKeyNotFound):
			// revoked in the meantime: the lock holds no key of the bulk, as asked
		case errors.Is(err, lock.ErrNotRegistered):
			o.Err = building.ErrLockNotOwned
		default:
			o.KeyID, o.Err, o.Result = keyID, err, res
		}
		return o
	})
	return out, nil
}

// eachLock runs fn for every lock, a few at a time, and returns the outcomes in
// the order of locks.
func (h *Buildings) eachLock(locks []uuid.UUID, fn func(uuid.UUID) LockOutcome) []LockOutcome {
	out := make([]LockOutcome, len(locks))
	sem := make(chan struct{}, h.workers)
	var wg sync.WaitGroup
	for i, id := range locks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = fn(id)
		}()
	}
	wg.Wait()
	return out
}

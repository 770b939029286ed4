package commands

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/account"
	"sleutel/domain/es"
)

// StaleLookalike is how old an account must be before a look-alike key it holds,
// without ever having reserved its own username, counts as left behind by a
// sign-up that crashed half-way, and may be taken over (A1). No sign-up takes a
// minute between its two writes.
const StaleLookalike = time.Minute

// lookalikeKeys returns the sorted confusable keys of username; none without a
// Lookalikes function.
func (h *Accounts) lookalikeKeys(username string) []string {
	if h.lookalikes == nil {
		return nil
	}
	keys := slices.Clone(h.lookalikes(username))
	slices.Sort(keys)
	return slices.Compact(keys)
}

// lookalikesFree returns ErrUsernameTaken when a live account holds one of keys:
// most look-alikes are refused before anything is written.
func (h *Accounts) lookalikesFree(ctx context.Context, keys []string) error {
	for _, k := range keys {
		holder, taken, err := h.lookalikeHolder(ctx, k)
		if err != nil {
			return err
		}
		if taken {
			if stale, err := h.stale(ctx, holder); err != nil {
				return err
			} else if !stale {
				return account.ErrUsernameTaken
			}
		}
	}
	return nil
}

func (h *Accounts) lookalikeHolder(ctx context.Context, key string) (uuid.UUID, bool, error) {
	var id uuid.UUID
	var ok bool
	err := h.reservations.Read(ctx, account.LookalikeStream(key), func(r *account.Reservation) error {
		id, ok = r.Holder()
		return nil
	})
	return id, ok, err
}

// stale reports whether holder is an account that never reserved its username and
// was created more than StaleLookalike ago: a sign-up that lost a race or crashed.
func (h *Accounts) stale(ctx context.Context, holder uuid.UUID) (bool, error) {
	var username string
	var at time.Time
	if err := h.accounts.Read(ctx, accountStream(holder), func(a *account.Account) error {
		username, at = a.Username(), a.RegisteredAt()
		return nil
	}); err != nil {
		return false, err
	}
	if username != "" {
		if owner, taken, err := h.holder(ctx, h.key(username)); err != nil || (taken && owner == holder) {
			return false, err
		}
	}
	return h.clock.Now().Sub(at) > StaleLookalike, nil
}

// reserveLookalikes reserves keys for id in their sorted order, so two sign-ups
// meet on the same first key. A key held by a live account refuses the sign-up
// with ErrUsernameTaken, after the keys reserved so far are released; a stale one
// is taken over.
//
// These writes carry no idempotency key: a retried sign-up whose first attempt
// crashed comes back as another account, which must decide afresh on each key.
func (h *Accounts) reserveLookalikes(ctx context.Context, m Meta, id uuid.UUID, keys []string) error {
	m.IdempotencyKey = ""
	for i, k := range keys {
		_, err := h.reservations.Update(ctx, account.LookalikeStream(k), m, func(r *account.Reservation) error {
			if holder, taken := r.Holder(); taken && holder != id {
				stale, err := h.stale(ctx, holder)
				if err != nil {
					return err
				}
				if stale {
					if err := r.Release(holder); err != nil {
						return err
					}
				}
			}
			return r.Reserve(k, id)
		})
		if err != nil {
			if errors.Is(err, account.ErrUsernameTaken) {
				if rerr := h.releaseLookalikes(ctx, m, id, keys[:i]); rerr != nil {
					return rerr
				}
			}
			return err
		}
	}
	return nil
}

// releaseLookalikes gives back the keys id holds.
func (h *Accounts) releaseLookalikes(ctx context.Context, m Meta, id uuid.UUID, keys []string) error {
	m.IdempotencyKey = ""
	for _, k := range keys {
		if _, err := h.reservations.Update(ctx, account.LookalikeStream(k), m, func(r *account.Reservation) error {
			return r.Release(id)
		}); err != nil {
			return err
		}
	}
	return nil
}

// GuardUsername reserves the look-alike keys of an account that holds its
// username, for accounts made before look-alikes were refused (the look-alike
// process manager calls it for every username reservation in the log, once). A key
// another account holds is left to it: two look-alike accounts that both exist
// already both keep working, and only new look-alikes are refused. Seeing the same
// account again changes nothing.
func (h *Accounts) GuardUsername(ctx context.Context, accountID uuid.UUID) error {
	var username string
	if err := h.accounts.Read(ctx, accountStream(accountID), func(a *account.Account) error {
		username = a.Username()
		return nil
	}); err != nil || username == "" {
		return err
	}
	if owner, taken, err := h.holder(ctx, h.key(username)); err != nil || !taken || owner != accountID {
		return err // unreachable accounts need no look-alike keys
	}
	m := Meta{Actor: es.ActorOf(es.ActorSystem, "lookalikes"), CausationID: accountID.String()}
	for _, k := range h.lookalikeKeys(username) {
		_, err := h.reservations.Update(ctx, account.LookalikeStream(k), m, func(r *account.Reservation) error {
			if _, taken := r.Holder(); taken {
				return nil
			}
			return r.Reserve(k, accountID)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"sleutel/domain/account"
	"sleutel/domain/es"
)

// AccountIndex finds accounts by their linked email address, for a forgotten
// password asked by email (A4), and by the digest of an activation code, for a
// welcome letter's activation (A6). The aggregates decide; the index only says
// which account to ask.
type AccountIndex struct{ kv KV }

// NewAccountIndex returns the projection, which also answers the queries.
func NewAccountIndex(kv KV) *AccountIndex { return &AccountIndex{kv: kv} }

const accountIndex = "account_index_v1"

// Name implements Projection.
func (*AccountIndex) Name() string { return accountIndex }

// Filter implements Filtered.
func (*AccountIndex) Filter() es.Filter { return es.Filter{Categories: []string{"account"}} }

// Reset implements Resetter.
func (p *AccountIndex) Reset(ctx context.Context) error {
	return p.kv.Write(ctx, func(b Batch) error { return b.DeletePrefix(key(accountIndex)) })
}

// emailKey is the index entry of an account under its address, matched
// case-insensitively: most mail servers ignore the local part's case, and a person
// asking for a reset does not remember it.
func emailKey(email string, id uuid.UUID) []byte {
	return key(accountIndex, "email", strings.ToLower(email), id.String())
}
func emailOfKey(id uuid.UUID) []byte      { return key(accountIndex, "email_of", id.String()) }
func activationKey(digest string) []byte  { return key(accountIndex, "activation", digest) }
func activationOfKey(id uuid.UUID) []byte { return key(accountIndex, "activation_of", id.String()) }

// Handle implements Projection.
func (p *AccountIndex) Handle(ctx context.Context, env es.Envelope) error {
	id, ok := es.StreamID(env.Stream)
	if !ok {
		return nil
	}
	err := p.kv.Write(ctx, func(b Batch) error {
		if fresh, err := guard(accountIndex).fresh(b, env); err != nil || !fresh {
			return err
		}
		switch e := env.Event.(type) {
		case account.Registered:
			return p.setEmail(b, id, e.Email)
		case account.EmailChanged:
			return p.setEmail(b, id, e.Email)
		case account.ActivationIssued:
			if old, err := b.Get(activationOfKey(id)); err != nil {
				return err
			} else if old != nil {
				if err := b.Delete(activationKey(string(old))); err != nil {
					return err
				}
			}
			if err := b.Set(activationOfKey(id), []byte(e.CodeDigest)); err != nil {
				return err
			}
			return b.Set(activationKey(e.CodeDigest), []byte(id.String()))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %s/%d: %w", accountIndex, env.Stream, env.Revision, err)
	}
	return nil
}

func (p *AccountIndex) setEmail(b Batch, id uuid.UUID, email string) error {
	if old, err := b.Get(emailOfKey(id)); err != nil {
		return err
	} else if old != nil {
		if err := b.Delete(emailKey(string(old), id)); err != nil {
			return err
		}
	}
	if email == "" {
		return b.Delete(emailOfKey(id))
	}
	if err := b.Set(emailOfKey(id), []byte(email)); err != nil {
		return err
	}
	return b.Set(emailKey(email, id), nil)
}

// AccountsByEmail returns the accounts linked to email, matched
// case-insensitively, in id order.
func (p *AccountIndex) AccountsByEmail(ctx context.Context, email string) ([]uuid.UUID, error) {
	prefix := key(accountIndex, "email", strings.ToLower(strings.TrimSpace(email)), "")
	pairs, err := p.kv.Scan(ctx, prefix, nil, 100, false)
	if err != nil {
		return nil, err
	}
	var out []uuid.UUID
	for _, pr := range pairs {
		id, err := uuid.Parse(string(pr.Key[len(prefix):]))
		if err != nil {
			return nil, fmt.Errorf("%s: bad email entry %q", accountIndex, pr.Key)
		}
		out = append(out, id)
	}
	return out, nil
}

// AccountByActivation returns the account whose latest activation code has this
// digest, and false when none has.
func (p *AccountIndex) AccountByActivation(ctx context.Context, digest string) (uuid.UUID, bool, error) {
	v, err := p.kv.Get(ctx, activationKey(digest))
	if err != nil || v == nil {
		return uuid.Nil, false, err
	}
	id, err := uuid.Parse(string(v))
	return id, err == nil, err
}

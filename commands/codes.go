package commands

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/code"
	"sleutel/domain/es"
	"sleutel/domain/lock"
)

// Codes handles prepaid codes: issuing batches (P1) and redeeming them (P2, P3).
type Codes struct {
	codes   *Repository[*code.Code]
	locks   *Repository[*lock.Lock]
	secrets Secrets
	clock   Clock
	rand    io.Reader
	// afterConsume runs between consuming a code and granting its benefit; tests
	// make it fail to prove the process manager completes the redemption (P3).
	afterConsume func() error
}

// MaxCodesPerBatch bounds one issue request.
const MaxCodesPerBatch = 1000

// NewCodes returns the code handlers; locks is the lock repository shared with
// the lock handlers, so both see one cached lock.
func NewCodes(store EventStore, registry *es.Registry, locks *Repository[*lock.Lock], secrets Secrets, clock Clock, rand io.Reader) *Codes {
	if store == nil || registry == nil || locks == nil || secrets == nil || clock == nil || rand == nil {
		panic("commands: nil dependency")
	}
	return &Codes{
		codes: NewRepository(store, registry, func(string) *code.Code { return code.Rehydrate(nil) }, 10_000),
		locks: locks, secrets: secrets, clock: clock, rand: rand, afterConsume: func() error { return nil },
	}
}

var errNotIssuer = &domain.Error{Code: domain.EForbidden, Message: "only the platform's operator and the admins of a reseller issue prepaid codes"}

// IssueCodes issues count codes of one product (P1), appended concurrently so they
// share group commits. With an idempotency key the codes derive from it, so a retry
// returns the same codes and appends nothing. mayIssue says whether by is the
// operator or an admin of a reseller (decided by the caller, who knows the roles);
// anyone else gets EForbidden.
func (h *Codes) IssueCodes(ctx context.Context, by uuid.UUID, mayIssue bool, m Meta, productName string, count int) (IssuedCodes, error) {
	if !mayIssue {
		return IssuedCodes{}, errNotIssuer
	}
	product, err := code.ParseProduct(productName)
	if err != nil {
		return IssuedCodes{}, err
	}
	if count < 1 || count > MaxCodesPerBatch {
		return IssuedCodes{}, domain.Errorf(domain.EInvalid, "count must be 1 to %d", MaxCodesPerBatch)
	}
	batch := NewID()
	out := IssuedCodes{Product: product.String(), Codes: make([]string, count)}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		last  es.Position
		slots = make(chan struct{}, 32)
	)
	for i := range count {
		src := h.rand
		if s := m.scope("codes"); s != "" {
			src = &derivedReader{secrets: h.secrets, parts: []string{s, fmt.Sprint(i)}}
		}
		c, err := code.Generate(src)
		if err != nil {
			return IssuedCodes{}, err
		}
		norm, err := code.Normalize(c)
		if err != nil {
			return IssuedCodes{}, err
		}
		out.Codes[i] = code.Format(norm) // grouped, as people read and type them (P1)
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			id := code.StreamID(norm)
			res, err := h.codes.Create(ctx, code.StreamName(norm), m.sub(fmt.Sprint("code/", i)), func() (*code.Code, error) {
				return code.Issue(id, product, batch, by, h.clock.Now())
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if last.Less(res.Position) {
				last = res.Position
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return IssuedCodes{}, first
	}
	out.Position = last
	return out, nil
}

// derivedReader is an endless stream of bytes derived from an idempotency scope.
type derivedReader struct {
	secrets Secrets
	parts   []string
	block   int
	buf     []byte
}

func (d *derivedReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.buf) == 0 {
			var ctr [8]byte
			binary.BigEndian.PutUint64(ctr[:], uint64(d.block))
			d.block++
			d.buf = d.secrets.Derive("code", append(append([]string{}, d.parts...), string(ctr[:]))...)
		}
		c := copy(p[n:], d.buf)
		d.buf, n = d.buf[c:], n+c
	}
	return n, nil
}

// benefit returns what a lock product gives a lock.
func benefit(p code.Product) (lock.Benefit, bool) {
	switch p.Kind() {
	case code.KindManagement:
		return lock.Benefit{Kind: lock.BenefitManagement}, true
	case code.KindSharedManagement:
		return lock.Benefit{Kind: lock.BenefitSharedManagement}, true
	case code.KindKeys:
		return lock.Benefit{Kind: lock.BenefitKeys, Keys: p.Keys()}, true
	}
	return lock.Benefit{}, false
}

// RedeemOnLock redeems a code on a lock its caller owns. The lock first checks it
// may take the benefit (L5, L8, L11) so no code is wasted; then the code is
// consumed on its own stream, where the expected revision lets exactly one of two
// concurrent redemptions win (P2); then the lock gets the benefit. Should the
// process stop between the last two steps, CompleteRedemption, run by a process
// manager from the log, grants it (P3).
func (h *Codes) RedeemOnLock(ctx context.Context, by, lockID uuid.UUID, m Meta, raw string) (Result, error) {
	norm, err := code.Normalize(raw)
	if err != nil {
		return Result{}, err
	}
	stream := code.StreamName(norm)
	var (
		product code.Product
		codeID  uuid.UUID
	)
	if err := h.codes.Read(ctx, stream, func(c *code.Code) error {
		if !c.Issued() {
			return code.ErrUnknown
		}
		product, codeID = c.Product(), c.ID()
		return nil
	}); err != nil {
		return Result{}, err
	}
	b, ok := benefit(product)
	if !ok {
		return Result{}, code.ErrProductForAccount
	}
	if err := h.locks.Read(ctx, lock.Stream(lockID), func(l *lock.Lock) error {
		if !l.CanSee(by) {
			return lock.ErrNotRegistered
		}
		return l.CheckRedemption(by, b, h.clock.Now())
	}); err != nil {
		return Result{}, err
	}
	redemption := NewID()
	consumed, err := h.codes.Update(ctx, stream, m.sub("code"), func(c *code.Code) error {
		return c.Redeem(code.LockTarget(lockID), redemption, by, h.clock.Now())
	})
	if err != nil {
		return Result{}, err
	}
	if r, ok := consumed.First.(code.Redeemed); consumed.Replayed && ok {
		if r.LockID != lockID {
			return Result{}, code.ErrUsed // the same key sent for another lock
		}
		redemption = r.RedemptionID // a retry: grant what the first attempt consumed
	}
	if err := h.afterConsume(); err != nil {
		return Result{}, fmt.Errorf("redeem %s on lock %s: %w", codeID, lockID, err)
	}
	return h.grant(ctx, m, codeID, redemption, lockID, b)
}

func (h *Codes) grant(ctx context.Context, m Meta, codeID, redemption, lockID uuid.UUID, b lock.Benefit) (Result, error) {
	// Granted before (a retry, or the process manager came first): nothing is
	// appended and the caller sees the lock as it stands.
	return h.locks.Update(ctx, lock.Stream(lockID), m, func(l *lock.Lock) error {
		l.ApplyCode(codeID, redemption, b, h.clock.Now())
		return nil
	})
}

// CompleteRedemption grants the benefit of a consumed lock code if the lock does
// not have it yet (P3). The redemption process manager calls it for every
// code.redeemed event; it is idempotent.
func (h *Codes) CompleteRedemption(ctx context.Context, e code.Redeemed) error {
	if e.LockID == uuid.Nil {
		return nil // an account code: its benefit is part of the redemption itself
	}
	b, ok := benefit(e.Product)
	if !ok {
		return nil
	}
	m := Meta{Actor: es.ActorOf(es.ActorSystem, "redemptions"), CausationID: e.RedemptionID.String()}
	_, err := h.grant(ctx, m, e.CodeID, e.RedemptionID, e.LockID, b)
	return err
}

// Package clock tells the platform the time: Real in production, and Dev, a clock a
// developer or an end-to-end test can move forward to see trials end (L2, L4) and
// reminders fire (L16) without waiting months.
package clock

import (
	"context"
	"sync"
	"time"

	"sleutel/domain"
)

// Clock is a source of time whose jumps a scheduler can wait on. Real and *Dev
// implement it; consumers that only read the time declare interface{ Now() time.Time }.
type Clock interface {
	// Now returns the current time in UTC.
	Now() time.Time
	// Jumped returns a channel closed at the clock's next jump; nil when the clock
	// never jumps.
	Jumped() <-chan struct{}
}

// MaxOffset is how far ahead of real time a Dev clock may run: far enough for any
// period the platform knows (5-year codes, stacked), near enough that no time
// arithmetic overflows (a time.Duration spans about 292 years).
const MaxOffset = 100 * 365 * 24 * time.Hour

// Errors Advance returns (EInvalid): a dev clock only moves forward, and not absurdly far.
var (
	ErrNegativeAdvance = &domain.Error{Code: domain.EInvalid, Message: "the clock only moves forward"}
	ErrAdvanceTooFar   = &domain.Error{Code: domain.EInvalid, Message: "the clock may run at most 100 years ahead"}
)

// Real is the system clock.
type Real struct{}

// Now returns time.Now in UTC (without its monotonic reading, like every UTC time).
func (Real) Now() time.Time { return time.Now().UTC() }

// Jumped returns nil: the system clock never jumps, so a receive from it blocks forever.
func (Real) Jumped() <-chan struct{} { return nil }

// Dev is a clock that runs with real time plus an offset that only grows: after
// Advance(d) it reads real now + d and keeps flowing. It is safe for concurrent use.
type Dev struct {
	real func() time.Time

	mu     sync.Mutex
	offset time.Duration
	jumped chan struct{}
}

// NewDev returns a Dev clock that reads the real time until it is advanced.
func NewDev() *Dev { return newDev(time.Now) }

func newDev(real func() time.Time) *Dev {
	return &Dev{real: real, jumped: make(chan struct{})}
}

// Now returns the real time plus the offset, in UTC.
func (c *Dev) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *Dev) now() time.Time { return c.real().Add(c.offset).UTC() }

// Offset returns how far the clock runs ahead of real time.
func (c *Dev) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Advance moves the clock d forward and returns the new time. Every channel Jumped
// returned before is closed, so waiters wake at once. Advance(0) changes nothing and
// wakes no one. It returns ErrNegativeAdvance for d < 0 and ErrAdvanceTooFar when
// the clock would run more than MaxOffset ahead of real time (both EInvalid).
func (c *Dev) Advance(d time.Duration) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case d < 0:
		return time.Time{}, ErrNegativeAdvance
	case d > MaxOffset-c.offset: // subtraction: offset+d could overflow
		return time.Time{}, ErrAdvanceTooFar
	case d == 0:
		return c.now(), nil
	}
	c.offset += d
	close(c.jumped)
	c.jumped = make(chan struct{})
	return c.now(), nil
}

// Jumped returns a channel closed at the next Advance that moves the clock. Take
// it before reading Now, so that a jump between the two is not missed.
func (c *Dev) Jumped() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jumped
}

// WaitUntil blocks until c reads t or later, waking early to recheck whenever c
// jumps. It returns nil then, or ctx's error if ctx ends first. A scheduler uses it
// to fire a reminder (L16) at its time, real or advanced.
func WaitUntil(ctx context.Context, c Clock, t time.Time) error {
	for {
		jumped := c.Jumped() // before Now: a jump in between closes this channel
		d := t.Sub(c.Now())
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-jumped:
			timer.Stop()
		case <-timer.C:
		}
	}
}

package clock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/infra/clock"
)

// source is a real-time source the test moves by hand.
type source struct {
	mu  sync.Mutex
	now time.Time
}

func (s *source) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *source) tick(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

func newSource() *source {
	return &source{now: time.Date(2026, 1, 10, 12, 0, 0, 0, time.FixedZone("CET", 3600))}
}

var (
	_ clock.Clock = clock.Real{}
	_ clock.Clock = (*clock.Dev)(nil)
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestReal(t *testing.T) {
	t.Parallel()
	before := time.Now()
	now := clock.Real{}.Now()
	after := time.Now()
	require.Equal(t, time.UTC, now.Location())
	require.WithinRange(t, now, before.Round(0), after.Round(0))
	require.Nil(t, clock.Real{}.Jumped())
}

func TestDev_startsAtRealTimeAndKeepsFlowing(t *testing.T) {
	t.Parallel()
	src := newSource()
	c := clock.NewDevFrom(src.Now)
	require.Equal(t, src.Now().UTC(), c.Now())
	require.Equal(t, time.UTC, c.Now().Location())

	got, err := c.Advance(90 * 24 * time.Hour)
	require.NoError(t, err)
	want := src.Now().Add(90 * 24 * time.Hour).UTC()
	require.Equal(t, want, got)
	require.Equal(t, want, c.Now())
	require.Equal(t, 90*24*time.Hour, c.Offset())

	src.tick(time.Minute) // real time flows on after the jump
	require.Equal(t, want.Add(time.Minute), c.Now())
}

func TestDev_Advance_refusals(t *testing.T) {
	t.Parallel()
	src := newSource()
	tests := []struct {
		name    string
		before  time.Duration // offset already reached
		d       time.Duration
		wantErr error
	}{
		{"negative", 0, -time.Nanosecond, clock.ErrNegativeAdvance},
		{"more than 100 years", 0, clock.MaxOffset + time.Nanosecond, clock.ErrAdvanceTooFar},
		{"overflowing duration", time.Hour, time.Duration(1<<63 - 1), clock.ErrAdvanceTooFar},
		{"100 years in total", clock.MaxOffset - time.Hour, time.Hour + time.Nanosecond, clock.ErrAdvanceTooFar},
		{"exactly 100 years", 0, clock.MaxOffset, nil},
		{"up to 100 years in total", clock.MaxOffset - time.Hour, time.Hour, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clock.NewDevFrom(src.Now)
			if tt.before > 0 {
				_, err := c.Advance(tt.before)
				require.NoError(t, err)
			}
			_, err := c.Advance(tt.d)
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr != nil {
				require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
				require.Equal(t, tt.before, c.Offset(), "a refused advance moves nothing")
			} else {
				require.Equal(t, tt.before+tt.d, c.Offset())
			}
		})
	}
}

func TestDev_Jumped(t *testing.T) {
	t.Parallel()
	c := clock.NewDevFrom(newSource().Now)
	first := c.Jumped()
	require.False(t, closed(first))

	_, err := c.Advance(0)
	require.NoError(t, err)
	require.False(t, closed(first), "Advance(0) wakes no one")

	_, err = c.Advance(-time.Second)
	require.Error(t, err)
	require.False(t, closed(first), "a refused advance wakes no one")

	_, err = c.Advance(time.Hour)
	require.NoError(t, err)
	require.True(t, closed(first), "Advance closes the channel taken before it")

	second := c.Jumped()
	require.False(t, closed(second), "the next jump gets a fresh channel")
	_, err = c.Advance(time.Hour)
	require.NoError(t, err)
	require.True(t, closed(second))
}

func TestDev_concurrentUse(t *testing.T) {
	t.Parallel()
	c := clock.NewDevFrom(newSource().Now) // real time stands still: Now only grows by Advance
	const workers, steps = 8, 100
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			last := c.Now()
			for range steps {
				_ = c.Jumped()
				if _, err := c.Advance(time.Second); err != nil {
					t.Errorf("Advance(1s) = %v, want nil", err)
					return
				}
				now := c.Now()
				if now.Before(last) {
					t.Errorf("Now() went back from %v to %v", last, now)
				}
				last = now
			}
		})
	}
	wg.Wait()
	require.Equal(t, workers*steps*time.Second, c.Offset())
}

func TestWaitUntil_wakesOnJump(t *testing.T) {
	t.Parallel()
	src := newSource()
	c := clock.NewDevFrom(src.Now)
	target := c.Now().Add(30 * 24 * time.Hour) // no real timer fires within a test run
	done := make(chan error, 1)
	go func() { done <- clock.WaitUntil(t.Context(), c, target) }()

	_, err := c.Advance(10 * 24 * time.Hour) // not far enough: the waiter rechecks and waits on
	require.NoError(t, err)
	select {
	case err := <-done:
		t.Fatalf("WaitUntil returned %v before its time", err)
	default:
	}
	_, err = c.Advance(20 * 24 * time.Hour)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.False(t, c.Now().Before(target))
}

func TestWaitUntil_pastTimeReturnsAtOnce(t *testing.T) {
	t.Parallel()
	require.NoError(t, clock.WaitUntil(t.Context(), clock.Real{}, time.Now().Add(-time.Hour)))
	c := clock.NewDevFrom(newSource().Now)
	require.NoError(t, clock.WaitUntil(t.Context(), c, c.Now()))
}

func TestWaitUntil_realTimer(t *testing.T) {
	t.Parallel()
	target := time.Now().Add(time.Millisecond)
	require.NoError(t, clock.WaitUntil(t.Context(), clock.Real{}, target))
	require.False(t, time.Now().Before(target))
}

func TestWaitUntil_contextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	c := clock.NewDevFrom(newSource().Now)
	done := make(chan error, 1)
	go func() { done <- clock.WaitUntil(ctx, c, c.Now().Add(time.Hour)) }()
	cancel()
	err := <-done
	require.True(t, errors.Is(err, context.Canceled), "WaitUntil = %v, want context.Canceled", err)
}

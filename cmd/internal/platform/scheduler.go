package platform

import (
	"context"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"sleutel/commands"
	"sleutel/infra/logging"
	"sleutel/projections"
)

// scheduler records period ends and reminders (L4, L16) as they fall due. It scans
// the lock read models once a minute, and at once when the dev clock jumps, and
// runs RecordPeriods on every lock with a deadline that has passed since its last
// scan (all past deadlines on the first scan: the command is idempotent, so a
// restart only re-checks).
type scheduler struct {
	locks   *commands.Locks
	queries *projections.LockQueries
	clock   interface{ Now() time.Time }
	wake    func() <-chan struct{} // the dev clock's next jump; nil for a real clock
	log     *zap.Logger
	last    time.Time
}

func (s *scheduler) run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		var jumped <-chan struct{}
		if s.wake != nil {
			jumped = s.wake() // before the scan: a jump during it is not missed
		}
		s.scan(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-jumped:
		}
	}
}

func (s *scheduler) scan(ctx context.Context) {
	now := s.clock.Now()
	var due []uuid.UUID
	err := s.queries.AllLocks(ctx, func(row *projections.LockRow) error {
		if !row.Removed && s.dueSince(row, s.last, now) {
			due = append(due, row.ID)
		}
		return nil
	})
	if err != nil {
		s.log.Error("scheduler scan", zap.Error(err))
		return
	}
	for _, id := range due {
		start := time.Now()
		if _, err := s.locks.RecordPeriods(ctx, id); err != nil {
			s.log.Error("record periods", logging.LockID(id), zap.Error(err))
			continue
		}
		s.log.Info("periods recorded", logging.Command("record_periods"), logging.LockID(id), logging.Duration(time.Since(start)))
	}
	s.last = now
}

// dueSince reports whether one of the lock's deadlines lies in (since, now].
func (s *scheduler) dueSince(row *projections.LockRow, since, now time.Time) bool {
	ends := []time.Time{row.TrialEndsAt}
	if row.PaidEndsAt != nil {
		ends = append(ends, *row.PaidEndsAt)
	}
	if row.SharedManagementEndsAt != nil {
		ends = append(ends, *row.SharedManagementEndsAt)
	}
	for _, end := range ends {
		for _, t := range []time.Time{end.Add(-30 * 24 * time.Hour), end.Add(-7 * 24 * time.Hour), end} {
			if t.After(since) && !t.After(now) {
				return true
			}
		}
	}
	return false
}

package domain

import "time"

// AddMonths adds n calendar months to t in UTC, keeping the day of the month where
// the target month has it and taking the month's last day where it has not
// (31 January + 1 month = 28 or 29 February), unlike time.AddDate, which would roll
// over into March.
func AddMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// AddYears adds n calendar years to t in UTC (29 February + 1 year = 28 February).
func AddYears(t time.Time, n int) time.Time { return AddMonths(t, 12*n) }

package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"sleutel/domain"
)

func TestAddMonths(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 10, 30, 0, 0, time.UTC) }
	cases := []struct {
		from time.Time
		n    int
		want time.Time
	}{
		{d(2026, 1, 15), 3, d(2026, 4, 15)},
		{d(2026, 1, 31), 1, d(2026, 2, 28)},
		{d(2028, 1, 31), 1, d(2028, 2, 29)},
		{d(2026, 11, 30), 3, d(2027, 2, 28)},
		{d(2026, 12, 31), 3, d(2027, 3, 31)},
		{d(2028, 2, 29), 60, d(2033, 2, 28)},
	}
	for _, c := range cases {
		require.Equal(t, c.want, domain.AddMonths(c.from, c.n), "AddMonths(%s, %d)", c.from, c.n)
	}
	require.Equal(t, d(2031, 3, 1), domain.AddYears(d(2026, 3, 1), 5))
}

package report_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/es"
	"sleutel/domain/report"
)

func TestRecord(t *testing.T) {
	t.Parallel()
	lockID, keyID := uuid.New(), uuid.New()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	earlier := now.Add(-48 * time.Hour)
	pct := 20
	granted := report.Report{ID: "r1", Type: report.AccessGranted, OccurredAt: earlier, KeyID: keyID}
	battery := report.Report{ID: "r2", Type: report.Battery, OccurredAt: earlier, BatteryPercent: &pct}
	recorded := func(r report.Report) report.Recorded {
		return report.Recorded{ReportID: r.ID, LockID: lockID, Type: r.Type, OccurredAt: r.OccurredAt, RecordedAt: now, KeyID: r.KeyID, BatteryPercent: r.BatteryPercent}
	}
	cases := []struct {
		name    string
		given   []es.Event
		when    []report.Report
		then    []es.Event
		wantErr bool
	}{
		{"D2 late reports keep the time they happened beside the time recorded", nil, []report.Report{granted, battery},
			[]es.Event{recorded(granted), recorded(battery)}, false},
		{"D2 a repeated report is recorded once", []es.Event{recorded(granted)}, []report.Report{granted, battery},
			[]es.Event{recorded(battery)}, false},
		{"D2 a report repeated within a batch is recorded once", nil, []report.Report{granted, granted},
			[]es.Event{recorded(granted)}, false},
		{"E1 one bad report refuses the whole batch", nil, []report.Report{granted, {ID: "x", Type: "smoke", OccurredAt: now}}, nil, true},
		{"a report from the future", nil, []report.Report{{ID: "f", Type: report.Tamper, OccurredAt: now.Add(2 * time.Hour)}}, nil, true},
		{"a battery report without a level", nil, []report.Report{{ID: "b", Type: report.Battery, OccurredAt: now}}, nil, true},
		{"an id with a space", nil, []report.Report{{ID: "a b", Type: report.Tamper, OccurredAt: now}}, nil, true},
		{"an empty batch", nil, nil, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := report.Rehydrate(lockID, c.given)
			err := l.Record(c.when, now)
			if c.wantErr {
				require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
				require.Empty(t, l.Changes())
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.then, l.Changes())
		})
	}
}

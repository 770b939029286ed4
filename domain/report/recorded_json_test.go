package report

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/domain/es/estest"
)

// TestRecordedDecodeEventAllocates: a stored report becomes an event in one
// allocation, and one for its id (the registry goes through DecodeEvent).
func TestRecordedDecodeEventAllocates(t *testing.T) {
	raw := recordedSamples()[0]
	r := es.NewRegistry()
	RegisterEvents(r)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := r.Decode(RecordedType, raw); err != nil {
			t.Fatal(err)
		}
	})
	require.LessOrEqual(t, allocs, 2.0)
}

func recordedSamples() [][]byte {
	pct, zero, neg := 87, 0, -3
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321000, time.UTC)
	var out [][]byte
	for _, r := range []Recorded{
		{ReportID: "r-1", LockID: uuid.New(), Type: AccessGranted, OccurredAt: at, RecordedAt: at.Add(time.Second), KeyID: uuid.New()},
		{ReportID: "r-2", LockID: uuid.New(), Type: Battery, OccurredAt: at, RecordedAt: at, BatteryPercent: &pct},
		{ReportID: "", LockID: uuid.Nil, Type: Tamper, OccurredAt: at.In(time.FixedZone("x", 5400)), RecordedAt: at, BatteryPercent: &zero},
		{ReportID: "é <&> \u2028 日本", LockID: uuid.New(), Type: "x", BatteryPercent: &neg},
		{ReportID: "quote \" backslash \\ tab \t \x01", LockID: uuid.New(), Type: AccessDenied, OccurredAt: at, RecordedAt: at, KeyID: uuid.New()},
		{ReportID: "bad \xff utf-8", Type: AccessDenied},
	} {
		raw, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	return append(out,
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00+01:00"}`),
		[]byte(`{"report_id":"a","lock_id":"{00000000-0000-0000-0000-000000000000}","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"report_id":"a","lock_id":"not a uuid","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"yesterday","recorded_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","battery_percent":1e2}`),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","battery_percent":99999999999999999999}`),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","battery_percent":007}`),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","battery_percent":-0}`),
		[]byte(`{"report_id":"a","report_id":"b","Type":"T","battery_percent":null}`),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z"} `),
		[]byte(`{"report_id":"a","lock_id":"00000000-0000-0000-0000-000000000000","type":"t","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z"}x`),
		[]byte(`{"report_id":"a"`),
		[]byte(`null`),
		[]byte(``),
	)
}

// TestRecordedDecodePayload decodes stored reports, and payloads in other forms
// or wrong, as json.Unmarshal does; the registry decodes through it.
func TestRecordedDecodePayload(t *testing.T) {
	t.Parallel()
	for _, raw := range recordedSamples() {
		estest.RequireDecodesAsJSON[Recorded](t, raw)
	}
	r := es.NewRegistry()
	RegisterEvents(r)
	raw := recordedSamples()[1]
	e, err := r.Decode(RecordedType, raw)
	require.NoError(t, err)
	var want Recorded
	require.NoError(t, json.Unmarshal(raw, &want))
	require.Equal(t, want, e)
}

func FuzzRecordedDecodePayload(f *testing.F) {
	for _, raw := range recordedSamples() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { estest.RequireDecodesAsJSON[Recorded](t, raw) })
}

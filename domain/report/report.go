// Package report is what a lock's device tells about the door (SPEC D2): accesses
// granted or denied, battery levels and tampering, possibly late and in batches
// after being offline. Each lock has its own report stream, apart from the lock's
// management stream, so a busy door does not weigh on key management.
package report

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Category is the stream category of device reports: "lockreport-<lock id>".
const Category = "lockreport"

// Stream returns the report stream of a lock.
func Stream(lockID uuid.UUID) string { return es.StreamName(Category, lockID) }

// Report types a device sends.
const (
	AccessGranted = "access_granted"
	AccessDenied  = "access_denied"
	Battery       = "battery"
	Tamper        = "tamper"
)

// RecordedType is the one event of this package. Stored forever: never rename.
const RecordedType = "report.recorded"

// Recorded keeps one device report with both times: when it happened at the door
// and when the platform recorded it (D2).
type Recorded struct {
	ReportID       string    `json:"report_id"`
	LockID         uuid.UUID `json:"lock_id"`
	Type           string    `json:"type"`
	OccurredAt     time.Time `json:"occurred_at"`
	RecordedAt     time.Time `json:"recorded_at"`
	KeyID          uuid.UUID `json:"key_id,omitzero"`
	BatteryPercent *int      `json:"battery_percent,omitempty"`
}

// EventType implements es.Event.
func (Recorded) EventType() string { return RecordedType }

// RegisterEvents adds this package's events to r.
func RegisterEvents(r *es.Registry) { es.Register[Recorded](r, RecordedType) }

// Report is one report as a device sends it.
type Report struct {
	ID             string
	Type           string
	OccurredAt     time.Time
	KeyID          uuid.UUID
	BatteryPercent *int
}

// Limits of a batch of reports.
const (
	MaxBatch    = 1000
	MaxReportID = 64
	// MaxClockSkew bounds how far in the future a device's clock may put a report.
	MaxClockSkew = time.Hour
)

// Log is a lock's report log. It remembers every report id, so a repeated report
// is recorded once.
type Log struct {
	es.Root
	lockID uuid.UUID
	seen   map[string]struct{}
}

// New returns the empty log of a lock.
func New(lockID uuid.UUID) *Log { return &Log{lockID: lockID, seen: make(map[string]struct{})} }

// Rehydrate builds a log from its stored history. It is for repositories and tests.
func Rehydrate(lockID uuid.UUID, history []es.Event) *Log {
	l := New(lockID)
	l.Replay(history...)
	return l
}

// Replay applies stored events and counts them in the version.
func (l *Log) Replay(events ...es.Event) {
	for _, e := range events {
		l.apply(e)
	}
	l.Replayed(len(events))
}

func (l *Log) apply(e es.Event) {
	if r, ok := e.(Recorded); ok {
		l.seen[r.ReportID] = struct{}{}
	}
}

// Seen reports whether a report id was recorded.
func (l *Log) Seen(id string) bool {
	_, ok := l.seen[id]
	return ok
}

// Record validates the whole batch first, so a bad report refuses the batch and
// nothing of it is recorded (E1); then it records each report not seen before (D2).
func (l *Log) Record(reports []Report, now time.Time) error {
	if len(reports) == 0 || len(reports) > MaxBatch {
		return domain.Errorf(domain.EInvalid, "send 1 to %d reports", MaxBatch)
	}
	now = now.UTC()
	for i, r := range reports {
		if err := validate(r, now); err != nil {
			return domain.Errorf(domain.EInvalid, "report %d: %s", i, domain.ErrorMessage(err))
		}
	}
	for _, r := range reports {
		if l.Seen(r.ID) {
			continue
		}
		e := Recorded{ReportID: r.ID, LockID: l.lockID, Type: r.Type, OccurredAt: r.OccurredAt.UTC(), RecordedAt: now,
			KeyID: r.KeyID, BatteryPercent: r.BatteryPercent}
		l.apply(e)
		l.Root.Record(e)
	}
	return nil
}

func validate(r Report, now time.Time) error {
	if r.ID == "" || len(r.ID) > MaxReportID || strings.ContainsFunc(r.ID, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		return domain.Errorf(domain.EInvalid, "id must be 1 to %d printable ASCII characters", MaxReportID)
	}
	switch r.Type {
	case AccessGranted, AccessDenied:
		if r.BatteryPercent != nil {
			return domain.Errorf(domain.EInvalid, "battery_percent belongs to battery reports")
		}
	case Battery:
		if r.BatteryPercent == nil || *r.BatteryPercent < 0 || *r.BatteryPercent > 100 {
			return domain.Errorf(domain.EInvalid, "a battery report needs battery_percent from 0 to 100")
		}
		if r.KeyID != uuid.Nil {
			return domain.Errorf(domain.EInvalid, "key_id belongs to access reports")
		}
	case Tamper:
		if r.KeyID != uuid.Nil || r.BatteryPercent != nil {
			return domain.Errorf(domain.EInvalid, "a tamper report has no key_id or battery_percent")
		}
	default:
		return domain.Errorf(domain.EInvalid, "type must be access_granted, access_denied, battery or tamper")
	}
	if r.OccurredAt.IsZero() {
		return domain.Errorf(domain.EInvalid, "occurred_at is required")
	}
	if r.OccurredAt.After(now.Add(MaxClockSkew)) {
		return domain.Errorf(domain.EInvalid, "occurred_at lies in the future")
	}
	return nil
}

package lock

import (
	"time"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Serial is the reservation of one hardware serial: which lock it belongs to, and
// whether it was retired by a replacement (L1, L17). Appending its first event
// with no stream expected is what makes serials unique on the platform.
type Serial struct {
	es.Root
	serial  string
	lockID  uuid.UUID
	retired bool
}

// NewSerial returns a blank reservation, for a repository to fill.
func NewSerial() *Serial { return &Serial{} }

// Replay applies stored events and counts them in the version.
func (s *Serial) Replay(events ...es.Event) {
	for _, e := range events {
		s.apply(e)
	}
	s.Replayed(len(events))
}

func (s *Serial) apply(e es.Event) {
	switch e := e.(type) {
	case SerialAssigned:
		s.serial, s.lockID = e.Serial, e.LockID
	case SerialRetired:
		s.retired = true
	}
}

// Assign reserves a never-seen serial for a lock.
func (s *Serial) Assign(serial string, lockID uuid.UUID, now time.Time) error {
	if s.lockID != uuid.Nil {
		return domain.Errorf(domain.EConflict, "serial %s is reserved", s.serial)
	}
	e := SerialAssigned{Serial: serial, LockID: lockID, AssignedAt: now.UTC()}
	s.apply(e)
	s.Record(e)
	return nil
}

// Retire marks the serial as replaced away: it can never be registered again. It
// records nothing when the serial is retired already.
func (s *Serial) Retire(lockID uuid.UUID, now time.Time) error {
	if s.lockID != lockID {
		return domain.Errorf(domain.EConflict, "serial %s belongs to another lock", s.serial)
	}
	if s.retired {
		return nil
	}
	e := SerialRetired{Serial: s.serial, LockID: lockID, RetiredAt: now.UTC()}
	s.apply(e)
	s.Record(e)
	return nil
}

// LockID returns the lock the serial is reserved for, uuid.Nil when free.
func (s *Serial) LockID() uuid.UUID { return s.lockID }

// Retired reports whether the serial was replaced away (L17).
func (s *Serial) Retired() bool { return s.retired }

package lock

import (
	"github.com/google/uuid"

	"sleutel/domain"
)

// ErrBulkKeyHeld refuses a second key of one bulk issue on a lock: a bulk issue
// gives each lock at most one active key (L13), so a retried bulk issue never
// doubles a key.
var ErrBulkKeyHeld = &domain.Error{Code: domain.EConflict, Message: "this lock already holds the key of this bulk issue"}

// BulkKey returns the active key that bulk issue bulkID gave the lock (L13), or
// nil when it holds none: never given, or revoked since.
func (l *Lock) BulkKey(bulkID uuid.UUID) *Key {
	if bulkID == uuid.Nil {
		return nil
	}
	for _, k := range l.keys {
		if k.BulkID == bulkID {
			return k
		}
	}
	return nil
}

// ValidateKeyTerms checks and normalizes the terms of a key of type t as IssueKey
// would (L9), so that a command issuing one key on several locks refuses bad input
// once, before any lock decides (E1).
func ValidateKeyTerms(t KeyType, terms KeyTerms) (KeyTerms, error) {
	if _, err := ParseKeyType(string(t)); err != nil {
		return KeyTerms{}, err
	}
	if err := terms.validate(t); err != nil {
		return KeyTerms{}, err
	}
	return terms, nil
}

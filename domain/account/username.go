package account

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// Username length bounds, in characters (A1).
const (
	// MinUsername is the fewest characters of a username.
	MinUsername = 3
	// MaxUsername is the most characters of a username.
	MaxUsername = 64
)

// UsernameCategory is the category of username reservation streams.
const UsernameCategory = "username"

// usernameNamespace is the uuid namespace of reservation stream ids. It is stored
// forever in stream names: never change it.
const usernameNamespace = "3f8a2c61-7d4e-4b9a-b0c5-1e6d9f2a7c83"

// ValidateUsername returns s without surrounding white space when it is a valid
// username: 3 to 64 characters, each a letter, a digit, '.', '_' or '-' (A1).
// It returns ErrUsernameInvalid (EInvalid) otherwise. Case-insensitive matching and
// confusables are decided by the uniqueness key, which is computed outside the
// domain and reserved with a Reservation.
func ValidateUsername(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < MinUsername || n > MaxUsername {
		return "", ErrUsernameInvalid
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '.' && r != '_' && r != '-' {
			return "", ErrUsernameInvalid // also catches invalid UTF-8, read as U+FFFD
		}
	}
	return s, nil
}

// UsernameStreamID returns the id of the reservation stream of a username key.
func UsernameStreamID(key string) uuid.UUID {
	return uuid.NewSHA1(uuid.MustParse(usernameNamespace), []byte(key))
}

// UsernameStream returns the reservation stream of a username key: the command
// layer appends UsernameReserved to it with NoStream before registering the
// account, so that of two sign-ups with confusable names only one succeeds (A1,
// STYLE §4).
func UsernameStream(key string) string {
	return es.StreamName(UsernameCategory, UsernameStreamID(key))
}

// Reservation is the claim of one account on one username key: free while its
// stream is empty, taken once it holds UsernameReserved.
type Reservation struct {
	es.Root
	key       string
	accountID uuid.UUID
}

// RehydrateReservation builds a Reservation from its stored history. It is for
// repositories and tests only.
func RehydrateReservation(history []es.Event) *Reservation {
	r := &Reservation{}
	r.Replay(history...)
	return r
}

// Replay applies stored events and counts them in the version.
func (r *Reservation) Replay(events ...es.Event) {
	for _, e := range events {
		r.apply(e)
	}
	r.Replayed(len(events))
}

// Reserve claims key for accountID. It records nothing and returns nil when the
// account holds it already, returns ErrUsernameTaken (EConflict) when another
// account does, and EInvalid for an empty key or a missing account id.
func (r *Reservation) Reserve(key string, accountID uuid.UUID) error {
	if key == "" || accountID == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "a username reservation needs a key and an account")
	}
	switch r.accountID {
	case accountID:
		return nil
	case uuid.Nil:
		r.record(UsernameReserved{AccountID: accountID, UsernameKey: key})
		return nil
	}
	return ErrUsernameTaken
}

// Holder returns the account that holds the username, and false while it is free.
func (r *Reservation) Holder() (uuid.UUID, bool) { return r.accountID, r.accountID != uuid.Nil }

// Key returns the reserved username key; "" while free.
func (r *Reservation) Key() string { return r.key }

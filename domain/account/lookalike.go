package account

import (
	"github.com/google/uuid"

	"sleutel/domain"
	"sleutel/domain/es"
)

// LookalikeCategory is the category of look-alike reservation streams: beside the
// reservation of its username key (UsernameStream, which logins look up), an
// account reserves each confusable key of its username (UTS #39 skeletons,
// computed outside the domain), so that of two confusable usernames only the first
// is registered (A1). A login never reads these streams: "rnark" does not log in
// as "mark".
const LookalikeCategory = "lookalike"

// lookalikeNamespace is the uuid namespace of look-alike stream ids. It is stored
// forever in stream names: never change it.
const lookalikeNamespace = "9c1e5b7a-4f2d-4e8b-a6c3-7d0f1b2e9a54"

// LookalikeStream returns the reservation stream of a confusable key. Its events
// are those of a Reservation.
func LookalikeStream(key string) string {
	return es.StreamName(LookalikeCategory, uuid.NewSHA1(uuid.MustParse(lookalikeNamespace), []byte(key)))
}

// UsernameReleasedType is the stored type of UsernameReleased.
const UsernameReleasedType = "username.released"

// UsernameReleased records that an account gave a reserved key back: a sign-up
// that reserved some keys of its username and then found another taken returns
// the ones it holds, and a reservation left by a sign-up that never completed is
// taken over (A1).
type UsernameReleased struct {
	AccountID   uuid.UUID `json:"account_id"`
	UsernameKey string    `json:"username_key"`
}

// EventType returns UsernameReleasedType.
func (UsernameReleased) EventType() string { return UsernameReleasedType }

// Release gives the key back when accountID holds it, and records nothing
// otherwise. It returns EInvalid without an account.
func (r *Reservation) Release(accountID uuid.UUID) error {
	if accountID == uuid.Nil {
		return domain.Errorf(domain.EInvalid, "a release needs the account that holds the key")
	}
	if r.accountID != accountID {
		return nil
	}
	r.record(UsernameReleased{AccountID: accountID, UsernameKey: r.key})
	return nil
}

func (r *Reservation) record(e es.Event) {
	r.apply(e)
	r.Record(e)
}

func (r *Reservation) apply(e es.Event) {
	switch e := e.(type) {
	case UsernameReserved:
		r.key, r.accountID = e.UsernameKey, e.AccountID
	case UsernameReleased:
		r.key, r.accountID = "", uuid.Nil
	}
}

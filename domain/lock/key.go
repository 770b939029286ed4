package lock

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"sleutel/domain"
)

// KeyType is a key's credential type (L9).
type KeyType string

// Credential types.
const (
	KeyPhone  KeyType = "phone"  // bound to an account, which sees the key
	KeyRemote KeyType = "remote" // a fob, by its serial
	KeyCode   KeyType = "code"   // a PIN of 4 to 10 digits
	KeyTag    KeyType = "tag"    // an RFID tag, by its UID
)

// ParseKeyType checks s names a credential type.
func ParseKeyType(s string) (KeyType, error) {
	switch t := KeyType(s); t {
	case KeyPhone, KeyRemote, KeyCode, KeyTag:
		return t, nil
	}
	return "", domain.Errorf(domain.EInvalid, "type must be phone, remote, code or tag, not %q", s)
}

// Limits of the lock's key rules.
const (
	MaxActiveKeys       = 2500 // L8: all credential types together
	InitialKeyAllowance = 25   // L8
	MaxHolderName       = 100
	MaxUsesLimit        = 1_000_000
	MinPINDigits        = 4
	MaxPINDigits        = 10
)

// ValidatePIN checks a PIN: 4 to 10 digits (L9).
func ValidatePIN(pin string) error {
	if len(pin) < MinPINDigits || len(pin) > MaxPINDigits {
		return domain.Errorf(domain.EInvalid, "a PIN has %d to %d digits", MinPINDigits, MaxPINDigits)
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return domain.Errorf(domain.EInvalid, "a PIN has digits only")
		}
	}
	return nil
}

// NormalizeCredential validates and normalizes a remote serial or tag UID: trimmed,
// upper case, colons, dashes and spaces removed, 4 to 64 letters and digits.
func NormalizeCredential(t KeyType, s string) (string, error) {
	if t == KeyCode {
		s = strings.TrimSpace(s)
		return s, ValidatePIN(s)
	}
	var b strings.Builder
	for _, c := range strings.ToUpper(strings.TrimSpace(s)) {
		switch {
		case c == ':' || c == '-' || c == ' ':
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			return "", domain.Errorf(domain.EInvalid, "a %s credential holds letters and digits only", t)
		}
	}
	if b.Len() < 4 || b.Len() > 64 {
		return "", domain.Errorf(domain.EInvalid, "a %s credential has 4 to 64 letters and digits", t)
	}
	return b.String(), nil
}

// CredentialHint is what the owner may see of a remote or tag credential: its last
// four characters. PINs and phone credentials get none.
func CredentialHint(t KeyType, normalized string) string {
	if t != KeyRemote && t != KeyTag || len(normalized) < 4 {
		return ""
	}
	return "…" + normalized[len(normalized)-4:]
}

// KeyTerms are the editable terms of a key (L9): its holder name, validity window,
// weekly schedule and, for code keys, the maximum number of uses.
type KeyTerms struct {
	HolderName string
	ValidFrom  *time.Time
	ValidUntil *time.Time
	Schedule   Schedule
	MaxUses    int // 0: no limit
}

// validate checks the terms for a key of type t.
func (k *KeyTerms) validate(t KeyType) error {
	k.HolderName = strings.TrimSpace(k.HolderName)
	if k.HolderName == "" || utf8.RuneCountInString(k.HolderName) > MaxHolderName {
		return domain.Errorf(domain.EInvalid, "holder_name must be 1 to %d characters", MaxHolderName)
	}
	for _, r := range k.HolderName {
		if r < 0x20 || r == 0x7f {
			return domain.Errorf(domain.EInvalid, "holder_name holds a control character")
		}
	}
	if k.ValidFrom != nil {
		v := k.ValidFrom.UTC()
		k.ValidFrom = &v
	}
	if k.ValidUntil != nil {
		v := k.ValidUntil.UTC()
		k.ValidUntil = &v
	}
	if k.ValidFrom != nil && k.ValidUntil != nil && !k.ValidFrom.Before(*k.ValidUntil) {
		return domain.Errorf(domain.EInvalid, "valid_from must be before valid_until")
	}
	if err := k.Schedule.Validate(); err != nil {
		return err
	}
	if k.MaxUses != 0 {
		if t != KeyCode {
			return domain.Errorf(domain.EInvalid, "max_uses applies to code keys only")
		}
		if k.MaxUses < 1 || k.MaxUses > MaxUsesLimit {
			return domain.Errorf(domain.EInvalid, "max_uses must be 1 to %d", MaxUsesLimit)
		}
	}
	return nil
}

// Key is a key of the lock: an entity inside the lock's stream, since the lock
// guards the 2,500 cap, the allowance and the management level.
type Key struct {
	ID               uuid.UUID
	Type             KeyType
	AccountID        uuid.UUID // phone keys
	CredentialDigest string
	CredentialHint   string
	KeyTerms
	Uses         int
	IssuedBy     uuid.UUID
	Organization uuid.UUID // the organization that issued it (L12); Nil for the owner
	IssuedAt     time.Time
	BulkID       uuid.UUID // the building's bulk issue that gave it (L13); Nil for a single issue
	Revoked      bool
	RevokedAt    time.Time
	Reason       string
}

// Access reasons a device gets with its answer (D1).
const (
	AccessAllowed       = "allowed"
	AccessUnknown       = "unknown_credential"
	AccessFrozen        = "lock_frozen"
	AccessNotRegistered = "lock_not_registered"
	AccessRevoked       = "key_revoked"
	AccessNotYetValid   = "not_yet_valid"
	AccessExpired       = "expired"
	AccessOutside       = "outside_schedule"
	AccessUsedUp        = "uses_exhausted"
)

// Opens decides whether the key opens the door at t, the lock's time zone being
// loc: its revocation, validity window, weekly schedule and use limit (L9). The
// lock's own state (freeze, registration) is the lock's to add.
func (k *Key) Opens(t time.Time, loc *time.Location) (bool, string) {
	switch {
	case k.Revoked:
		return false, AccessRevoked
	case k.ValidFrom != nil && t.Before(*k.ValidFrom):
		return false, AccessNotYetValid
	case k.ValidUntil != nil && !t.Before(*k.ValidUntil):
		return false, AccessExpired
	case !k.Schedule.Allows(t, loc):
		return false, AccessOutside
	case k.MaxUses > 0 && k.Uses >= k.MaxUses:
		return false, AccessUsedUp
	}
	return true, AccessAllowed
}

// String names the key for messages.
func (k *Key) String() string { return fmt.Sprintf("%s key %s", k.Type, k.ID) }

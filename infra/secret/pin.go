package secret

import (
	"fmt"
	"io"

	"sleutel/domain/lock"
)

// GeneratePIN returns a PIN of digits uniform decimal digits read from r, which
// may be crypto/rand.Reader or a deterministic stream (see Keyring.Derive). Each
// byte of 250 or more is skipped (rejection sampling: 250 = 25 × 10), so every
// digit is equally likely. It reads no more bytes than it needs, and returns an
// error when digits is outside 4..10 (L9) or r runs dry.
func GeneratePIN(r io.Reader, digits int) (string, error) {
	if digits < lock.MinPINDigits || digits > lock.MaxPINDigits {
		return "", fmt.Errorf("generate pin: %d digits not in %d..%d", digits, lock.MinPINDigits, lock.MaxPINDigits)
	}
	pin := make([]byte, 0, digits)
	buf := make([]byte, digits)
	for len(pin) < digits {
		b := buf[:digits-len(pin)]
		if _, err := io.ReadFull(r, b); err != nil {
			return "", fmt.Errorf("generate pin: %w", err)
		}
		for _, c := range b {
			if c < 250 {
				pin = append(pin, '0'+c%10)
			}
		}
	}
	return string(pin), nil
}

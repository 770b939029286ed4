package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password bounds (A2). The byte bound keeps slow hashing of huge inputs cheap to
// refuse.
const (
	// MinPassword is the fewest characters of a password.
	MinPassword = 10
	// MaxPassword is the most characters of a password.
	MaxPassword = 256
	// MaxPasswordBytes is the most bytes of a password.
	MaxPasswordBytes = 1024
)

// MaxEmail is the longest email address, in bytes, that mail can be sent to.
const MaxEmail = 254

// ValidateEmail returns the address in s, without surrounding white space and with
// its domain part in lowercase, when s is one plain address (no display name, no
// angle brackets, no comments) whose domain has a dot. It returns ErrEmailInvalid
// (EInvalid) otherwise. The local part keeps its case: mail servers may honour it.
func ValidateEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxEmail {
		return "", ErrEmailInvalid
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrEmailInvalid
	}
	at := strings.LastIndexByte(s, '@')
	host := s[at+1:]
	if !strings.Contains(host, ".") || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") {
		return "", ErrEmailInvalid
	}
	return s[:at+1] + strings.ToLower(host), nil
}

// ValidatePassword checks a plain password before it is hashed (A2): 10 to 256
// characters, at most 1024 bytes, not only white space. It returns
// ErrPasswordLength or ErrPasswordBlank (EInvalid). Passwords are case-sensitive
// and are never trimmed.
func ValidatePassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPassword || n > MaxPassword || len(p) > MaxPasswordBytes {
		return ErrPasswordLength
	}
	if strings.TrimFunc(p, unicode.IsSpace) == "" {
		return ErrPasswordBlank
	}
	return nil
}

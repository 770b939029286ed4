package code

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Alphabet holds the characters of a code: digits and capitals without the
// look-alikes O/0 and I/1/L (SPEC P1). Its length, 31, is prime, which the check
// character relies on.
const Alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// Length is the number of characters of a normalized code: RandomLength random
// characters and one check character.
const Length = RandomLength + 1

// RandomLength is the number of random characters in a code: 15 characters of 31
// give about 74 bits, far beyond guessing.
const RandomLength = 15

// groupSize is the number of characters between dashes in the display form.
const groupSize = 4

// streamNamespace is the uuid namespace of code stream ids. It is stored forever in
// stream names: never change it.
const streamNamespace = "6d0f7c55-2b8e-4d6a-9a61-8f2e1c3b7a40"

// StreamCategory is the category of code streams.
const StreamCategory = "code"

// Generate returns a new normalized code with random characters read from rand,
// which must be a cryptographic source (crypto/rand.Reader). Bytes that would bias
// the choice are rejected rather than reduced modulo 31. It fails only when rand
// does.
func Generate(rand io.Reader) (string, error) {
	const n = len(Alphabet)
	const limit = 256 / n * n // 248: bytes at or above it would favour the first characters
	out := make([]byte, 0, Length)
	buf := make([]byte, 32)
	for len(out) < RandomLength {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return "", fmt.Errorf("generate code: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < RandomLength {
				out = append(out, Alphabet[int(b)%n])
			}
		}
	}
	return string(append(out, checkChar(string(out)))), nil
}

// Normalize turns what a user typed into the normalized code: capitals, no spaces
// or dashes, 16 characters with a valid check character. Case does not matter and
// white space and dashes are ignored (SPEC P1). It returns ErrWrongLength,
// ErrBadCharacter or ErrBadCheck, all with code domain.ECodeInvalid.
func Normalize(input string) (string, error) {
	out := make([]byte, 0, Length)
	bad := false
	for _, r := range input {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r):
			continue
		case len(out) == Length:
			return "", ErrWrongLength
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > unicode.MaxASCII || strings.IndexByte(Alphabet, byte(r)) < 0 {
			bad = true // keep counting: a wrong length is the more useful message
			out = append(out, '?')
			continue
		}
		out = append(out, byte(r))
	}
	switch {
	case len(out) != Length:
		return "", ErrWrongLength
	case bad:
		return "", ErrBadCharacter
	case weightedSum(string(out))%len(Alphabet) != 0:
		return "", ErrBadCheck
	}
	return string(out), nil
}

// Format returns the display form of a normalized code: groups of four characters
// joined by dashes, such as 7KQ2-M9XR-4TCH-WB3F.
func Format(normalized string) string {
	var b strings.Builder
	for i := 0; i < len(normalized); i += groupSize {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(normalized[i:min(i+groupSize, len(normalized))])
	}
	return b.String()
}

// StreamID returns the id of the stream of a normalized code: a name-based uuid, so
// that the stream is found from the code alone and the code itself is never stored
// (STYLE §2).
func StreamID(normalized string) uuid.UUID {
	return uuid.NewSHA1(uuid.MustParse(streamNamespace), []byte(normalized))
}

// StreamName returns the stream of a normalized code.
func StreamName(normalized string) string {
	return es.StreamName(StreamCategory, StreamID(normalized))
}

// weightedSum weighs the characters of s from the right, 1 for the last: Σ wᵢ·vᵢ.
// A code is valid when the sum is 0 modulo 31. Because 31 is prime and the weights
// 1..16 are distinct and non-zero modulo 31, any single changed character and any
// swap of two different characters changes the sum modulo 31, so every such typo
// is caught. (Luhn mod N cannot promise that for an odd N: its doubling maps 1 and
// 16 both to 2.)
func weightedSum(s string) int {
	sum := 0
	for i := 0; i < len(s); i++ {
		sum += (len(s) - i) * strings.IndexByte(Alphabet, s[i])
	}
	return sum
}

// checkChar returns the character that makes the weighted sum of random+check zero
// modulo 31; the check character has weight 1.
func checkChar(random string) byte {
	n := len(Alphabet)
	sum := 0
	for i := 0; i < len(random); i++ {
		sum += (len(random) + 1 - i) * strings.IndexByte(Alphabet, random[i])
	}
	return Alphabet[(n-sum%n)%n]
}

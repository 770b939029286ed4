package code_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/code"
	"sleutel/domain/es"
)

// example is a valid normalized code; exampleID is its stream id, pinned because
// stream names are stored forever.
const (
	example   = "7KQ2M9XR4TCHWB36"
	exampleID = "5d609fef-1804-536f-9463-e5117d66dc2f"
)

// seeded returns a deterministic stand-in for crypto/rand.Reader.
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

func TestGenerate_P1(t *testing.T) {
	t.Parallel()
	r := seeded(1)
	seen := map[string]bool{}
	for range 1000 {
		c, err := code.Generate(r)
		require.NoError(t, err)
		require.Len(t, c, code.Length)
		n, err := code.Normalize(c)
		require.NoError(t, err, "Normalize(%q)", c)
		require.Equal(t, c, n, "a generated code is normalized")
		require.False(t, seen[c], "Generate repeated %q", c)
		seen[c] = true
	}
}

func TestGenerate_P1_rejectsBytesThatWouldBias(t *testing.T) {
	t.Parallel()
	// 248..255 would favour the first 8 characters if reduced modulo 31: they are skipped.
	in := bytes.Repeat([]byte{248, 255}, 16)
	for b := range 32 {
		in = append(in, byte(b))
	}
	c, err := code.Generate(bytes.NewReader(in))
	require.NoError(t, err)
	require.Equal(t, code.Alphabet[:code.RandomLength], c[:code.RandomLength])

	c, err = code.Generate(bytes.NewReader(bytes.Repeat([]byte{247}, 32)))
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("Z", code.RandomLength), c[:code.RandomLength], "247 is the last unbiased byte: 247 mod 31 = 30")
}

func TestGenerate_failingReader(t *testing.T) {
	t.Parallel()
	boom := errors.New("entropy source broke")
	_, err := code.Generate(iotest.ErrReader(boom))
	require.ErrorIs(t, err, boom)
	require.Equal(t, domain.EInternal, domain.ErrorCode(err))

	_, err = code.Generate(bytes.NewReader(bytes.Repeat([]byte{255}, 100)))
	require.Error(t, err, "a source that runs dry is an error, not a short code")
}

func TestNormalize_P1(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		want    string
		wantErr error
	}{
		{"P1 display form", "7KQ2-M9XR-4TCH-WB36", example, nil},
		{"P1 normalized form", example, example, nil},
		{"P1 case-insensitive", "7kq2-m9xr-4tch-wb36", example, nil},
		{"P1 spaces ignored", "  7KQ2 M9XR\t4TCH  WB36\n", example, nil},
		{"P1 dashes ignored, Unicode dashes too", "7KQ2–M9XR—4TCH--WB-36", example, nil},
		{"P1 mixed groups", "7k q2m9-xr4tc hwb36", example, nil},
		{"P1 empty input", "", "", code.ErrWrongLength},
		{"P1 only separators", " - - ", "", code.ErrWrongLength},
		{"P1 one character short", "7KQ2-M9XR-4TCH-WB3", "", code.ErrWrongLength},
		{"P1 one character too many", "7KQ2-M9XR-4TCH-WB366", "", code.ErrWrongLength},
		{"P1 very long input", strings.Repeat("7KQ2", 10000), "", code.ErrWrongLength},
		{"P1 look-alike O is not in the alphabet", "7KQ2-M9XR-4TCH-WBO6", "", code.ErrBadCharacter},
		{"P1 look-alike 0 is not in the alphabet", "7KQ2-M9XR-4TCH-WB06", "", code.ErrBadCharacter},
		{"P1 look-alike 1 is not in the alphabet", "7KQ2-M9XR-4TCH-WB16", "", code.ErrBadCharacter},
		{"P1 look-alike I is not in the alphabet", "7KQ2-M9XR-4TCH-WBI6", "", code.ErrBadCharacter},
		{"P1 look-alike l is not in the alphabet", "7KQ2-M9XR-4TCH-WBl6", "", code.ErrBadCharacter},
		{"P1 punctuation", "7KQ2.M9XR.4TCH.WB36", "", code.ErrWrongLength},
		{"P1 punctuation at the right length", "7KQ2M9XR4TCHWB3.", "", code.ErrBadCharacter},
		{"P1 non-ASCII letter", "7KQ2M9XR4TCHWB3É", "", code.ErrBadCharacter},
		{"P1 invalid UTF-8", "7KQ2M9XR4TCHWB3\xff", "", code.ErrBadCharacter},
		{"P1 a typo fails the check character", "7KQ2-M9XR-4TCH-WB37", "", code.ErrBadCheck},
		{"P1 a swap fails the check character", "7KQ2-M9XR-4TCH-W3B6", "", code.ErrBadCheck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := code.Normalize(tt.input)
			require.ErrorIs(t, err, tt.wantErr)
			require.Equal(t, tt.want, got)
			if tt.wantErr != nil {
				require.Equal(t, domain.ECodeInvalid, domain.ErrorCode(err))
				require.Contains(t, domain.ErrorMessage(err), "check it for typos")
			}
		})
	}
}

// TestNormalize_P1_checkCatchesEverySingleTypoAndSwap tries, on many codes, every
// substitution of one character and every swap of two different characters
// (adjacent or not): the check character refuses all of them.
func TestNormalize_P1_checkCatchesEverySingleTypoAndSwap(t *testing.T) {
	t.Parallel()
	r := seeded(2)
	for range 200 {
		c, err := code.Generate(r)
		require.NoError(t, err)
		for i := range code.Length {
			for _, x := range []byte(code.Alphabet) {
				if x == c[i] {
					continue
				}
				typo := c[:i] + string(x) + c[i+1:]
				_, err := code.Normalize(typo)
				require.ErrorIs(t, err, code.ErrBadCheck, "Normalize(%q), a typo of %q", typo, c)
			}
			for j := i + 1; j < code.Length; j++ {
				if c[i] == c[j] {
					continue
				}
				b := []byte(c)
				b[i], b[j] = b[j], b[i]
				_, err := code.Normalize(string(b))
				require.ErrorIs(t, err, code.ErrBadCheck, "Normalize(%q), %q with %d and %d swapped", b, c, i, j)
			}
		}
	}
}

func TestFormat_P1(t *testing.T) {
	t.Parallel()
	require.Equal(t, "7KQ2-M9XR-4TCH-WB36", code.Format(example))
	require.Equal(t, "", code.Format(""))
}

func TestStreamID_P1(t *testing.T) {
	t.Parallel()
	id := code.StreamID(example)
	require.Equal(t, uuid.MustParse(exampleID), id, "the stream of a code never changes")
	require.Equal(t, es.StreamName("code", id), code.StreamName(example))
	require.NotContains(t, code.StreamName(example), example, "the code is not in its stream name")
	other, err := code.Generate(seeded(3))
	require.NoError(t, err)
	require.NotEqual(t, id, code.StreamID(other))
}

// FuzzNormalize checks that Normalize never panics, that it refuses only with
// ECodeInvalid, and that whatever it accepts is a fixed point that round-trips
// through Format.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{example, "7KQ2-M9XR-4TCH-WB36", "7kq2 m9xr 4tch wb36", "", "----", "7KQ2-M9XR-4TCH-WB37", "OIL0", "ÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉÉ", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := code.Normalize(s)
		if err != nil {
			require.Equal(t, domain.ECodeInvalid, domain.ErrorCode(err), "Normalize(%q) = %v", s, err)
			require.Empty(t, n)
			return
		}
		require.Len(t, n, code.Length)
		again, err := code.Normalize(n)
		require.NoError(t, err)
		require.Equal(t, n, again)
		shown, err := code.Normalize(code.Format(n))
		require.NoError(t, err, "Normalize(Format(%q))", n)
		require.Equal(t, n, shown)
	})
}

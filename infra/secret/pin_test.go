package secret_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/secret"
)

func TestGeneratePIN_digitsBounds(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 0, 3, 11} {
		_, err := secret.GeneratePIN(rand.Reader, n)
		require.Error(t, err, "GeneratePIN(%d)", n)
	}
	for n := 4; n <= 10; n++ {
		pin, err := secret.GeneratePIN(rand.Reader, n)
		require.NoError(t, err)
		require.Regexp(t, `^[0-9]+$`, pin)
		require.Len(t, pin, n)
	}
}

func TestGeneratePIN_rejectsBiasedBytes(t *testing.T) {
	t.Parallel()
	r := bytes.NewReader([]byte{250, 9, 255, 10, 249, 0, 251, 123, 99})
	pin, err := secret.GeneratePIN(r, 4)
	require.NoError(t, err)
	require.Equal(t, "9090", pin) // 250, 255 skipped; 9, 10→0, 249→9, 0
	require.Equal(t, 3, r.Len(), "reads no more than it needs")
	_, err = secret.GeneratePIN(r, 4) // 251 skipped, then 3 and 9, then dry
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// TestGeneratePIN_uniform: fed every byte value once, the generator keeps exactly
// 25 of each digit and drops the 6 bytes that would favour 0 to 5.
func TestGeneratePIN_uniform(t *testing.T) {
	t.Parallel()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	r := bytes.NewReader(all)
	counts := map[rune]int{}
	for range 25 {
		pin, err := secret.GeneratePIN(r, 10)
		require.NoError(t, err)
		for _, c := range pin {
			counts[c]++
		}
	}
	for d := '0'; d <= '9'; d++ {
		require.Equal(t, 25, counts[d], "digit %c", d)
	}
	_, err := secret.GeneratePIN(r, 4) // only 250..255 left: all skipped
	require.Error(t, err)
}

// TestGeneratePIN_deterministic: the same derived bytes give the same PIN, which is
// how an idempotent retry shows the PIN of the first attempt.
func TestGeneratePIN_deterministic(t *testing.T) {
	t.Parallel()
	k := mustKeyring(t, t.TempDir())
	a, err := secret.GeneratePIN(bytes.NewReader(k.Derive("pin", "idem-1", "0")), 6)
	require.NoError(t, err)
	b, err := secret.GeneratePIN(bytes.NewReader(k.Derive("pin", "idem-1", "0")), 6)
	require.NoError(t, err)
	require.Equal(t, a, b)
}

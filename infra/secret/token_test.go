package secret_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/secret"
)

func TestNewToken(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		tok, digest := secret.NewToken()
		require.Len(t, tok, 43)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
		require.NoError(t, err)
		require.Len(t, raw, secret.TokenBytes)
		sum := sha256.Sum256([]byte(tok))
		require.Equal(t, hex.EncodeToString(sum[:]), digest)
		require.Equal(t, digest, secret.TokenDigest(tok))
		require.False(t, seen[tok], "token repeated")
		seen[tok] = true
	}
	require.Equal(t, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", secret.TokenDigest(""))
}

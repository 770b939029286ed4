package secret

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"sleutel/commands"
)

// TokenBytes is the entropy of a token: 256 bits.
const TokenBytes = 32

var _ commands.TokenDigest = TokenDigest

// NewToken returns a fresh random token, 32 bytes as base64url without padding
// (43 characters), and its digest, the only form in which it is stored. Session
// and device tokens (D1) are made with it.
func NewToken() (token, digest string) {
	token = base64.RawURLEncoding.EncodeToString(randomBytes(TokenBytes))
	return token, TokenDigest(token)
}

// TokenDigest returns the hex SHA-256 of token. A token has full entropy, so an
// unkeyed hash is enough: no one can search 2^256 candidates against a leaked digest.
// Never use it for low-entropy secrets such as PINs; see Keyring.CredentialDigest.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

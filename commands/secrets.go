package commands

import (
	"encoding/base64"
	"io"
	"time"

	"github.com/google/uuid"
)

// Secrets is what commands need of the platform's key material. infra/secret
// implements it; the domain only ever sees digests.
type Secrets interface {
	// CredentialDigest is the keyed digest under which a lock stores a normalized
	// PIN, remote serial or tag UID (L9): without the key, a digest from the event
	// log cannot be brute-forced back to a 4-digit PIN.
	CredentialDigest(lockID uuid.UUID, keyType, normalized string) string
	// Derive returns deterministic bytes for purpose and parts, so an idempotent
	// retry regenerates the same PIN or token.
	Derive(purpose string, parts ...string) []byte
	// PhoneCredential is what a phone app presents at the door for a phone key.
	PhoneCredential(keyID uuid.UUID) string
}

// TokenDigest is the digest under which a full-entropy token (session, device) is
// stored: tokens are 256 random bits, so a plain hash is enough.
type TokenDigest func(token string) string

// Locations resolves IANA time-zone names.
type Locations func(name string) (*time.Location, error)

// newToken returns a 256-bit token: derived from meta's idempotency key for
// purpose when there is one, random otherwise.
func newToken(rand io.Reader, secrets Secrets, meta Meta, purpose string) (string, error) {
	b := make([]byte, 32)
	if s := meta.scope(purpose); s != "" {
		copy(b, secrets.Derive("token/"+purpose, s))
	} else if _, err := io.ReadFull(rand, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Package secret holds the platform's secrets and what is computed from them:
// password hashes (A2), random tokens, and a keyring of HMAC keys for credential
// digests (L9), derived values for idempotent retries, and phone credentials (D1).
package secret

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"sleutel/commands"
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB uint32 // m: memory in KiB
	Time      uint32 // t: passes over the memory
	Threads   uint8  // p: lanes, computed in parallel
}

// DefaultParams returns the parameters new password hashes use: argon2id with
// m = 64 MiB, t = 2, p = 2, a 16-byte salt and a 32-byte hash. On the 2-core
// reference machine (AMD EPYC, GOMAXPROCS 2) BenchmarkHash measures about 45 ms
// per hash (42 to 55 ms over runs on a shared host; BenchmarkVerifyDummy the
// same): slow enough to make every guess at a stolen hash expensive, quick enough
// for an interactive login (A2). It is RFC 9106's second recommendation
// (m = 64 MiB) with t = 2 instead of 3 to fit that latency on two cores, and
// stronger than OWASP's m = 19 MiB, t = 2. A Hasher runs at most GOMAXPROCS
// hashes at once, so a burst of logins costs at most GOMAXPROCS × 64 MiB.
func DefaultParams() Params { return Params{MemoryKiB: 64 * 1024, Time: 2, Threads: 2} }

// Bounds on parameters, salts and hashes, new or stored: a forged or corrupted
// stored hash can make Verify spend at most 128 MiB and 16 passes.
const (
	MaxMemoryKiB     = 128 * 1024
	MaxTime          = 16
	MaxThreads       = 16
	MinSaltLen       = 8
	MaxSaltLen       = 64
	MinKeyLen        = 16
	MaxKeyLen        = 64
	MaxPasswordBytes = 4096 // longer inputs are refused before any hashing
	maxEncodedLen    = 256
)

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMalformedHash is returned for a stored password hash that is not an argon2id
// PHC string this package accepts, or whose parameters are out of bounds.
var ErrMalformedHash = errors.New("malformed password hash")

// ErrPasswordTooLong is returned by Hash for passwords over MaxPasswordBytes.
var ErrPasswordTooLong = errors.New("password too long")

// Hasher hashes and verifies passwords with argon2id (A2). It is safe for
// concurrent use and bounds how many hashes run at once.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string
}

var _ commands.Passwords = (*Hasher)(nil)

// NewHasher returns a Hasher that hashes new passwords with p. It returns an error
// when p is out of bounds.
func NewHasher(p Params) (*Hasher, error) {
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("new hasher: %w", err)
	}
	h := &Hasher{params: p, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	// A hash no password matches (the chance is 2^-256), with the current
	// parameters: Dummy verifies against it, so it costs what a real Verify costs.
	h.dummy = phc{params: p, salt: randomBytes(saltLen), key: randomBytes(keyLen)}.String()
	return h, nil
}

func (p Params) validate() error {
	switch {
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("argon2 threads %d not in 1..%d", p.Threads, MaxThreads)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("argon2 time %d not in 1..%d", p.Time, MaxTime)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > MaxMemoryKiB:
		return fmt.Errorf("argon2 memory %d KiB not in %d..%d", p.MemoryKiB, 8*uint32(p.Threads), MaxMemoryKiB)
	}
	return nil
}

// Hash returns password's argon2id hash as a PHC string,
// $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>, with a fresh random salt. It
// returns ErrPasswordTooLong over MaxPasswordBytes, or ctx's error if ctx ends
// while it waits for a free slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("hash password: %w", ErrPasswordTooLong)
	}
	salt := randomBytes(saltLen)
	key, err := h.derive(ctx, password, h.params, salt, keyLen)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return phc{params: h.params, salt: salt, key: key}.String(), nil
}

// Verify reports whether password matches the stored hash encoded, under the
// parameters stored with it. A wrong password is (false, nil); a malformed or
// out-of-bounds hash is (false, ErrMalformedHash), before any hashing. A password
// over MaxPasswordBytes matches nothing. It returns ctx's error if ctx ends while
// it waits for a free slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	stored, err := parsePHC(encoded)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	key, err := h.derive(ctx, password, stored.params, stored.salt, uint32(len(stored.key)))
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return subtle.ConstantTimeCompare(key, stored.key) == 1, nil
}

// Dummy does the work of a failed Verify with the current parameters and returns
// only ctx's error. A login for an unknown username calls it, so that the answer
// takes as long as for a known one and timing does not reveal which accounts exist.
func (h *Hasher) Dummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// NeedsRehash reports whether encoded was made with other parameters, salt or
// hash lengths than new hashes get, or cannot be parsed: after a successful
// login, the caller stores a fresh hash of the password.
func (h *Hasher) NeedsRehash(encoded string) bool {
	stored, err := parsePHC(encoded)
	return err != nil || stored.params != h.params || len(stored.salt) != saltLen || len(stored.key) != keyLen
}

// derive runs argon2id in one of h's slots, so that a burst of logins queues for
// the CPU instead of allocating memory for each at once.
func (h *Hasher) derive(ctx context.Context, password string, p Params, salt []byte, n uint32) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, n), nil
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params Params
	salt   []byte
	key    []byte
}

var b64 = base64.RawStdEncoding.Strict() // PHC: standard alphabet, no padding

func (s phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		s.params.MemoryKiB, s.params.Time, s.params.Threads, b64.EncodeToString(s.salt), b64.EncodeToString(s.key))
}

// parsePHC accepts exactly the PHC strings this package writes: argon2id, version
// 19, parameters m, t, p in that order and within bounds, salt and hash within
// bounds. Anything else, including a non-canonical spelling of an accepted hash
// (leading zeros, a plus sign, padding), is ErrMalformedHash.
func parsePHC(s string) (phc, error) {
	if len(s) > maxEncodedLen {
		return phc{}, ErrMalformedHash
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, ErrMalformedHash
	}
	var p Params
	m, ok := strings.CutPrefix(parts[3], "m=")
	m, t, ok2 := strings.Cut(m, ",t=")
	t, th, ok3 := strings.Cut(t, ",p=")
	if !ok || !ok2 || !ok3 {
		return phc{}, ErrMalformedHash
	}
	mv, err1 := strconv.ParseUint(m, 10, 32)
	tv, err2 := strconv.ParseUint(t, 10, 32)
	pv, err3 := strconv.ParseUint(th, 10, 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return phc{}, ErrMalformedHash
	}
	p = Params{MemoryKiB: uint32(mv), Time: uint32(tv), Threads: uint8(pv)}
	if p.validate() != nil {
		return phc{}, ErrMalformedHash
	}
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < MinSaltLen || len(salt) > MaxSaltLen || len(key) < MinKeyLen || len(key) > MaxKeyLen {
		return phc{}, ErrMalformedHash
	}
	out := phc{params: p, salt: salt, key: key}
	if out.String() != s { // canonical form only: one stored spelling per hash
		return phc{}, ErrMalformedHash
	}
	return out, nil
}

// randomBytes returns n bytes from crypto/rand, which never fails (Go 1.24+: it
// crashes the program rather than return predictable bytes).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

package secret_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"sleutel/infra/secret"
)

// cheap are parameters that keep tests fast; the format and checks are the same.
var cheap = secret.Params{MemoryKiB: 64, Time: 1, Threads: 1}

func mustHasher(t testing.TB, p secret.Params) *secret.Hasher {
	t.Helper()
	h, err := secret.NewHasher(p)
	require.NoError(t, err)
	return h
}

func mustHash(t testing.TB, h *secret.Hasher, password string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), password)
	require.NoError(t, err)
	return enc
}

func TestHasher_defaultParams(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, secret.DefaultParams())
	enc := mustHash(t, h, "Correct Horse 9")
	require.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=2,p=2$"), "Hash = %s", enc)
	ok, err := h.Verify(t.Context(), "Correct Horse 9", enc)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, h.NeedsRehash(enc))
}

// TestHasher_Verify covers A2: only the exact password matches, case included,
// and a hash that was tampered with matches nothing.
func TestHasher_Verify(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, cheap)
	const pw = "Tr0ub4dor&3 horse"
	enc := mustHash(t, h, pw)
	parts := strings.Split(enc, "$")       // "", argon2id, v=19, m=..., salt, hash
	swap := func(s string, i int) string { // another base64 letter at i
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	join := func(salt, key, params string) string {
		return strings.Join([]string{"", "argon2id", "v=19", params, salt, key}, "$")
	}
	tests := []struct {
		name     string
		password string
		encoded  string
		want     bool
		wantErr  error
	}{
		{"right password", pw, enc, true, nil},
		{"wrong password", "Tr0ub4dor&3 horsE", enc, false, nil},
		{"other case", strings.ToUpper(pw), enc, false, nil},
		{"empty password", "", enc, false, nil},
		{"prefix of the password", pw[:len(pw)-1], enc, false, nil},
		{"tampered hash", pw, join(parts[4], swap(parts[5], 3), parts[3]), false, nil},
		{"tampered salt", pw, join(swap(parts[4], 3), parts[5], parts[3]), false, nil},
		{"tampered time", pw, join(parts[4], parts[5], "m=64,t=2,p=1"), false, nil},
		{"tampered memory", pw, join(parts[4], parts[5], "m=72,t=1,p=1"), false, nil},
		{"truncated hash", pw, join(parts[4], parts[5][:24], parts[3]), false, nil},
		{"argon2i", pw, strings.Replace(enc, "argon2id", "argon2i", 1), false, secret.ErrMalformedHash},
		{"garbage", pw, "not a hash", false, secret.ErrMalformedHash},
		{"empty hash", pw, "", false, secret.ErrMalformedHash},
		{"password too long", strings.Repeat("x", secret.MaxPasswordBytes+1), enc, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, err := h.Verify(t.Context(), tt.password, tt.encoded)
			require.ErrorIs(t, err, tt.wantErr)
			require.Equal(t, tt.want, ok, "Verify(%q, %q)", tt.password, tt.encoded)
		})
	}
}

// TestHasher_Verify_otherImplementation checks a hash made by argon2-cffi (the
// example of its documentation): stored hashes are portable PHC strings.
func TestHasher_Verify_otherImplementation(t *testing.T) {
	t.Parallel()
	const enc = "$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg"
	h := mustHasher(t, cheap)
	ok, err := h.Verify(t.Context(), "correct horse battery staple", enc)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = h.Verify(t.Context(), "correct horse battery stapler", enc)
	require.NoError(t, err)
	require.False(t, ok)
	require.True(t, h.NeedsRehash(enc))
}

// TestHasher_Verify_boundsRefused: stored parameters out of bounds are refused
// before any hashing, so a forged hash cannot make Verify allocate gigabytes.
func TestHasher_Verify_boundsRefused(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	const short = "c2FsdA" // 4 bytes
	tests := []struct{ name, params, salt, key string }{
		{"memory 4 GiB", "m=4194304,t=1,p=1", salt, key},
		{"memory over the bound", "m=131073,t=1,p=1", salt, key},
		{"memory over uint32", "m=4294967296,t=1,p=1", salt, key},
		{"memory under 8 KiB per lane", "m=15,t=1,p=2", salt, key},
		{"time 0", "m=64,t=0,p=1", salt, key},
		{"time over the bound", "m=64,t=17,p=1", salt, key},
		{"time huge", "m=64,t=4294967295,p=1", salt, key},
		{"threads 0", "m=64,t=1,p=0", salt, key},
		{"threads over the bound", "m=1024,t=1,p=17", salt, key},
		{"threads over uint8", "m=4096,t=1,p=256", salt, key},
		{"salt too short", "m=64,t=1,p=1", short, key},
		{"hash too short", "m=64,t=1,p=1", salt, short},
		{"hash too long", "m=64,t=1,p=1", salt, strings.Repeat("a2V5", 22)},
	}
	h := mustHasher(t, cheap)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc := "$argon2id$v=19$" + tt.params + "$" + tt.salt + "$" + tt.key
			ok, err := h.Verify(t.Context(), "password", enc)
			require.ErrorIs(t, err, secret.ErrMalformedHash, "Verify(%s)", enc)
			require.False(t, ok)
			require.True(t, h.NeedsRehash(enc))
		})
	}
	// The same strings with in-bounds parameters are accepted, so it was the bounds.
	ok, err := h.Verify(t.Context(), "password", "$argon2id$v=19$m=64,t=1,p=1$"+salt+"$"+key)
	require.NoError(t, err)
	require.False(t, ok)
}

func TestNewHasher_boundsRefused(t *testing.T) {
	t.Parallel()
	for _, p := range []secret.Params{
		{},
		{MemoryKiB: secret.MaxMemoryKiB + 1, Time: 1, Threads: 1},
		{MemoryKiB: 64, Time: 0, Threads: 1},
		{MemoryKiB: 64, Time: secret.MaxTime + 1, Threads: 1},
		{MemoryKiB: 64, Time: 1, Threads: 0},
		{MemoryKiB: 1024, Time: 1, Threads: secret.MaxThreads + 1},
		{MemoryKiB: 8, Time: 1, Threads: 2},
	} {
		_, err := secret.NewHasher(p)
		require.Error(t, err, "NewHasher(%+v)", p)
	}
}

func TestHasher_Hash_saltedAndBounded(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, cheap)
	a, b := mustHash(t, h, "same password"), mustHash(t, h, "same password")
	require.NotEqual(t, a, b, "two hashes of one password share a salt")
	require.Len(t, strings.Split(a, "$")[4], 22, "salt is 16 bytes")
	require.Len(t, strings.Split(a, "$")[5], 43, "hash is 32 bytes")

	_, err := h.Hash(t.Context(), strings.Repeat("x", secret.MaxPasswordBytes+1))
	require.ErrorIs(t, err, secret.ErrPasswordTooLong)
	enc := mustHash(t, h, strings.Repeat("x", secret.MaxPasswordBytes))
	ok, err := h.Verify(t.Context(), strings.Repeat("x", secret.MaxPasswordBytes), enc)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestHasher_NeedsRehash(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, cheap)
	enc := mustHash(t, h, "password one")
	require.False(t, h.NeedsRehash(enc))
	stronger := mustHasher(t, secret.Params{MemoryKiB: 128, Time: 1, Threads: 1})
	require.True(t, stronger.NeedsRehash(enc))
	require.True(t, h.NeedsRehash("garbage"))
	// The old hash still verifies under the new hasher: parameters come from the hash.
	ok, err := stronger.Verify(t.Context(), "password one", enc)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestHasher_Dummy(t *testing.T) {
	t.Parallel()
	h := mustHasher(t, cheap)
	require.NoError(t, h.Dummy(t.Context(), "any password"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	// A cancelled context may still win a free slot; the call never fails otherwise.
	if err := h.Dummy(ctx, "any password"); err != nil {
		require.True(t, errors.Is(err, context.Canceled), "Dummy = %v", err)
	}
}

// BenchmarkHash measures one password hash with DefaultParams: the figure quoted
// in DefaultParams' comment (go test -bench Hash -run ^$ ./infra/secret).
func BenchmarkHash(b *testing.B) {
	h := mustHasher(b, secret.DefaultParams())
	for b.Loop() {
		if _, err := h.Hash(b.Context(), "Correct Horse 9"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyDummy measures Dummy, which must cost what BenchmarkHash costs.
func BenchmarkVerifyDummy(b *testing.B) {
	h := mustHasher(b, secret.DefaultParams())
	for b.Loop() {
		if err := h.Dummy(b.Context(), "Correct Horse 9"); err != nil {
			b.Fatal(err)
		}
	}
}

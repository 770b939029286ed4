package secret

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// phcGrammar is an independent statement of what parsePHC may accept.
var phcGrammar = regexp.MustCompile(`^\$argon2id\$v=19\$m=[1-9][0-9]*,t=[1-9][0-9]*,p=[1-9][0-9]*\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`)

// FuzzParsePHC: parsing a stored hash never panics, and whatever it accepts is a
// canonical argon2id PHC string with every bound respected (go test -fuzz
// FuzzParsePHC ./infra/secret).
func FuzzParsePHC(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=32768,t=2,p=2$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=065536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=+65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA==$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPB$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=65536,t=3,p=4,keyid=x$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$t=3,m=65536,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=16$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2id$v=19$m=4194304,t=1,p=1$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$argon2i$v=19$m=65536,t=3,p=4$MIIRqgvgQbgj220jfp0MPA$YfwJSVjtjSU0zzV/P3S9nnQ/USre2wvJMjfCIjrTQbg",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"", "$", "$$$$$", "$argon2id$v=19$m=,t=,p=$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedHash)
			return
		}
		require.True(t, phcGrammar.MatchString(s), "parsePHC accepted %q", s)
		require.Equal(t, s, p.String(), "parsePHC accepted a non-canonical %q", s)
		require.NoError(t, p.params.validate())
		require.True(t, len(p.salt) >= MinSaltLen && len(p.salt) <= MaxSaltLen, "salt length %d", len(p.salt))
		require.True(t, len(p.key) >= MinKeyLen && len(p.key) <= MaxKeyLen, "hash length %d", len(p.key))
		again, err := parsePHC(p.String())
		require.NoError(t, err)
		require.Equal(t, p, again)
	})
}

func TestParsePHC_roundTrip(t *testing.T) {
	t.Parallel()
	p := phc{params: DefaultParams(), salt: []byte("0123456789abcdef"), key: []byte(strings.Repeat("k", 32))}
	got, err := parsePHC(p.String())
	require.NoError(t, err)
	require.Equal(t, p, got)
}

// TestHasher_dummyHasCurrentParams: Dummy costs what a real Verify costs because
// its hash has the parameters and lengths of a fresh one.
func TestHasher_dummyHasCurrentParams(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(Params{MemoryKiB: 64, Time: 1, Threads: 1})
	require.NoError(t, err)
	require.False(t, h.NeedsRehash(h.dummy))
}

// TestHasher_waitsForASlot: hashes beyond the concurrency bound wait, and give up
// when their context ends.
func TestHasher_waitsForASlot(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(Params{MemoryKiB: 64, Time: 1, Threads: 1})
	require.NoError(t, err)
	for range cap(h.slots) {
		h.slots <- struct{}{}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "password")
		done <- err
	}()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	_, err = h.Verify(ctx, "password", h.dummy)
	require.ErrorIs(t, err, context.Canceled)

	<-h.slots // one slot frees: work proceeds
	_, err = h.Hash(t.Context(), "password")
	require.NoError(t, err)
}

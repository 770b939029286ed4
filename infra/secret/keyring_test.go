package secret_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/infra/secret"
)

func mustKeyring(t *testing.T, dataDir string) *secret.Keyring {
	t.Helper()
	k, err := secret.OpenKeyring(dataDir)
	require.NoError(t, err)
	return k
}

// fixedKeyring writes a keyring with known keys: credential = 32 × 0x01, derive =
// 32 × 0x02, phone = 32 × 0x03.
func fixedKeyring(t *testing.T) (dataDir string) {
	t.Helper()
	dataDir = t.TempDir()
	key := func(b byte) string {
		return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), 32)))
	}
	body := "sleutel-keyring v1\n# comment\n\ncredential " + key(1) + "\nderive " + key(2) + "\nphone " + key(3) + "\nfuture " + key(4) + "\n"
	writeKeyring(t, dataDir, body)
	return dataDir
}

func writeKeyring(t *testing.T, dataDir, body string) {
	t.Helper()
	path := secret.KeyringPath(dataDir)
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o700))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
}

// lp is the construction's length-prefixed encoding, restated independently.
func lp(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = binary.BigEndian.AppendUint64(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out
}

func hmacOf(key byte, msg []byte) []byte {
	m := hmac.New(sha256.New, []byte(strings.Repeat(string(rune(key)), 32)))
	m.Write(msg)
	return m.Sum(nil)
}

func TestOpenKeyring_createsOnceWithPrivateModes(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	k1 := mustKeyring(t, data)
	path := secret.KeyringPath(data)
	require.Equal(t, filepath.Join(data, "secrets", "keyring"), path)

	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")

	lockID := uuid.New()
	k2 := mustKeyring(t, data) // reopened: the same keys
	require.Equal(t, k1.CredentialDigest(lockID, "code", "1234"), k2.CredentialDigest(lockID, "code", "1234"))
	require.Equal(t, k1.Derive("pin", "a"), k2.Derive("pin", "a"))
	require.Equal(t, k1.PhoneCredential(lockID), k2.PhoneCredential(lockID))

	other := mustKeyring(t, t.TempDir()) // another data dir: other keys
	require.NotEqual(t, k1.CredentialDigest(lockID, "code", "1234"), other.CredentialDigest(lockID, "code", "1234"))
	require.NotEqual(t, k1.Derive("pin", "a"), other.Derive("pin", "a"))
	require.NotEqual(t, k1.PhoneCredential(lockID), other.PhoneCredential(lockID))
}

// TestOpenKeyring_race: processes starting together on a fresh data dir all end
// up with the one keyring that won.
func TestOpenKeyring_race(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	lockID := uuid.New()
	const n = 16
	digests := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := secret.OpenKeyring(data)
			if err != nil {
				t.Errorf("OpenKeyring = %v", err)
				return
			}
			digests[i] = k.CredentialDigest(lockID, "code", "1234")
		})
	}
	wg.Wait()
	for i := range digests {
		require.Equal(t, digests[0], digests[i], "opener %d", i)
	}
	entries, err := os.ReadDir(filepath.Dir(secret.KeyringPath(data)))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left behind")
}

func TestOpenKeyring_refusesBadFiles(t *testing.T) {
	t.Parallel()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	good := "credential " + key + "\nderive " + key + "\nphone " + key + "\n"
	tests := map[string]string{
		"empty":            "",
		"no header":        good,
		"other version":    "sleutel-keyring v2\n" + good,
		"missing purpose":  "sleutel-keyring v1\ncredential " + key + "\nderive " + key + "\n",
		"duplicate":        "sleutel-keyring v1\n" + good + "phone " + key + "\n",
		"short key":        "sleutel-keyring v1\n" + good + "extra " + base64.StdEncoding.EncodeToString(make([]byte, 16)) + "\n",
		"bad base64":       "sleutel-keyring v1\n" + strings.Replace(good, "phone "+key, "phone !!!", 1),
		"no key":           "sleutel-keyring v1\n" + good + "extra\n",
		"bad purpose name": "sleutel-keyring v1\n" + good + "Extra " + key + "\n",
		"too large":        "sleutel-keyring v1\n" + good + strings.Repeat("#\n", 40<<10),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := t.TempDir()
			writeKeyring(t, data, body)
			_, err := secret.OpenKeyring(data)
			require.Error(t, err)
			require.NotContains(t, err.Error(), key, "an error never shows a key")
		})
	}
	t.Run("good", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		writeKeyring(t, data, "sleutel-keyring v1\r\n"+strings.ReplaceAll(good, "\n", "\r\n"))
		_, err := secret.OpenKeyring(data)
		require.NoError(t, err)
	})
}

// TestKeyring_construction pins each value to its definition: changing one would
// make every stored credential digest match nothing (L9) and every phone
// credential change (D1).
func TestKeyring_construction(t *testing.T) {
	t.Parallel()
	k := mustKeyring(t, fixedKeyring(t))
	lockID := uuid.MustParse("0190a5c8-0000-7000-8000-000000000001")

	want := hmacOf(1, lp([]byte("credential-digest/v1"), lockID[:], []byte("code"), []byte("1234")))
	require.Equal(t, hex.EncodeToString(want), k.CredentialDigest(lockID, "code", "1234"))
	// The same value, computed apart with Python's hmac module.
	require.Equal(t, "90ee989d53a9ebb4e4ddc388be86af6eb93d9938491d3786d0cd3f8ae6011f19", k.CredentialDigest(lockID, "code", "1234"))

	want = hmacOf(2, lp([]byte("derive/v1"), []byte("pin"), []byte("idem-1"), []byte("0")))
	require.Equal(t, want, k.Derive("pin", "idem-1", "0"))

	want = hmacOf(3, lp([]byte("phone-credential/v1"), lockID[:]))
	require.Equal(t, base64.RawURLEncoding.EncodeToString(want), k.PhoneCredential(lockID))
}

func TestKeyring_separation(t *testing.T) {
	t.Parallel()
	k := mustKeyring(t, t.TempDir())
	l1, l2 := uuid.New(), uuid.New()
	distinct := func(values ...string) {
		t.Helper()
		seen := map[string]int{}
		for i, v := range values {
			if j, ok := seen[v]; ok {
				t.Fatalf("values %d and %d are equal: %s", j, i, v)
			}
			seen[v] = i
		}
	}
	distinct(
		k.CredentialDigest(l1, "code", "1234"),
		k.CredentialDigest(l2, "code", "1234"),   // equal PINs on two locks
		k.CredentialDigest(l1, "code", "12345"),  // another PIN
		k.CredentialDigest(l1, "tag", "1234"),    // another type
		k.CredentialDigest(l1, "codeX", "234"),   // boundaries shifted
		k.CredentialDigest(l1, "cod", "e1234"),   // boundaries shifted
		k.CredentialDigest(l1, "remote", "1234"), // another type
	)
	distinct(
		hex.EncodeToString(k.Derive("pin", "a", "bc")),
		hex.EncodeToString(k.Derive("pin", "ab", "c")),
		hex.EncodeToString(k.Derive("pin", "abc")),
		hex.EncodeToString(k.Derive("pina", "bc")),
		hex.EncodeToString(k.Derive("pin")),
		hex.EncodeToString(k.Derive("pin", "")),
		hex.EncodeToString(k.Derive("token/device", "abc")),
	)
	require.Len(t, k.Derive("pin", "a"), 32)
	require.Equal(t, k.Derive("pin", "a"), k.Derive("pin", "a"))

	pc := k.PhoneCredential(l1)
	require.Len(t, pc, 43)
	require.Equal(t, pc, k.PhoneCredential(l1))
	distinct(pc, k.PhoneCredential(l2))
	// One key per purpose: a phone credential is no digest or derivation of the same id.
	require.NotEqual(t, pc, base64.RawURLEncoding.EncodeToString(k.Derive("phone-credential/v1", string(l1[:]))))
}

func TestKeyring_neverPrintsKeys(t *testing.T) {
	t.Parallel()
	data := fixedKeyring(t)
	k := mustKeyring(t, data)
	body, err := os.ReadFile(secret.KeyringPath(data))
	require.NoError(t, err)
	out := fmt.Sprintf("%v %+v %#v %s", k, k, k, k)
	for _, line := range strings.Split(string(body), "\n") {
		if _, key, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			require.NotContains(t, out, key)
		}
	}
	require.NotContains(t, out, strings.Repeat("\x01", 4))
}

package secret

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"sleutel/commands"
)

// Keyring purposes: each has its own 32-byte key, so that no value computed for
// one purpose can stand in for another.
const (
	purposeCredential = "credential" // CredentialDigest
	purposeDerive     = "derive"     // Derive
	purposePhone      = "phone"      // PhoneCredential
)

var purposes = []string{purposeCredential, purposeDerive, purposePhone}

const (
	keyringHeader = "sleutel-keyring v1"
	keyringKeyLen = 32
	maxKeyringLen = 64 << 10
)

// KeyringPath returns where OpenKeyring keeps the keyring of the data directory dataDir.
func KeyringPath(dataDir string) string { return filepath.Join(dataDir, "secrets", "keyring") }

// Keyring holds the platform's HMAC keys, one per purpose. Every node of a cluster
// needs the same keyring, and a backup of the data needs it too: without it, no
// stored PIN, remote or tag digest can be matched again and every phone
// credential changes. It is safe for concurrent use. Its String and GoString
// never show the keys.
type Keyring struct {
	keys map[string][]byte
}

var _ commands.Secrets = (*Keyring)(nil)

// OpenKeyring reads the keyring of the data directory dataDir, at
// KeyringPath(dataDir), creating it with fresh random keys the first time: mode
// 0600 in a 0700 directory. Creation is atomic: the keys are written to a
// temporary file and fsync'd, then hard-linked to the final name, which fails if
// the name exists; a process that loses that race reads the winner's file. No
// reader ever sees a half-written keyring.
func OpenKeyring(dataDir string) (*Keyring, error) {
	path := KeyringPath(dataDir)
	k, err := readKeyring(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create keyring dir: %w", err)
	}
	if err := createKeyring(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return readKeyring(path)
}

func createKeyring(path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".keyring-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("create keyring: %w", err)
	}
	defer os.Remove(tmp.Name())
	var b bytes.Buffer
	b.WriteString(keyringHeader + "\n")
	b.WriteString("# Sleutel's HMAC keys. Keep this file secret, back it up with the data, and give\n")
	b.WriteString("# every node the same one: without it, stored PIN, remote and tag digests match nothing.\n")
	for _, p := range purposes {
		fmt.Fprintf(&b, "%s %s\n", p, base64.StdEncoding.EncodeToString(randomBytes(keyringKeyLen)))
	}
	_, err = tmp.Write(b.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write keyring %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("create keyring: %w", err) // fs.ErrExist: another process won
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("create keyring: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func readKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyringLen+1))
	if err == nil && len(data) > maxKeyringLen {
		err = errors.New("file too large")
	}
	var k *Keyring
	if err == nil {
		k, err = parseKeyring(data)
	}
	if err != nil {
		return nil, fmt.Errorf("read keyring %s: %w", path, err)
	}
	return k, nil
}

// parseKeyring reads the header line, then lines of "<purpose> <base64 key>";
// blank lines and lines starting with # are comments. Every purpose this version
// uses must be there, once, with a 32-byte key; purposes it does not know are kept
// for a newer version and otherwise ignored.
func parseKeyring(data []byte) (*Keyring, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if lines[0] != keyringHeader {
		return nil, fmt.Errorf("first line is not %q", keyringHeader)
	}
	k := &Keyring{keys: make(map[string][]byte)}
	for i, line := range lines[1:] {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, enc, ok := strings.Cut(line, " ")
		key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(enc))
		switch {
		case !ok || !validPurpose(name) || err != nil || len(key) != keyringKeyLen:
			return nil, fmt.Errorf("line %d: want <purpose> <base64 of %d bytes>", i+2, keyringKeyLen)
		case k.keys[name] != nil:
			return nil, fmt.Errorf("line %d: purpose %q twice", i+2, name)
		}
		k.keys[name] = key
	}
	for _, p := range purposes {
		if k.keys[p] == nil {
			return nil, fmt.Errorf("no key for purpose %q", p)
		}
	}
	return k, nil
}

func validPurpose(s string) bool {
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return s != ""
}

// String hides the keys.
func (k *Keyring) String() string { return "secret.Keyring{…}" }

// GoString hides the keys from %#v.
func (k *Keyring) GoString() string { return k.String() }

// mac returns HMAC-SHA256 under purpose's key over parts, each prefixed with its
// length so that no two different part lists give the same input.
func (k *Keyring) mac(purpose string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, k.keys[purpose])
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		m.Write(n[:])
		m.Write(p)
	}
	return m.Sum(nil)
}

// CredentialDigest returns the hex HMAC-SHA256, under the credential key, of the
// lock id, the credential type and the normalized credential (a PIN, remote
// serial or tag UID, L9). The key is what protects a PIN: with 4 to 10 digits, an
// unkeyed hash from the event log would fall to brute force in seconds. The lock
// id makes equal PINs on two locks differ.
func (k *Keyring) CredentialDigest(lockID uuid.UUID, keyType string, normalizedCredential string) string {
	return hex.EncodeToString(k.mac(purposeCredential, []byte("credential-digest/v1"), lockID[:], []byte(keyType), []byte(normalizedCredential)))
}

// Derive returns 32 bytes determined by purpose and parts under the derive key.
// An idempotent retry passes the same idempotency key among parts and so
// regenerates the same PIN, device token or code batch as the first attempt;
// without the key, no one can predict them.
func (k *Keyring) Derive(purpose string, parts ...string) []byte {
	in := make([][]byte, 0, 2+len(parts))
	in = append(in, []byte("derive/v1"), []byte(purpose))
	for _, p := range parts {
		in = append(in, []byte(p))
	}
	return k.mac(purposeDerive, in...)
}

// PhoneCredential returns the credential a phone app presents at the door for the
// phone key keyID (D1): 32 bytes of HMAC under the phone key, base64url without
// padding. It is computed whenever needed and never stored; compare it with
// hmac.Equal.
func (k *Keyring) PhoneCredential(keyID uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString(k.mac(purposePhone, []byte("phone-credential/v1"), keyID[:]))
}

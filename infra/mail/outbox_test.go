package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/infra/mail"
)

const from = "Sleutel <no-reply@sleutel.example>"

// fakeNow is a clock the test moves.
type fakeNow struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeNow) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond) // every message gets its own instant
	return c.t
}

func newFakeNow() *fakeNow {
	return &fakeNow{t: time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))}
}

func mustOutbox(t *testing.T, dir string, now func() time.Time) *mail.Outbox {
	t.Helper()
	o, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: from, Now: now})
	require.NoError(t, err)
	return o
}

// files returns the outbox's file names in order, and fails on a leftover
// temporary file.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), "."), "leftover %s", e.Name())
		names = append(names, e.Name())
	}
	return names
}

func readOne(t *testing.T, dir string) []byte {
	t.Helper()
	names := files(t, dir)
	require.Len(t, names, 1)
	raw, err := os.ReadFile(filepath.Join(dir, names[0]))
	require.NoError(t, err)
	return raw
}

func reminder() mail.Message {
	return mail.Message{
		ID:      "0190a5c8-0000-7000-8000-00000000000a",
		To:      "Anna de Vries <anna@example.nl>",
		Subject: "Uw proefperiode eindigt over 7 dagen — slot “Voordeur”",
		Text:    "Beste Anna,\n\nUw proefperiode eindigt op 1 april.\n.\nFrom here on: " + strings.Repeat("lange regel ", 20) + "\n",
		HTML:    "<p>Beste Anna,</p>\n<p>Uw proefperiode eindigt op <b>1 april</b>.</p>",
	}
}

func TestOutbox_writesRFC5322(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "outbox")
	clk := newFakeNow()
	o := mustOutbox(t, dir, clk.Now)
	m := reminder()
	require.NoError(t, o.Send(t.Context(), m))

	di, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
	names := files(t, dir)
	require.Len(t, names, 1)
	fi, err := os.Stat(filepath.Join(dir, names[0]))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mail holds reset links: owner only")
	require.Regexp(t, `^20260301T083000\.001000000Z-[0-9a-f]{32}\.eml$`, names[0])

	got := parseMail(t, readOne(t, dir))
	require.Equal(t, "no-reply@sleutel.example", got.from)
	require.Equal(t, "anna@example.nl", got.to)
	require.Equal(t, m.Subject, got.subject)
	require.True(t, got.date.Equal(time.Date(2026, 3, 1, 8, 30, 0, 1e6, time.UTC).Truncate(time.Second)), "Date %v", got.date)
	require.Equal(t, strings.TrimRight(m.Text, "\n"), strings.TrimRight(got.text, "\n"))
	require.Equal(t, m.HTML, strings.TrimRight(got.html, "\n"))
	require.Contains(t, got.header.Get("Subject"), "=?utf-8?q?", "non-ASCII subject is Q-encoded")
	require.True(t, strings.HasSuffix(got.header.Get("Message-ID"), "@sleutel.example>"))
}

func TestOutbox_plainText(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := mustOutbox(t, dir, newFakeNow().Now)
	m := mail.Message{ID: "m1", To: "piet@example.nl", Subject: "Plain subject", Text: "Regel één\r\nRegel twee = 2\nLaatste"}
	require.NoError(t, o.Send(t.Context(), m))
	raw := readOne(t, dir)
	got := parseMail(t, raw)
	require.Equal(t, "Plain subject", got.header.Get("Subject"), "ASCII subjects are not encoded")
	require.Equal(t, "Regel één\nRegel twee = 2\nLaatste\n", got.text)
	require.Empty(t, got.html)
	require.Contains(t, string(raw), "Content-Type: text/plain; charset=utf-8\r\n")
}

func TestOutbox_longSubjectFolds(t *testing.T) {
	t.Parallel()
	for _, subject := range []string{
		strings.Repeat("word ", 90) + "end",
		strings.Repeat("wôrd ", 80) + "end",
		strings.Repeat("x", 200) + " tail",
	} {
		dir := t.TempDir()
		o := mustOutbox(t, dir, newFakeNow().Now)
		require.NoError(t, o.Send(t.Context(), mail.Message{ID: "long", To: "a@example.nl", Subject: subject, Text: "x"}))
		raw := readOne(t, dir)
		head := string(raw[:strings.Index(string(raw), "\r\n\r\n")])
		for _, line := range strings.Split(head, "\r\n") {
			// Only a line of one unbreakable word may pass 78 characters.
			require.True(t, len(line) <= 78 || len(strings.Fields(line)) <= 2, "header line %q", line)
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(raw))
		require.NoError(t, err)
		got, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, subject, got)
	}
}

// TestOutbox_encodedNames: a display name in encoded words is decoded and
// encoded again on the way out; one that decodes to a line break is refused.
func TestOutbox_encodedNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := mustOutbox(t, dir, newFakeNow().Now)
	m := mail.Message{ID: "x", To: "=?utf-8?q?Anna_de_Vri=C3=ABs?= <anna@example.nl>", Subject: "s", Text: "t"}
	require.NoError(t, o.Send(t.Context(), m))
	got := parseMail(t, readOne(t, dir))
	require.Equal(t, "anna@example.nl", got.to)
	to, err := got.header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, "Anna de Vriës", to[0].Name)

	m = mail.Message{ID: "y", To: "=?utf-8?q?Anna=0D=0ABcc:_eve@example.nl?= <anna@example.nl>", Subject: "s", Text: "t"}
	err = o.Send(t.Context(), m)
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "Send = %v", err)
	require.Len(t, files(t, dir), 1)
}

// TestOutbox_idempotent: the same ID writes one file, within a process and after
// a restart, even if the content differs (a redelivered event).
func TestOutbox_idempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clk := newFakeNow()
	o := mustOutbox(t, dir, clk.Now)
	m := reminder()
	require.NoError(t, o.Send(t.Context(), m))
	first := readOne(t, dir)
	m.Subject = "changed"
	require.NoError(t, o.Send(t.Context(), m))
	require.Equal(t, first, readOne(t, dir))

	restarted := mustOutbox(t, dir, clk.Now)
	require.NoError(t, restarted.Send(t.Context(), m))
	require.Equal(t, first, readOne(t, dir))

	m.ID += "-other"
	require.NoError(t, restarted.Send(t.Context(), m))
	require.Len(t, files(t, dir), 2)
}

func TestOutbox_concurrentSends(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := mustOutbox(t, dir, newFakeNow().Now)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			m := reminder()
			m.ID = fmt.Sprintf("msg-%d", i%5) // five IDs, each sent four times at once
			if err := o.Send(t.Context(), m); err != nil {
				t.Errorf("Send = %v", err)
			}
		})
	}
	wg.Wait()
	require.Len(t, files(t, dir), 5)
}

func TestOutbox_namesSortByTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clk := newFakeNow()
	o := mustOutbox(t, dir, clk.Now)
	var subjects []string
	for _, id := range []string{"zz", "aa", "mm", "00"} { // IDs in no order
		m := mail.Message{ID: id, To: "a@example.nl", Subject: "mail " + id, Text: "x"}
		require.NoError(t, o.Send(t.Context(), m))
		subjects = append(subjects, m.Subject)
	}
	names := files(t, dir)
	require.True(t, slices.IsSorted(names))
	for i, name := range names {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, subjects[i], parseMail(t, raw).subject)
	}
}

// TestOutbox_refusesInvalid: header injection and malformed messages are refused
// with EInvalid, and nothing is written.
func TestOutbox_refusesInvalid(t *testing.T) {
	t.Parallel()
	const secret = "https://sleutel.example/reset/SECRET"
	ok := mail.Message{ID: "id-1", To: "anna@example.nl", Subject: "Hallo", Text: secret}
	with := func(f func(*mail.Message)) mail.Message { m := ok; f(&m); return m }
	tests := map[string]mail.Message{
		"CRLF in to":         with(func(m *mail.Message) { m.To = "anna@example.nl\r\nBcc: eve@example.nl" }),
		"LF in to":           with(func(m *mail.Message) { m.To = "anna@example.nl\nBcc: eve@example.nl" }),
		"CRLF in subject":    with(func(m *mail.Message) { m.Subject = "Hallo\r\nBcc: eve@example.nl" }),
		"CR in subject":      with(func(m *mail.Message) { m.Subject = "Hallo\rBcc: eve@example.nl" }),
		"LF in id":           with(func(m *mail.Message) { m.ID = "id\nX-Evil: 1" }),
		"NUL in subject":     with(func(m *mail.Message) { m.Subject = "Hallo\x00" }),
		"invalid UTF-8":      with(func(m *mail.Message) { m.Subject = "Hallo \xff" }),
		"invalid UTF-8 body": with(func(m *mail.Message) { m.Text = secret + " \xff" }),
		"not an address":     with(func(m *mail.Message) { m.To = "anna at example.nl" }),
		"two addresses":      with(func(m *mail.Message) { m.To = "anna@example.nl, eve@example.nl" }),
		"empty to":           with(func(m *mail.Message) { m.To = "" }),
		"no id":              with(func(m *mail.Message) { m.ID = "" }),
		"id too long":        with(func(m *mail.Message) { m.ID = strings.Repeat("x", mail.MaxIDBytes+1) }),
		"no text":            with(func(m *mail.Message) { m.Text = ""; m.HTML = "<p>hi</p>" }),
		"subject too long":   with(func(m *mail.Message) { m.Subject = strings.Repeat("x", mail.MaxSubjectBytes+1) }),
		"body too long":      with(func(m *mail.Message) { m.Text = secret + strings.Repeat("x", mail.MaxBodyBytes) }),
	}
	dir := t.TempDir()
	o := mustOutbox(t, dir, newFakeNow().Now)
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			err := o.Send(t.Context(), m)
			require.Error(t, err)
			require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "Send = %v", err)
			require.True(t, mail.IsPermanent(err))
			require.NotContains(t, err.Error(), "SECRET", "an error never quotes a body")
		})
	}
	require.Empty(t, files(t, dir))
	require.NoError(t, o.Send(t.Context(), ok)) // and the same outbox still works
}

func TestNewOutbox_refusesBadFrom(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"", "no address", "a@example.nl\r\nBcc: e@example.nl", "a@example.nl, b@example.nl"} {
		_, err := mail.NewOutbox(mail.OutboxConfig{Dir: t.TempDir(), From: f})
		require.Error(t, err, "NewOutbox(From: %q)", f)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
	}
}

func TestOutbox_contextEnded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := mustOutbox(t, dir, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, o.Send(ctx, reminder()), context.Canceled)
	require.Empty(t, files(t, dir))
}

// Package mail sends the platform's mail: reminders (L16), password resets (A4),
// invitations (O2). Outbox writes each message as an .eml file in the data
// directory, the default; SMTP hands it to a mail server. Both have the same Send
// method, so the consumer declares the interface. Nothing here logs, and no error
// holds a message's body: bodies carry reset links and activation codes.
package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"

	"sleutel/domain"
)

// Limits on a message, so that a bug cannot fill the disk or a mail queue.
const (
	MaxIDBytes      = 256
	MaxSubjectBytes = 500
	MaxBodyBytes    = 1 << 20 // each of Text and HTML
)

// Message is one mail to one recipient.
type Message struct {
	// ID identifies the message, typically the id of the event that caused it:
	// Outbox writes one file per ID, and the Message-ID header derives from it,
	// so a redelivered event mails nothing new. Required.
	ID string
	// To is one address, with or without a display name ("Anna <anna@example.nl>").
	To string
	// Subject is plain text; non-ASCII is encoded for the header.
	Subject string
	// Text is the plain-text body. Required.
	Text string
	// HTML is an optional HTML body, sent with Text as multipart/alternative.
	HTML string
}

// Sender is what Outbox and SMTP have in common. A consumer declares its own
// interface; this one documents the shape and lets the tests check both.
type Sender interface {
	// Send delivers m. A message that cannot be sent as it stands returns an
	// EInvalid error; see IsPermanent.
	Send(ctx context.Context, m Message) error
}

// rendered is a message ready for the wire: the envelope addresses and the RFC
// 5322 bytes, with CRLF line endings.
type rendered struct {
	from, to string // envelope (MAIL FROM, RCPT TO)
	key      string // hex digest of the ID: file names and Message-ID
	data     []byte
}

// parseFrom checks a configured sender address.
func parseFrom(from string) (*mail.Address, error) {
	if err := headerSafe("from", from); err != nil {
		return nil, err
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "from is not one mail address")
	}
	return a, nil
}

func invalid(format string, args ...any) error {
	return domain.Errorf(domain.EInvalid, format, args...)
}

// headerSafe refuses what could end a header early or smuggle another one in: CR,
// LF and every other control character but tab, and invalid UTF-8.
func headerSafe(field, v string) error {
	if !utf8.ValidString(v) {
		return invalid("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r == '\r' || r == '\n' {
			return invalid("%s holds a line break", field)
		}
		if r < 0x20 && r != '\t' || r == 0x7f {
			return invalid("%s holds a control character", field)
		}
	}
	return nil
}

// render validates m and writes it as an RFC 5322 message from from, dated date.
func render(m Message, from *mail.Address, date time.Time) (rendered, error) {
	for _, f := range []struct{ name, v string }{{"id", m.ID}, {"to", m.To}, {"subject", m.Subject}} {
		if err := headerSafe(f.name, f.v); err != nil {
			return rendered{}, err
		}
	}
	switch {
	case m.ID == "" || len(m.ID) > MaxIDBytes:
		return rendered{}, invalid("a message needs an id of 1 to %d bytes", MaxIDBytes)
	case len(m.Subject) > MaxSubjectBytes:
		return rendered{}, invalid("subject is longer than %d bytes", MaxSubjectBytes)
	case m.Text == "":
		return rendered{}, invalid("a message needs a plain-text body")
	case len(m.Text) > MaxBodyBytes || len(m.HTML) > MaxBodyBytes:
		return rendered{}, invalid("a body is longer than %d bytes", MaxBodyBytes)
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML):
		return rendered{}, invalid("a body is not valid UTF-8")
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return rendered{}, invalid("to is not one mail address")
	}
	sum := sha256.Sum256([]byte(m.ID))
	key := hex.EncodeToString(sum[:16])
	domainPart := from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(fold(name+": "+value) + "\r\n") }
	header("Date", date.UTC().Format(time.RFC1123Z))
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Message-ID", "<"+key+"@"+domainPart+">")
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		writeQP(&b, m.Text)
		return rendered{from: from.Address, to: to.Address, key: key, data: b.Bytes()}, nil
	}
	mw := multipart.NewWriter(&b) // random boundary: it cannot occur in the QP parts by chance
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} { // the last is preferred
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return rendered{}, err
		}
		var body bytes.Buffer
		writeQP(&body, part.body)
		_, _ = w.Write(body.Bytes())
	}
	if err := mw.Close(); err != nil {
		return rendered{}, err
	}
	return rendered{from: from.Address, to: to.Address, key: key, data: b.Bytes()}, nil
}

// writeQP writes s quoted-printable: lines of at most 76 characters, CRLF line
// breaks, and a final line break.
func writeQP(b *bytes.Buffer, s string) {
	w := quotedprintable.NewWriter(b)
	_, _ = w.Write([]byte(s)) // a bytes.Buffer does not fail
	_ = w.Close()
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
}

// fold folds a header line at spaces so that lines stay within 78 characters
// where they can (RFC 5322 2.2.3); the encoded words of a long subject are
// separated by spaces, so they fold too.
func fold(line string) string {
	const limit = 78
	if len(line) <= limit {
		return line
	}
	var b strings.Builder
	n := 0
	for i, word := range strings.Split(line, " ") {
		if i > 0 {
			if n+1+len(word) > limit && n > 1 {
				b.WriteString("\r\n")
				n = 0
			}
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

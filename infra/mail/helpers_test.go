package mail_test

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// received is a message as a mail program reads it.
type received struct {
	header  mail.Header
	date    time.Time
	from    string
	to      string
	subject string
	text    string // LF line endings
	html    string
}

// parseMail reads raw like a mail program would and checks what every message
// must have: CRLF line endings, lines within 998 characters, header lines within
// 78 where they can fold, a parseable date, MIME-Version, quoted-printable parts.
func parseMail(t *testing.T, raw []byte) received {
	t.Helper()
	require.NotContains(t, strings.ReplaceAll(string(raw), "\r\n", ""), "\n", "a bare LF")
	require.NotContains(t, strings.ReplaceAll(string(raw), "\r\n", ""), "\r", "a bare CR")
	headerEnd := bytes.Index(raw, []byte("\r\n\r\n"))
	require.Positive(t, headerEnd)
	for _, line := range strings.Split(string(raw), "\r\n") {
		require.LessOrEqual(t, len(line), 998, "line %q", line)
	}
	for _, line := range strings.Split(string(raw[:headerEnd]), "\r\n") {
		require.LessOrEqual(t, len(line), 78, "header line %q", line)
	}

	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	var r received
	r.header = msg.Header
	r.date, err = msg.Header.Date()
	require.NoError(t, err)
	from, err := msg.Header.AddressList("From")
	require.NoError(t, err)
	require.Len(t, from, 1)
	r.from = from[0].Address
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	require.Len(t, to, 1)
	r.to = to[0].Address
	r.subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "1.0", msg.Header.Get("MIME-Version"))
	require.Regexp(t, `^<[0-9a-f]{32}@[^@<>]+>$`, msg.Header.Get("Message-ID"))

	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	switch mt {
	case "text/plain":
		r.text = readQP(t, msg.Header.Get("Content-Transfer-Encoding"), params, msg.Body)
	case "multipart/alternative":
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for i, want := range []string{"text/plain", "text/html"} {
			p, err := mr.NextRawPart() // raw: NextPart would hide the transfer encoding
			require.NoError(t, err, "part %d", i)
			pt, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			require.NoError(t, err)
			require.Equal(t, want, pt)
			body := readQP(t, p.Header.Get("Content-Transfer-Encoding"), pparams, p)
			if i == 0 {
				r.text = body
			} else {
				r.html = body
			}
		}
		_, err := mr.NextRawPart()
		require.ErrorIs(t, err, io.EOF)
	default:
		t.Fatalf("Content-Type %q", mt)
	}
	return r
}

func readQP(t *testing.T, cte string, params map[string]string, body io.Reader) string {
	t.Helper()
	require.Equal(t, "quoted-printable", cte)
	require.Equal(t, "utf-8", params["charset"])
	raw, err := io.ReadAll(body)
	require.NoError(t, err)
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		require.LessOrEqual(t, len(sc.Text()), 76, "quoted-printable line %q", sc.Text())
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
	require.NoError(t, err)
	return strings.ReplaceAll(string(dec), "\r\n", "\n")
}

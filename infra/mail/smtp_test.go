package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/infra/mail"
)

// delivery is what the test server received in one mail transaction.
type delivery struct {
	from, to string
	tls      bool
	user     string
	data     []byte
}

// server is a real SMTP server (emersion/go-smtp) on a loopback port.
type server struct {
	addr      string
	tlsConfig *tls.Config // for the client: trusts the server's certificate
	got       chan delivery
	refuse    *smtp.SMTPError // RCPT's answer when set

	mu       sync.Mutex
	mailFrom int // MAIL commands seen
}

type serverOptions struct {
	tls      bool   // offer STARTTLS
	user     string // require AUTH PLAIN with user and password "s3cret"
	refuse   *smtp.SMTPError
	insecure bool // allow AUTH without TLS
}

func startServer(t *testing.T, o serverOptions) *server {
	t.Helper()
	s := &server{got: make(chan delivery, 4), refuse: o.refuse}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c, need: o.user}, nil
	})
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = o.insecure
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	if o.tls {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.tlsConfig = &tls.Config{RootCAs: pool}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *server) mails() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mailFrom
}

type session struct {
	srv    *server
	conn   *smtp.Conn
	need   string
	authed string
	d      delivery
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.need || password != "s3cret" {
			return smtp.ErrAuthFailed
		}
		s.authed = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.srv.mu.Lock()
	s.srv.mailFrom++
	s.srv.mu.Unlock()
	if s.need != "" && s.authed == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.d = delivery{from: from, tls: isTLS, user: s.authed}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.srv.refuse != nil {
		return s.srv.refuse
	}
	s.d.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.d.data = b
	s.srv.got <- s.d
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

// selfSigned returns a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sleutel test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func mustSMTP(t *testing.T, c mail.SMTPConfig) *mail.SMTP {
	t.Helper()
	if c.From == "" {
		c.From = from
	}
	s, err := mail.NewSMTP(c)
	require.NoError(t, err)
	return s
}

// TestSMTP_starttlsAndAuth: the sender upgrades with STARTTLS, logs in with AUTH
// PLAIN, and the server receives the message with its headers and both bodies.
func TestSMTP_starttlsAndAuth(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{tls: true, user: "sleutel"})
	clk := newFakeNow()
	s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, Username: "sleutel", Password: "s3cret", TLS: srv.tlsConfig, Now: clk.Now})
	m := reminder()
	require.NoError(t, s.Send(t.Context(), m))

	d := <-srv.got
	require.True(t, d.tls, "the message went over TLS")
	require.Equal(t, "sleutel", d.user)
	require.Equal(t, "no-reply@sleutel.example", d.from)
	require.Equal(t, "anna@example.nl", d.to)
	got := parseMail(t, d.data)
	require.Equal(t, "no-reply@sleutel.example", got.from)
	require.Equal(t, "anna@example.nl", got.to)
	require.Equal(t, m.Subject, got.subject)
	require.Equal(t, time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC), got.date.UTC())
	require.Equal(t, strings.TrimRight(m.Text, "\n"), strings.TrimRight(got.text, "\n"))
	require.Equal(t, m.HTML, strings.TrimRight(got.html, "\n"))
	require.Contains(t, got.text, "\n.\n", "a line holding only a dot survives the SMTP dot-stuffing")

	// The same message again goes out again, with the same Message-ID.
	require.NoError(t, s.Send(t.Context(), m))
	again := parseMail(t, (<-srv.got).data)
	require.Equal(t, got.header.Get("Message-ID"), again.header.Get("Message-ID"))
}

// TestSMTP_requiresSTARTTLS: against a server without STARTTLS the sender stops
// before MAIL, so neither the password nor the message crosses in clear text.
func TestSMTP_requiresSTARTTLS(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{insecure: true, user: "sleutel"})
	s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, Username: "sleutel", Password: "s3cret"})
	err := s.Send(t.Context(), reminder())
	require.ErrorContains(t, err, "STARTTLS")
	require.False(t, mail.IsPermanent(err))
	require.Zero(t, srv.mails())
}

// TestSMTP_insecureLoopback: Insecure allows a plain-text server on a loopback
// address, the test set-up the accounts work can reuse.
func TestSMTP_insecureLoopback(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{insecure: true, user: "sleutel"})
	s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, Username: "sleutel", Password: "s3cret", Insecure: true})
	require.NoError(t, s.Send(t.Context(), mail.Message{ID: "1", To: "piet@example.nl", Subject: "Hoi", Text: "Hallo Piet"}))
	d := <-srv.got
	require.False(t, d.tls)
	require.Equal(t, "sleutel", d.user)
	require.Equal(t, "Hallo Piet\n", parseMail(t, d.data).text)
}

func TestNewSMTP_refusals(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]mail.SMTPConfig{
		"insecure to a remote host": {Addr: "smtp.example.nl:587", From: from, Insecure: true},
		"insecure to a LAN address": {Addr: "192.168.1.10:25", From: from, Insecure: true},
		"no port":                   {Addr: "smtp.example.nl", From: from},
		"no host":                   {Addr: ":25", From: from},
		"bad from":                  {Addr: "smtp.example.nl:587", From: "nobody"},
		"from with a line break":    {Addr: "smtp.example.nl:587", From: "a@example.nl\r\nBcc: e@example.nl"},
	} {
		_, err := mail.NewSMTP(c)
		require.Error(t, err, name)
		require.Equal(t, domain.EInvalid, domain.ErrorCode(err), name)
	}
	for _, addr := range []string{"127.0.0.1:2525", "[::1]:2525", "localhost:2525"} {
		_, err := mail.NewSMTP(mail.SMTPConfig{Addr: addr, From: from, Insecure: true})
		require.NoError(t, err, addr)
	}
}

func TestSMTP_wrongPassword(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{tls: true, user: "sleutel"})
	s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, Username: "sleutel", Password: "wrong", TLS: srv.tlsConfig})
	err := s.Send(t.Context(), reminder())
	require.ErrorContains(t, err, "auth")
	require.NotContains(t, err.Error(), "wrong", "the error does not echo the password")
	require.Zero(t, srv.mails())
}

func TestSMTP_untrustedCertificate(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{tls: true})
	s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr}) // system roots: the test certificate is unknown
	err := s.Send(t.Context(), reminder())
	require.ErrorContains(t, err, "starttls")
	require.Zero(t, srv.mails())
}

// TestSMTP_refusals: a 5xx reply is permanent, a 4xx reply transient.
func TestSMTP_refusals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code      int
		permanent bool
	}{{550, true}, {451, false}} {
		srv := startServer(t, serverOptions{tls: true, refuse: &smtp.SMTPError{Code: tt.code, Message: "no"}})
		s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, TLS: srv.tlsConfig})
		err := s.Send(t.Context(), reminder())
		require.Error(t, err)
		require.Equal(t, tt.permanent, mail.IsPermanent(err), "IsPermanent(%v)", err)
	}
}

func TestSMTP_invalidMessage(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{tls: true})
	s := mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, TLS: srv.tlsConfig})
	err := s.Send(t.Context(), mail.Message{ID: "1", To: "a@example.nl\r\nBcc: e@example.nl", Text: "x"})
	require.Equal(t, domain.EInvalid, domain.ErrorCode(err))
	require.True(t, mail.IsPermanent(err))
	require.Zero(t, srv.mails(), "an invalid message never reaches the server")
}

// TestSMTP_contextEnds: a server that accepts the connection and never greets
// cannot hold Send once its context ends.
func TestSMTP_contextEnds(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
			cancel() // the client now waits for a greeting that never comes
		}
	}()
	s := mustSMTP(t, mail.SMTPConfig{Addr: l.Addr().String(), Insecure: true})
	err = s.Send(ctx, reminder())
	require.True(t, errors.Is(err, context.Canceled), "Send = %v", err)
	require.False(t, mail.IsPermanent(err))
	c := <-accepted
	_ = c.Close()
}

// TestSenders: Outbox and SMTP are interchangeable behind one interface.
func TestSenders(t *testing.T) {
	t.Parallel()
	srv := startServer(t, serverOptions{tls: true})
	senders := map[string]mail.Sender{
		"outbox": mustOutbox(t, t.TempDir(), nil),
		"smtp":   mustSMTP(t, mail.SMTPConfig{Addr: srv.addr, TLS: srv.tlsConfig}),
	}
	for name, s := range senders {
		require.NoError(t, s.Send(t.Context(), reminder()), name)
	}
	<-srv.got
}

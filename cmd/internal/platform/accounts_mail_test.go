package platform_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"sleutel/cmd/internal/platform"
)

// smtpServer is a real SMTP server (emersion/go-smtp) on a loopback port that
// offers STARTTLS and requires AUTH PLAIN as sleutel/s3cret.
type smtpServer struct {
	addr  string
	roots *x509.CertPool
	got   chan smtpDelivery
}

type smtpDelivery struct {
	to   string
	tls  bool
	user string
	data string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	s := &smtpServer{got: make(chan smtpDelivery, 8)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	cert, roots := testCertificate(t)
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.roots = roots
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

type smtpSession struct {
	srv  *smtpServer
	conn *smtp.Conn
	user string
	d    smtpDelivery
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != "sleutel" || password != "s3cret" {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.d = smtpDelivery{tls: isTLS, user: s.user}
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.d.to = to
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.d.data = string(b)
	s.srv.got <- s.d
	return nil
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }

// testCertificate returns a certificate for 127.0.0.1 and a pool that trusts it.
func testCertificate(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sleutel e2e smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestMail_SMTP_A4 runs the platform with --smtp against a real SMTP server over
// TCP: the reset link of a forgotten password arrives there, over STARTTLS with
// AUTH, and works; nothing is written to the outbox.
func TestMail_SMTP_A4(t *testing.T) {
	srv := startSMTP(t)
	dir := dataDir(t)
	m := startWith(t, dir, func(c *platform.Config) {
		c.Mail = platform.MailConfig{SMTP: srv.addr, Username: "sleutel", Password: "s3cret",
			From: "Sleutel <no-reply@sleutel.example>", TLS: &tls.Config{RootCAs: srv.roots}}
	})
	user := newClient(t, m.URL())
	user.signUp("smita")
	expect(t, newClient(t, m.URL()).do("POST", "/v1/password-resets", map[string]string{"username_or_email": "smita@example.org"}), 202)
	var d smtpDelivery
	select {
	case d = <-srv.got:
	case <-time.After(20 * time.Second):
		t.Fatal("A4 no mail reached the SMTP server")
	}
	require.True(t, d.tls, "STARTTLS")
	require.Equal(t, "sleutel", d.user, "AUTH PLAIN")
	require.Equal(t, "smita@example.org", d.to)
	require.Contains(t, d.data, "From: \"Sleutel\" <no-reply@sleutel.example>")
	body, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(d.data)))
	require.NoError(t, err)
	link := regexp.MustCompile(`/v1/password-resets/[A-Za-z0-9_-]+`).FindString(string(body))
	require.NotEmpty(t, link, "A4 the mail carries the link")
	expect(t, newClient(t, m.URL()).do("POST", link, map[string]string{"new_password": "mailed new password"}), 204)
	user.login("smita", "mailed new password")
	require.Empty(t, resetTokens(t, m, dir, "smita@example.org"), "with --smtp the outbox stays empty")
}

package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"time"

	"sleutel/domain"
)

// DefaultTimeout bounds a Send whose context has no deadline: a mail server that
// stops answering must not hold a worker forever.
const DefaultTimeout = time.Minute

// SMTPConfig configures an SMTP sender.
type SMTPConfig struct {
	// Addr is the server's host:port, e.g. "smtp.example.nl:587".
	Addr string
	// From is the sender address, in the From header and the envelope.
	From string
	// Username and Password, when Username is set, log in with AUTH PLAIN, which
	// net/smtp only does over TLS (or to localhost).
	Username string
	Password string
	// TLS configures STARTTLS; nil means the system roots and Addr's host as the
	// server name. Tests set RootCAs.
	TLS *tls.Config
	// Insecure allows a server that offers no STARTTLS, for tests against a server
	// on a loopback address only: NewSMTP refuses it for any other host.
	Insecure bool
	// LocalName is the name given in EHLO; "localhost" when empty.
	LocalName string
	// Now dates the messages; time.Now when nil.
	Now func() time.Time
}

// SMTP sends mail through an SMTP server (the --smtp option): one connection per
// message, STARTTLS required unless Insecure, AUTH PLAIN when a username is set.
// It is safe for concurrent use. A message with the same ID sent twice goes out
// twice, with the same Message-ID header, by which mail programs drop the copy.
type SMTP struct {
	c    SMTPConfig
	host string
	from *mail.Address
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns an SMTP sender. It returns an EInvalid error for a bad address
// or From, or for Insecure with a host that is not a loopback address.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("new smtp: %w", invalid("smtp address %q is not host:port", c.Addr))
	}
	from, err := parseFrom(c.From)
	if err != nil {
		return nil, fmt.Errorf("new smtp: %w", err)
	}
	if c.Insecure && !isLoopback(host) {
		return nil, fmt.Errorf("new smtp: %w", invalid("smtp without TLS is for loopback test servers only, not %s", host))
	}
	if c.LocalName == "" {
		c.LocalName = "localhost"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TLS == nil {
		c.TLS = &tls.Config{}
	}
	c.TLS = c.TLS.Clone()
	if c.TLS.ServerName == "" {
		c.TLS.ServerName = host
	}
	if c.TLS.MinVersion < tls.VersionTLS12 {
		c.TLS.MinVersion = tls.VersionTLS12
	}
	return &SMTP{c: c, host: host, from: from}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m to the server. The context bounds the whole exchange (dial,
// TLS, every command); without a deadline, DefaultTimeout does. It returns an
// EInvalid error for an invalid message, the server's reply (a *textproto.Error)
// when it refuses, and an error wrapping ctx's error when ctx ends first. Once the
// server has accepted the message, a failure to say goodbye is not an error.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	r, err := render(m, s.from, s.c.Now())
	if err != nil {
		return fmt.Errorf("smtp %q: %w", m.ID, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	if err := s.send(ctx, r); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return fmt.Errorf("smtp %q: %w", m.ID, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, r rendered) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.c.Addr)
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Cancellation interrupts whatever read or write is under way.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.host) // reads the greeting
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.c.LocalName); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(s.c.TLS); err != nil {
			return fmt.Errorf("starttls: %w", err)
		}
	} else if !s.c.Insecure {
		return errors.New("server offers no STARTTLS; refusing to send in clear text")
	}
	if s.c.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("server offers no AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.c.Username, s.c.Password, s.host)); err != nil {
			return fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(r.from); err != nil {
		return fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(r.to); err != nil {
		return fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if _, err := w.Write(r.data); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := w.Close(); err != nil { // the server's verdict on the message
		return fmt.Errorf("data: %w", err)
	}
	_ = c.Quit() // accepted: from here on, a resend would be a duplicate
	return nil
}

// IsPermanent reports whether retrying err cannot help: the message is invalid
// (EInvalid), or the server refused it for good (an SMTP 5xx reply, such as an
// unknown mailbox). Timeouts, lost connections and 4xx replies are transient.
func IsPermanent(err error) bool {
	if domain.ErrorCode(err) == domain.EInvalid {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}

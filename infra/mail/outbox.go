package mail

import (
	"context"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	// Dir is the folder the messages go to, typically <data>/outbox. It is created
	// with mode 0700: messages carry reset links and activation codes.
	Dir string
	// From is the sender address, e.g. "Sleutel <no-reply@sleutel.example>".
	From string
	// Now dates the messages and names the files; time.Now when nil. The platform
	// passes its clock, so a dev clock's jump shows in the mail.
	Now func() time.Time
}

// Outbox is the default mail sender: it writes each message as an RFC 5322 .eml
// file, which a developer opens in any mail program. It is safe for concurrent
// use; only one Outbox may use a folder at a time (the data directory has one
// owner).
type Outbox struct {
	dir  string
	from *mail.Address
	now  func() time.Time

	mu   sync.Mutex
	sent map[string]string // ID key → file name
}

var _ Sender = (*Outbox)(nil)

// fileTime names files so that they sort by time: fixed width, UTC, nanoseconds.
const fileTime = "20060102T150405.000000000Z"

var fileName = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}\.[0-9]{9}Z-([0-9a-f]{32})\.eml$`)

// NewOutbox returns an Outbox writing to c.Dir, creating the folder if need be and
// reading which message IDs it already holds. It returns an EInvalid error for a
// bad From address.
func NewOutbox(c OutboxConfig) (*Outbox, error) {
	from, err := parseFrom(c.From)
	if err != nil {
		return nil, fmt.Errorf("new outbox: %w", err)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("new outbox: %w", err)
	}
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("new outbox: %w", err)
	}
	o := &Outbox{dir: c.Dir, from: from, now: c.Now, sent: make(map[string]string, len(entries))}
	for _, e := range entries {
		if m := fileName.FindStringSubmatch(e.Name()); m != nil {
			o.sent[m[1]] = e.Name()
		}
	}
	return o, nil
}

// Send writes m to <Dir>/<time>-<id digest>.eml, atomically: a temporary file is
// written and fsync'd, renamed, and the folder fsync'd, so a crash leaves the
// whole message or none. A message whose ID the folder already holds is not
// written again, and Send returns nil. An invalid message (bad address, a line
// break in a header, no ID or text) returns an EInvalid error and writes nothing.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox %q: %w", m.ID, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	r, err := render(m, o.from, now)
	if err != nil {
		return fmt.Errorf("outbox %q: %w", m.ID, err)
	}
	if _, ok := o.sent[r.key]; ok {
		return nil
	}
	name := now.UTC().Format(fileTime) + "-" + r.key + ".eml"
	if err := o.write(name, r.data); err != nil {
		return fmt.Errorf("outbox %q: %w", m.ID, err)
	}
	o.sent[r.key] = name
	return nil
}

func (o *Outbox) write(name string, data []byte) error {
	tmp, err := os.CreateTemp(o.dir, ".tmp-*.eml") // mode 0600
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(o.dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return syncDir(o.dir)
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

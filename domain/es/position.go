package es

import (
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in the global log. The embedded store numbers events 1, 2, 3 …
// with Commit == Prepare; EventStoreDB reports both parts of its transaction-file
// position. The zero Position lies before the first event.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event: reading or subscribing after Start
// delivers the whole log.
var Start = Position{}

// Pos returns the position with both parts equal to n, as the embedded store uses.
func Pos(n uint64) Position { return Position{Commit: n, Prepare: n} }

// Less reports whether p comes before o in the global order.
func (p Position) Less(o Position) bool {
	if p.Commit != o.Commit {
		return p.Commit < o.Commit
	}
	return p.Prepare < o.Prepare
}

// IsZero reports whether p is Start.
func (p Position) IsZero() bool { return p == Start }

// String renders p as "C" when both parts are equal and "C/P" otherwise.
// ParsePosition reads both forms.
func (p Position) String() string {
	if p.Commit == p.Prepare {
		return strconv.FormatUint(p.Commit, 10)
	}
	return strconv.FormatUint(p.Commit, 10) + "/" + strconv.FormatUint(p.Prepare, 10)
}

// ParsePosition parses the form String writes.
func ParsePosition(s string) (Position, error) {
	c, p, two := strings.Cut(strings.TrimSpace(s), "/")
	commit, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: want a number or commit/prepare", s)
	}
	if !two {
		return Pos(commit), nil
	}
	prepare, err := strconv.ParseUint(p, 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: want a number or commit/prepare", s)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}

// MarshalText implements encoding.TextMarshaler, so positions read well in JSON.
func (p Position) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Position) UnmarshalText(b []byte) error {
	v, err := ParsePosition(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

package es

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxStreamName is the longest stream name, in bytes, that every store accepts.
const MaxStreamName = 200

// StreamName returns "<category>-<id>". Categories hold no dash.
func StreamName(category string, id uuid.UUID) string { return category + "-" + id.String() }

// Category returns the part of a stream name before its first dash (the whole name
// when it holds none).
func Category(stream string) string {
	c, _, _ := strings.Cut(stream, "-")
	return c
}

// StreamID returns the uuid after a stream's category, and false when there is none.
func StreamID(stream string) (uuid.UUID, bool) {
	_, rest, ok := strings.Cut(stream, "-")
	if !ok {
		return uuid.UUID{}, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil
}

// ValidateStream reports whether name can be a stream: 1 to MaxStreamName bytes of
// valid UTF-8 without control characters, not starting with '$' (EventStoreDB keeps
// those for itself).
func ValidateStream(name string) error {
	if name == "" || len(name) > MaxStreamName {
		return fmt.Errorf("stream name must be 1 to %d bytes", MaxStreamName)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("stream name %q is not valid UTF-8", name)
	}
	if name[0] == '$' {
		return fmt.Errorf("stream name %q starts with '$'", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("stream name %q holds a control character", name)
		}
	}
	return nil
}

// ValidateEventType reports whether t can be an event type: 1 to 100 bytes of
// lowercase letters, digits, '.', '_' and '-'.
func ValidateEventType(t string) error {
	if t == "" || len(t) > 100 {
		return fmt.Errorf("event type must be 1 to 100 bytes")
	}
	for _, r := range t {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("event type %q: only a-z, 0-9, '.', '_' and '-'", t)
		}
	}
	return nil
}

// Filter selects events of a subscription: by stream category, or by event type,
// never both (EventStoreDB filters on one of the two). The zero Filter selects all.
type Filter struct {
	Categories []string // a stream matches when Category(stream) is one of these
	EventTypes []string // an event matches when its type is one of these
}

// Validate reports a filter that mixes both kinds.
func (f Filter) Validate() error {
	if len(f.Categories) > 0 && len(f.EventTypes) > 0 {
		return fmt.Errorf("filter by category or by event type, not both")
	}
	return nil
}

// Match reports whether an event of type typ on stream passes f.
func (f Filter) Match(stream, typ string) bool {
	if len(f.Categories) > 0 {
		c := Category(stream)
		for _, want := range f.Categories {
			if c == want {
				return true
			}
		}
		return false
	}
	if len(f.EventTypes) > 0 {
		for _, want := range f.EventTypes {
			if typ == want {
				return true
			}
		}
		return false
	}
	return true
}

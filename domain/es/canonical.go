package es

import (
	"bytes"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Canonical reads an event payload in the form json.Marshal writes it (the fields
// in their struct's order, no white space), for a PayloadDecoder: each value goes
// through the very function encoding/json would call, so what it reads is what
// json.Unmarshal would. Anything else — white space, escapes in a string, another
// order, an unknown field — makes it fail, and the decoder hands the payload to
// json.Unmarshal. Calls after a failure do nothing; OK tells.
type Canonical struct {
	b      []byte
	first  bool
	failed bool
}

// NewCanonical starts reading raw, which must open an object.
func NewCanonical(raw []byte) *Canonical {
	c := &Canonical{b: raw, first: true}
	c.lit("{")
	return c
}

// OK reports whether everything read so far was in canonical form.
func (c *Canonical) OK() bool { return !c.failed }

// End reads the object's end, which must end the payload, and reports whether the
// whole payload was read.
func (c *Canonical) End() bool {
	c.lit("}")
	if len(c.b) != 0 {
		c.failed = true
	}
	return !c.failed
}

// Field reads the name of the next field when it is name, and reports whether it
// was: an omitted field (omitempty) is simply not there.
func (c *Canonical) Field(name string) bool {
	if c.failed {
		return false
	}
	b := c.b
	if !c.first {
		if len(b) == 0 || b[0] != ',' {
			return false
		}
		b = b[1:]
	}
	if len(b) < len(name)+3 || b[0] != '"' || string(b[1:1+len(name)]) != name || b[1+len(name)] != '"' || b[2+len(name)] != ':' {
		return false
	}
	c.b, c.first = b[3+len(name):], false
	return true
}

// Need reads the name of the next field, which must be name.
func (c *Canonical) Need(name string) {
	if !c.Field(name) {
		c.failed = true
	}
}

func (c *Canonical) lit(s string) {
	if c.failed || len(c.b) < len(s) || string(c.b[:len(s)]) != s {
		c.failed = true
		return
	}
	c.b = c.b[len(s):]
}

// quoted reads a string without escapes or control characters, in valid UTF-8
// (which encoding/json reads as it is), and returns it with its quotes.
func (c *Canonical) quoted() []byte {
	if c.failed || len(c.b) == 0 || c.b[0] != '"' {
		c.failed = true
		return nil
	}
	end := bytes.IndexByte(c.b[1:], '"')
	if end < 0 {
		c.failed = true
		return nil
	}
	s := c.b[1 : 1+end]
	ascii := true
	for _, ch := range s {
		if ch < 0x20 || ch == '\\' {
			c.failed = true
			return nil
		}
		if ch >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		c.failed = true
		return nil
	}
	q := c.b[:2+end]
	c.b = c.b[2+end:]
	return q
}

// String reads a string value.
func (c *Canonical) String() string {
	q := c.quoted()
	if q == nil {
		return ""
	}
	return string(q[1 : len(q)-1])
}

// StringOf reads a string value as String does, but gives back the one of known
// it equals without allocating: for a field whose values are a few constants.
func (c *Canonical) StringOf(known []string) string {
	q := c.quoted()
	if q == nil {
		return ""
	}
	s := q[1 : len(q)-1]
	for _, k := range known {
		if string(s) == k {
			return k
		}
	}
	return string(s)
}

// UUID reads a UUID (its text, as uuid.UUID's UnmarshalText reads it).
func (c *Canonical) UUID() uuid.UUID {
	var id uuid.UUID
	if q := c.quoted(); q != nil && id.UnmarshalText(q[1:len(q)-1]) != nil {
		c.failed = true
	}
	return id
}

// Time reads a time (as time.Time's UnmarshalJSON reads it).
func (c *Canonical) Time() time.Time {
	var t time.Time
	if q := c.quoted(); q != nil && t.UnmarshalJSON(q) != nil {
		c.failed = true
	}
	return t
}

// Int reads an integer that fits an int (a number with a fraction or an exponent
// is not one encoding/json puts in an int).
func (c *Canonical) Int() int {
	if c.failed {
		return 0
	}
	i := 0
	if i < len(c.b) && c.b[i] == '-' {
		i++
	}
	start := i
	for i < len(c.b) && c.b[i] >= '0' && c.b[i] <= '9' {
		i++
	}
	if i == start || c.b[start] == '0' && i > start+1 {
		c.failed = true
		return 0
	}
	n, err := strconv.ParseInt(string(c.b[:i]), 10, strconv.IntSize)
	if err != nil {
		c.failed = true
		return 0
	}
	c.b = c.b[i:]
	return int(n)
}

// Raw reads an array or an object, whole, for json.Unmarshal to decode (a
// field with a decoder of its own). It checks only that brackets and strings
// close: json.Unmarshal judges the rest.
func (c *Canonical) Raw() []byte {
	if c.failed || len(c.b) == 0 || c.b[0] != '[' && c.b[0] != '{' {
		c.failed = true
		return nil
	}
	depth, inString := 0, false
	for i := 0; i < len(c.b); i++ {
		switch ch := c.b[i]; {
		case inString && ch == '\\':
			i++
		case ch == '"':
			inString = !inString
		case inString:
		case ch == '[' || ch == '{':
			depth++
		case ch == ']' || ch == '}':
			if depth--; depth == 0 {
				v := c.b[:i+1]
				c.b = c.b[i+1:]
				return v
			}
		}
	}
	c.failed = true
	return nil
}

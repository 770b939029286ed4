package projections

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON writes a log entry as encoding/json would, without reflection: the
// lock log writes one entry per event, and a replay writes a million of them.
// TestLogEntryJSON holds it equal to encoding/json's output.
func (e LogEntry) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 192+len(e.Details)))
}

// appendJSON appends what json.Marshal(e) returns: already compact and
// HTML-escaped, so AppendJSON may skip encoding/json's pass over it.
func (e LogEntry) appendJSON(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, `{"position":"`...) // as Position.String, which has nothing to escape
	b = strconv.AppendUint(b, e.Position.Commit, 10)
	if e.Position.Prepare != e.Position.Commit {
		b = append(b, '/')
		b = strconv.AppendUint(b, e.Position.Prepare, 10)
	}
	b = append(b, '"')
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"occurred_at":`...)
	b, err := appendJSONTime(b, e.OccurredAt, nil)
	b = append(b, `,"recorded_at":`...)
	if b, err = appendJSONTime(b, e.RecordedAt, err); err != nil { // encoding/json's own error
		_, err = json.Marshal(plainLogEntry(e))
		return b[:start], err
	}
	if e.Actor != "" {
		b = append(b, `,"actor":`...)
		b = appendJSONString(b, e.Actor)
	}
	if e.KeyID != nil {
		b = append(b, `,"key_id":`...)
		b = appendJSONUUID(b, *e.KeyID)
	}
	b = append(b, `,"details":`...)
	if len(e.Details) == 0 {
		b = append(b, "null"...)
	} else {
		// Details is a stored payload, valid JSON; encoding/json would compact it.
		if !compactJSON(e.Details) {
			raw, err := json.Marshal(e.Details)
			if err != nil {
				return nil, err
			}
			b = append(b, raw...)
		} else {
			b = append(b, e.Details...)
		}
	}
	return append(b, '}'), nil
}

// compactJSON reports whether raw holds no insignificant white space and nothing
// encoding/json would escape when it re-encodes a RawMessage (<, >, &, U+2028 and
// U+2029; other characters stay as they are), so it can be copied as is. Most
// payloads (every device report) hold neither a space nor anything to escape: one
// pass over their bytes, without a branch per byte, tells.
func compactJSON(raw []byte) bool {
	var seen uint8
	for _, c := range raw {
		seen |= compactClass[c]
	}
	if seen&classEscape != 0 || seen&classLineSep != 0 && hasLineSeparator(raw) {
		return false
	}
	if seen&classSpace == 0 {
		return true
	}
	inString := false // white space is significant only inside a string
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			inString = !inString
		case c == '\\':
			if inString {
				i++
			}
		case compactClass[c]&classSpace != 0:
			if !inString {
				return false
			}
		}
	}
	return true
}

// hasLineSeparator reports whether raw holds U+2028 or U+2029 (E2 80 A8 and E2 80
// A9), which encoding/json escapes.
func hasLineSeparator(raw []byte) bool {
	for i := 0; i+2 < len(raw); i++ {
		if raw[i] == 0xE2 && raw[i+1] == 0x80 && raw[i+2]&^1 == 0xA8 {
			return true
		}
	}
	return false
}

// What compactJSON makes of a byte, as bits: 0 for a byte copied as it is.
const (
	classSpace   = 1 << iota // insignificant outside a string
	classEscape              // <, > and &
	classLineSep             // 0xE2, which may start U+2028 or U+2029
)

var compactClass = func() (t [256]uint8) {
	for _, c := range " \t\n\r" {
		t[c] = classSpace
	}
	for _, c := range "<>&" {
		t[c] = classEscape
	}
	t[0xE2] = classLineSep
	return t
}()

// htmlSafe holds the bytes encoding/json copies into a string as they are (with
// HTML escaping): printable ASCII but for ", \\, <, > and &.
var htmlSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// plainLogEntry is LogEntry without its methods, for encoding/json.
type plainLogEntry LogEntry

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json does with
// HTML escaping: quotes, backslashes, control characters, <, > and &, U+2028 and
// U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	i := 0
	for i < len(s) && htmlSafe[s[i]] {
		i++
	}
	if i == len(s) { // the common case: nothing to escape
		b = append(b, s...)
		return append(b, '"')
	}
	start := 0
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if htmlSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

package projections

import (
	"encoding/json"
	"time"
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
	b = append(b, `{"position":`...)
	b = appendJSONString(b, e.Position.String())
	b = append(b, `,"type":`...)
	b = appendJSONString(b, e.Type)
	b = append(b, `,"occurred_at":"`...)
	b = e.OccurredAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","recorded_at":"`...)
	b = e.RecordedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.Actor != "" {
		b = append(b, `,"actor":`...)
		b = appendJSONString(b, e.Actor)
	}
	if e.KeyID != nil {
		b = append(b, `,"key_id":"`...)
		b = append(b, e.KeyID.String()...)
		b = append(b, '"')
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

// compactJSON reports whether raw holds no insignificant white space and no
// character encoding/json would escape when it re-encodes a RawMessage, so it can
// be copied as is.
func compactJSON(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		case c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf:
			return false // encoding/json escapes these (and checks UTF-8): let it
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json does with
// HTML escaping: quotes, backslashes, control characters, <, > and &, U+2028 and
// U+2029, and invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
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

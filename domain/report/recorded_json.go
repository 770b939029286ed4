package report

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/google/uuid"
)

// plainRecorded is Recorded without its methods, for encoding/json.
type plainRecorded Recorded

// DecodePayload implements es.PayloadDecoder: a payload in the form json.Marshal
// writes (every stored report: fields in order, no white space, no escapes) is
// read without reflection, each value by the very function encoding/json would
// call; anything else goes to json.Unmarshal. Device reports are most of the log,
// and a replay decodes every one. FuzzRecordedDecodePayload holds it to
// json.Unmarshal.
func (r *Recorded) DecodePayload(raw []byte) error {
	var d Recorded
	if decodeRecorded(raw, &d) {
		*r = d
		return nil
	}
	return json.Unmarshal(raw, (*plainRecorded)(r))
}

// decodeRecorded reads raw into d when it is in json.Marshal's form, and reports
// whether it was.
func decodeRecorded(raw []byte, d *Recorded) bool {
	p := recordedParser{raw: raw}
	if !p.lit(`{"report_id":`) {
		return false
	}
	s, ok := p.str()
	if !ok {
		return false
	}
	d.ReportID = string(s)
	if !p.lit(`,"lock_id":`) {
		return false
	}
	if s, ok = p.str(); !ok || d.LockID.UnmarshalText(s) != nil {
		return false
	}
	if !p.lit(`,"type":`) {
		return false
	}
	if s, ok = p.str(); !ok {
		return false
	}
	d.Type = string(s)
	if !p.lit(`,"occurred_at":`) || !p.time(func(q []byte) error { return d.OccurredAt.UnmarshalJSON(q) }) {
		return false
	}
	if !p.lit(`,"recorded_at":`) || !p.time(func(q []byte) error { return d.RecordedAt.UnmarshalJSON(q) }) {
		return false
	}
	if p.lit(`,"key_id":`) {
		var id uuid.UUID
		if s, ok = p.str(); !ok || id.UnmarshalText(s) != nil {
			return false
		}
		d.KeyID = id
	}
	if p.lit(`,"battery_percent":`) {
		n, ok := p.int()
		if !ok {
			return false
		}
		d.BatteryPercent = &n
	}
	return p.lit("}") && len(p.raw) == 0
}

// recordedParser reads a payload from its start.
type recordedParser struct{ raw []byte }

// lit consumes s when the payload goes on with it.
func (p *recordedParser) lit(s string) bool {
	if len(p.raw) < len(s) || string(p.raw[:len(s)]) != s {
		return false
	}
	p.raw = p.raw[len(s):]
	return true
}

// str consumes a string without escapes or control characters, in valid UTF-8
// (which encoding/json would read as it is), and returns what is between its quotes.
func (p *recordedParser) str() ([]byte, bool) {
	if len(p.raw) == 0 || p.raw[0] != '"' {
		return nil, false
	}
	end := bytes.IndexByte(p.raw[1:], '"')
	if end < 0 {
		return nil, false
	}
	s := p.raw[1 : 1+end]
	ascii := true
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return nil, false
	}
	p.raw = p.raw[2+end:]
	return s, true
}

// time consumes a string and hands it, quotes and all, to set (time.Time's
// UnmarshalJSON, as encoding/json does).
func (p *recordedParser) time(set func([]byte) error) bool {
	raw := p.raw
	if _, ok := p.str(); !ok {
		return false
	}
	return set(raw[:len(raw)-len(p.raw)]) == nil
}

// int consumes a JSON integer that fits an int (a number with a fraction or an
// exponent is not one encoding/json puts in an int).
func (p *recordedParser) int() (int, bool) {
	i := 0
	if i < len(p.raw) && p.raw[i] == '-' {
		i++
	}
	start := i
	for i < len(p.raw) && p.raw[i] >= '0' && p.raw[i] <= '9' {
		i++
	}
	if i == start || p.raw[start] == '0' && i > start+1 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(p.raw[:i]), 10, strconv.IntSize)
	if err != nil {
		return 0, false
	}
	p.raw = p.raw[i:]
	return int(n), true
}

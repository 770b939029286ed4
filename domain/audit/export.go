package audit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Format is an export's file format (SPEC H5).
type Format string

// Export formats.
const (
	// JSONLines writes a header line, one event a line, and an end line.
	JSONLines Format = "jsonl"
	// CSV writes a header row and one event a row, with the payload and the extra
	// metadata as JSON text.
	CSV Format = "csv"
)

// ParseFormat checks s names a format.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case JSONLines, CSV:
		return f, nil
	}
	return "", fmt.Errorf("format %q: want jsonl or csv", s)
}

// ExportVersion names the export layout; a reader refuses any other.
const ExportVersion = "sleutel-audit-export/1"

// Selection says which part of the history an export holds. The zero Selection is
// the whole log.
type Selection struct {
	// Lock, when set, keeps the lock's own stream and its device's report stream.
	Lock uuid.UUID `json:"lock_id,omitzero"`
	// Since and Until bound the export to one unbroken stretch of each stream: from
	// its first event recorded at or after Since, up to (not including) its first
	// event recorded at or after Until. A stretch is never cut in the middle, so
	// it verifies from the prev_hash of its first event.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// Header is the first line of a JSON-lines export.
type Header struct {
	Version    string    `json:"sleutel_export"`
	ExportedAt time.Time `json:"exported_at"`
	Selection  Selection `json:"selection"`
}

// Trailer is the last line of a JSON-lines export: what a complete file holds, so
// a file cut short is told from a whole one.
type Trailer struct {
	Events       uint64      `json:"events"`
	Streams      int         `json:"streams"`
	LastPosition es.Position `json:"last_position"`
}

// Event is one event as the export and the audit API write it: the envelope of
// SPEC H1 with its hash (H4). PrevHash is set on the first exported event of a
// stream that the export picks up mid-way: the hash of the stream's event before
// it, which the export's chain starts from.
type Event struct {
	Position   es.Position     `json:"position"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	ID         uuid.UUID       `json:"id"`
	Type       string          `json:"type"`
	RecordedAt time.Time       `json:"recorded_at"`
	Metadata   es.Metadata     `json:"metadata"`
	Data       json.RawMessage `json:"data"`
	// DataBase64 holds a payload that is not one line of JSON (an event another
	// tool wrote), with Data null.
	DataBase64 []byte   `json:"data_base64,omitempty"`
	Hash       es.Hash  `json:"hash"`
	PrevHash   *es.Hash `json:"prev_hash,omitempty"`
}

// csvColumns are the CSV export's columns, in order.
var csvColumns = []string{"position", "stream", "revision", "id", "type", "recorded_at", "actor", "correlation_id",
	"causation_id", "extra", "data", "hash", "prev_hash"}

// Writer writes an export. Events must come in global order; the writer adds each
// stream's prev_hash where the export starts it mid-way, from the hash the caller
// says precedes it (see Write).
type Writer struct {
	w       *bufio.Writer
	format  Format
	csv     *csv.Writer
	started map[string]struct{}
	events  uint64
	last    es.Position
	buf     []byte
	row     []string
}

// NewWriter starts an export in format f to w: the header line (JSON lines) or the
// header row (CSV).
func NewWriter(w io.Writer, f Format, h Header) (*Writer, error) {
	x := &Writer{w: bufio.NewWriterSize(w, 1<<20), format: f, started: make(map[string]struct{})}
	switch f {
	case JSONLines:
		h.Version = ExportVersion
		h.ExportedAt = h.ExportedAt.UTC()
		b, err := json.Marshal(h)
		if err != nil {
			return nil, err
		}
		x.w.Write(b)
		x.w.WriteByte('\n')
	case CSV:
		x.csv = csv.NewWriter(x.w)
		x.row = make([]string, len(csvColumns))
		if err := x.csv.Write(csvColumns); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("format %q: want jsonl or csv", f)
	}
	return x, nil
}

// Write adds one event. prev is the stored hash of the stream's event before r; it
// is written only when r is the first exported event of a stream that does not
// start at revision 0.
func (x *Writer) Write(r *es.Record, prev es.Hash) error {
	var anchor *es.Hash
	if _, ok := x.started[r.Stream]; !ok {
		x.started[r.Stream] = struct{}{}
		if r.Revision > 0 {
			anchor = &prev
		}
	}
	x.events++
	x.last = r.Position
	if x.format == CSV {
		return x.writeCSV(r, anchor)
	}
	x.buf = AppendEventJSON(x.buf[:0], r, r.Data, anchor)
	x.buf = append(x.buf, '\n')
	_, err := x.w.Write(x.buf)
	return err
}

func (x *Writer) writeCSV(r *es.Record, anchor *es.Hash) error {
	extra := ""
	if len(r.Metadata.Extra) > 0 {
		b, err := json.Marshal(r.Metadata.Extra) // keys sorted: the same text every time
		if err != nil {
			return err
		}
		extra = string(b)
	}
	prev := ""
	if anchor != nil {
		prev = anchor.String()
	}
	x.row[0], x.row[1], x.row[2], x.row[3], x.row[4] = r.Position.String(), r.Stream, strconv.FormatUint(r.Revision, 10), r.ID.String(), r.Type
	x.row[5], x.row[6], x.row[7], x.row[8] = r.RecordedAt.UTC().Format(time.RFC3339Nano), r.Metadata.Actor, r.Metadata.CorrelationID, r.Metadata.CausationID
	data := string(r.Data)
	if !embeddable(r.Data) {
		data = csvBase64 + base64.StdEncoding.EncodeToString(r.Data)
	}
	x.row[9], x.row[10], x.row[11], x.row[12] = extra, data, r.Hash.String(), prev
	return x.csv.Write(x.row)
}

// Close ends the export: the end line (JSON lines), then a flush.
func (x *Writer) Close() error {
	if x.format == CSV {
		x.csv.Flush()
		if err := x.csv.Error(); err != nil {
			return err
		}
		return x.w.Flush()
	}
	b, err := json.Marshal(struct {
		End Trailer `json:"end"`
	}{Trailer{Events: x.events, Streams: len(x.started), LastPosition: x.last}})
	if err != nil {
		return err
	}
	x.w.Write(b)
	x.w.WriteByte('\n')
	return x.w.Flush()
}

// Events returns how many events were written.
func (x *Writer) Events() uint64 { return x.events }

// AppendEventJSON appends the JSON of Event for r, with data as its payload (the
// stored bytes, or a redacted copy), byte for byte: encoding/json would compact and
// re-escape a raw payload, and the chain hash covers the bytes as stored. A payload
// that is not one line of JSON (an event written by another tool) goes in
// data_base64, with data null.
func AppendEventJSON(b []byte, r *es.Record, data []byte, prev *es.Hash) []byte {
	b = append(b, `{"position":"`...)
	b = appendPosition(b, r.Position)
	b = append(b, `","stream":`...)
	b = appendString(b, r.Stream)
	b = append(b, `,"revision":`...)
	b = strconv.AppendUint(b, r.Revision, 10)
	b = append(b, `,"id":"`...)
	b = appendUUID(b, r.ID)
	b = append(b, `","type":`...)
	b = appendString(b, r.Type)
	b = append(b, `,"recorded_at":"`...)
	b = r.RecordedAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","metadata":{`...)
	sep := false
	field := func(name, v string) {
		if v == "" {
			return
		}
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		b = appendString(b, v)
	}
	md := &r.Metadata
	field("actor", md.Actor)
	field("correlation_id", md.CorrelationID)
	field("causation_id", md.CausationID)
	if len(md.Extra) > 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"extra":{`...)
		keys := make([]string, 0, len(md.Extra))
		for k := range md.Extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, md.Extra[k])
		}
		b = append(b, '}')
	}
	b = append(b, `},"data":`...)
	if embeddable(data) {
		b = append(b, data...)
	} else {
		b = append(b, `null,"data_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, data)
		b = append(b, '"')
	}
	b = append(b, `,"hash":"`...)
	b = hex.AppendEncode(b, r.Hash[:])
	b = append(b, '"')
	if prev != nil {
		b = append(b, `,"prev_hash":"`...)
		b = hex.AppendEncode(b, prev[:])
		b = append(b, '"')
	}
	return append(b, '}')
}

// embeddable reports whether a payload can be written as it is: JSON on one line.
func embeddable(data []byte) bool {
	return len(data) > 0 && !bytes.ContainsAny(data, "\n\r") && json.Valid(data)
}

// csvBase64 starts a CSV data cell holding a payload that is not one line of JSON;
// no JSON text starts so.
const csvBase64 = "base64:"

func appendPosition(b []byte, p es.Position) []byte {
	b = strconv.AppendUint(b, p.Commit, 10)
	if p.Prepare != p.Commit {
		b = append(b, '/')
		b = strconv.AppendUint(b, p.Prepare, 10)
	}
	return b
}

func appendUUID(b []byte, id uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:], id[10:])
	return append(b, s[:]...)
}

// appendString appends s as a JSON string, escaped as encoding/json escapes it
// (without the HTML escapes), so that decoding gives s back. Invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&0xf))
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			case '\u2028':
				b = append(b, `\u2028`...)
			default:
				b = append(b, `\u2029`...)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func hexDigit(c byte) byte { return "0123456789abcdef"[c] }

// IncompleteError reports an export that is not whole: cut short, or with lines
// that are not the format's.
type IncompleteError struct {
	Line   int
	Reason string
}

// Error describes what is missing.
func (e *IncompleteError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("export line %d: %s", e.Line, e.Reason)
	}
	return "export: " + e.Reason
}

// Reader reads an export written by Writer, of either format.
type Reader struct {
	format  Format
	lines   *bufio.Reader
	csv     *csv.Reader
	line    int
	header  Header
	trailer *Trailer
	cols    map[string]int
}

// NewReader starts reading an export, telling the format by its first byte.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	first, err := br.Peek(1)
	if err != nil {
		return nil, &IncompleteError{Reason: "the file is empty"}
	}
	x := &Reader{lines: br}
	if first[0] == '{' {
		x.format = JSONLines
		raw, err := x.nextLine()
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &x.header); err != nil || x.header.Version != ExportVersion {
			return nil, &IncompleteError{Line: 1, Reason: fmt.Sprintf("not a Sleutel export header (want %q)", ExportVersion)}
		}
		return x, nil
	}
	x.format = CSV
	x.csv = csv.NewReader(br)
	x.csv.ReuseRecord = true
	head, err := x.csv.Read()
	if err != nil {
		return nil, &IncompleteError{Line: 1, Reason: "not a Sleutel CSV export: " + err.Error()}
	}
	x.line = 1
	x.cols = make(map[string]int, len(head))
	for i, c := range head {
		x.cols[c] = i
	}
	for _, c := range csvColumns {
		if _, ok := x.cols[c]; !ok {
			return nil, &IncompleteError{Line: 1, Reason: fmt.Sprintf("not a Sleutel CSV export: no column %q", c)}
		}
	}
	return x, nil
}

// Format returns the export's format.
func (x *Reader) Format() Format { return x.format }

// Header returns a JSON-lines export's header (zero for CSV).
func (x *Reader) Header() Header { return x.header }

// Line returns the line (JSON lines) or row (CSV) last read, counting from 1.
func (x *Reader) Line() int { return x.line }

func (x *Reader) nextLine() ([]byte, error) {
	raw, err := x.lines.ReadBytes('\n')
	if len(raw) == 0 && err != nil {
		return nil, err
	}
	x.line++
	return bytes.TrimRight(raw, "\r\n"), nil
}

// Next returns the next event, with its prev_hash when the export carries one. It
// returns io.EOF after the last event: of a JSON-lines export only when the end
// line was read and agrees with what came before it, an *IncompleteError otherwise.
func (x *Reader) Next() (es.Record, *es.Hash, error) {
	if x.format == CSV {
		return x.nextCSV()
	}
	raw, err := x.nextLine()
	if errors.Is(err, io.EOF) {
		if x.trailer == nil {
			return es.Record{}, nil, &IncompleteError{Line: x.line, Reason: "the export ends without its end line: it was cut short"}
		}
		return es.Record{}, nil, io.EOF
	}
	if err != nil {
		return es.Record{}, nil, err
	}
	if x.trailer != nil {
		return es.Record{}, nil, &IncompleteError{Line: x.line, Reason: "a line after the end line"}
	}
	if bytes.HasPrefix(raw, []byte(`{"end":`)) {
		var t struct {
			End *Trailer `json:"end"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || t.End == nil {
			return es.Record{}, nil, &IncompleteError{Line: x.line, Reason: "an unreadable end line"}
		}
		x.trailer = t.End
		return x.Next()
	}
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return es.Record{}, nil, &IncompleteError{Line: x.line, Reason: "not an event: " + err.Error()}
	}
	data := []byte(e.Data)
	if e.DataBase64 != nil {
		data = e.DataBase64
	}
	return es.Record{ID: e.ID, Stream: e.Stream, Type: e.Type, Revision: e.Revision, Position: e.Position,
		RecordedAt: e.RecordedAt, Data: data, Metadata: e.Metadata, Hash: e.Hash}, e.PrevHash, nil
}

// Trailer returns the end line once Next has returned io.EOF.
func (x *Reader) Trailer() *Trailer { return x.trailer }

func (x *Reader) nextCSV() (es.Record, *es.Hash, error) {
	row, err := x.csv.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return es.Record{}, nil, io.EOF
		}
		return es.Record{}, nil, &IncompleteError{Line: x.line + 1, Reason: err.Error()}
	}
	x.line++
	col := func(name string) string { return row[x.cols[name]] }
	bad := func(what string, err error) (es.Record, *es.Hash, error) {
		return es.Record{}, nil, &IncompleteError{Line: x.line, Reason: fmt.Sprintf("%s: %v", what, err)}
	}
	var r es.Record
	if r.Position, err = es.ParsePosition(col("position")); err != nil {
		return bad("position", err)
	}
	r.Stream, r.Type = col("stream"), col("type")
	if r.Revision, err = strconv.ParseUint(col("revision"), 10, 64); err != nil {
		return bad("revision", err)
	}
	if r.ID, err = uuid.Parse(col("id")); err != nil {
		return bad("id", err)
	}
	if r.RecordedAt, err = time.Parse(time.RFC3339Nano, col("recorded_at")); err != nil {
		return bad("recorded_at", err)
	}
	r.Metadata = es.Metadata{Actor: col("actor"), CorrelationID: col("correlation_id"), CausationID: col("causation_id")}
	if extra := col("extra"); extra != "" {
		if err := json.Unmarshal([]byte(extra), &r.Metadata.Extra); err != nil {
			return bad("extra", err)
		}
	}
	if d := col("data"); strings.HasPrefix(d, csvBase64) {
		if r.Data, err = base64.StdEncoding.DecodeString(d[len(csvBase64):]); err != nil {
			return bad("data", err)
		}
	} else {
		r.Data = []byte(d)
	}
	if err := r.Hash.UnmarshalText([]byte(col("hash"))); err != nil {
		return bad("hash", err)
	}
	var prev *es.Hash
	if p := col("prev_hash"); p != "" {
		prev = new(es.Hash)
		if err := prev.UnmarshalText([]byte(p)); err != nil {
			return bad("prev_hash", err)
		}
	}
	return r, prev, nil
}

// Summary is what a verified history held.
type Summary struct {
	Events  uint64
	Streams int
	Last    es.Position
}

// VerifyExport reads a whole export and checks it on its own (SPEC H4): every
// stream's chain, from revision 0 or from the prev_hash the export carries, the
// global order, and (JSON lines) that the file is whole. It returns an
// *es.BrokenLink naming the first broken link, an *IncompleteError for a file that
// is cut short or malformed, or nil.
func VerifyExport(r io.Reader, workers int) (Summary, error) {
	x, err := NewReader(r)
	if err != nil {
		return Summary{}, err
	}
	c := NewChecker(workers)
	var readErr error
	first := make(map[string]int) // stream → line of its first event
	for {
		rec, prev, err := x.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		line, seen := first[rec.Stream]
		if !seen {
			first[rec.Stream] = x.Line()
		}
		switch {
		case prev != nil && seen:
			c.Reject(&rec, fmt.Sprintf("line %d carries a prev_hash, but the stream began on line %d", x.Line(), line))
		case prev != nil && rec.Revision == 0:
			c.Reject(&rec, "a stream's first event carries a prev_hash")
		case prev != nil:
			_ = c.Anchor(rec.Stream, rec.Revision-1, *prev)
		}
		if !c.Add(&rec) {
			break
		}
	}
	broken := c.Close()
	sum := Summary{Events: c.Events(), Streams: c.Streams(), Last: c.Last()}
	switch {
	case broken != nil:
		return sum, broken
	case readErr != nil:
		return sum, readErr
	}
	if t := x.Trailer(); t != nil && (t.Events != sum.Events || t.Streams != sum.Streams || t.LastPosition != sum.Last) {
		return sum, &IncompleteError{Reason: fmt.Sprintf("the end line counts %d events in %d streams up to position %s, the file holds %d in %d up to %s",
			t.Events, t.Streams, t.LastPosition, sum.Events, sum.Streams, sum.Last)}
	}
	return sum, nil
}

// Package logging builds Sleutel's zap logger and adapts it to Watermill.
//
// Log lines carry a fixed set of snake_case keys (STYLE §8), declared below as
// constants with typed field helpers, so every package spells them the same way.
// Besides the style guide's set there are three more, for the event bus: the
// consumer (a subscriber's durable name), the topic and the event id. Errors use
// zap's "error" key. Payloads, command bodies, codes, PINs and tokens are never
// logged.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"sleutel/domain/es"
)

// The log keys. The set is fixed: add one here, never inline.
const (
	KeyCommand       = "command"
	KeyStream        = "stream"
	KeyKeyID         = "key_id"
	KeyLockID        = "lock_id"
	KeyEventType     = "event_type"
	KeyRevision      = "revision"
	KeyPosition      = "position"
	KeyProjection    = "projection"
	KeyCorrelationID = "correlation_id"
	KeyAttempt       = "attempt"
	KeyDuration      = "duration"
	KeyConsumer      = "consumer"
	KeyTopic         = "topic"
	KeyEventID       = "event_id"
	KeyMethod        = "method"
	KeyRoute         = "route"
	KeyStatus        = "status"
	KeyActor         = "actor"
	KeyWebhookID     = "webhook_id"  // W1 deliveries
	KeyDeliveryID    = "delivery_id" // W1 deliveries
)

// Command is the command field.
func Command(name string) zap.Field { return zap.String(KeyCommand, name) }

// Stream is the stream field.
func Stream(name string) zap.Field { return zap.String(KeyStream, name) }

// WebhookID is the webhook id field.
func WebhookID(id fmt.Stringer) zap.Field { return zap.Stringer(KeyWebhookID, id) }

// DeliveryID is the webhook delivery id field.
func DeliveryID(id fmt.Stringer) zap.Field { return zap.Stringer(KeyDeliveryID, id) }

// Method is the HTTP method field.
func Method(m string) zap.Field { return zap.String(KeyMethod, m) }

// Route is the HTTP route template field (never the raw path: it may hold ids only,
// but templates keep lines comparable).
func Route(r string) zap.Field { return zap.String(KeyRoute, r) }

// Status is the HTTP status field.
func Status(code int) zap.Field { return zap.Int(KeyStatus, code) }

// Actor is the field naming who acted: "account:<id>", "device:<id>" or "system:…".
func Actor(a string) zap.Field { return zap.String(KeyActor, a) }

// KeyID is the key id field.
func KeyID(id fmt.Stringer) zap.Field { return zap.Stringer(KeyKeyID, id) }

// LockID is the lock id field.
func LockID(id fmt.Stringer) zap.Field { return zap.Stringer(KeyLockID, id) }

// EventType is the event type field.
func EventType(t string) zap.Field { return zap.String(KeyEventType, t) }

// Revision is the stream revision field.
func Revision(rev uint64) zap.Field { return zap.Uint64(KeyRevision, rev) }

// Position is the global log position field, in es.Position's text form.
func Position(p es.Position) zap.Field { return zap.Stringer(KeyPosition, p) }

// Projection is the projection name field.
func Projection(name string) zap.Field { return zap.String(KeyProjection, name) }

// CorrelationID is the correlation id field.
func CorrelationID(id string) zap.Field { return zap.String(KeyCorrelationID, id) }

// Attempt is the attempt number field, 1 for the first try.
func Attempt(n int) zap.Field { return zap.Int(KeyAttempt, n) }

// Duration is the elapsed time field.
func Duration(d time.Duration) zap.Field { return zap.Duration(KeyDuration, d) }

// Consumer is the field naming a subscriber's durable consumer.
func Consumer(name string) zap.Field { return zap.String(KeyConsumer, name) }

// Topic is the bus topic field.
func Topic(name string) zap.Field { return zap.String(KeyTopic, name) }

// EventID is the event id field.
func EventID(id fmt.Stringer) zap.Field { return zap.Stringer(KeyEventID, id) }

// Formats of Config.Format.
const (
	FormatAuto    = "auto"    // console on a terminal, JSON otherwise
	FormatConsole = "console" // human-readable
	FormatJSON    = "json"    // one JSON object a line
)

// Config chooses the logger New builds. The zero value logs at info level to
// standard error, human-readable on a terminal and JSON otherwise.
type Config struct {
	// Level is debug, info, warn or error; info when empty.
	Level string
	// Format is FormatAuto, FormatConsole or FormatJSON; FormatAuto when empty.
	Format string
	// Output receives the lines; os.Stderr when nil. FormatAuto picks the console
	// encoder only when Output is an *os.File open on a terminal.
	Output io.Writer
}

// New builds the process's logger from cfg. Times are UTC RFC 3339 (SPEC E3).
func New(cfg Config) (*zap.Logger, error) {
	level, err := ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	out := cfg.Output
	if out == nil {
		out = os.Stderr
	}
	format := cfg.Format
	if format == "" {
		format = FormatAuto
	}
	if format == FormatAuto {
		format = FormatJSON
		if isTerminal(out) {
			format = FormatConsole
		}
	}
	ec := zapcore.EncoderConfig{
		TimeKey:        "time",
		LevelKey:       "level",
		NameKey:        "logger",
		CallerKey:      "caller",
		MessageKey:     "msg",
		StacktraceKey:  "stacktrace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     utcTime,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
	}
	var enc zapcore.Encoder
	switch format {
	case FormatJSON:
		enc = zapcore.NewJSONEncoder(ec)
	case FormatConsole:
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		if !isTerminal(out) {
			ec.EncodeLevel = zapcore.CapitalLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log format %q: want %s, %s or %s", cfg.Format, FormatAuto, FormatConsole, FormatJSON)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), level)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.DPanicLevel)), nil
}

// ParseLevel reads a level name (debug, info, warn, error), case-insensitively;
// the empty string is info.
func ParseLevel(s string) (zapcore.Level, error) {
	if strings.TrimSpace(s) == "" {
		return zapcore.InfoLevel, nil
	}
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(strings.TrimSpace(s)))); err != nil {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	if l < zapcore.DebugLevel || l > zapcore.ErrorLevel {
		return l, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func utcTime(t time.Time, enc zapcore.PrimitiveArrayEncoder) {
	enc.AppendString(t.UTC().Format(time.RFC3339Nano))
}

// isTerminal reports whether w is a character device, as a terminal is.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

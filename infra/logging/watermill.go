package logging

import (
	"fmt"
	"sort"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// WatermillAdapter is a watermill.LoggerAdapter over zap. Watermill's own field
// names are mapped onto the fixed key set (handler and subscriber names → consumer,
// message_uuid → event_id, retry_no → attempt, err → error); any other field goes
// under one "watermill" object, so the top-level keys stay fixed.
//
// By default Watermill's Error, Info and Debug go to the same zap levels and Trace
// (a line per message) is dropped; WithLevels changes that.
type WatermillAdapter struct {
	l          *zap.Logger
	errorLevel zapcore.Level
	infoLevel  zapcore.Level
	debugLevel zapcore.Level
	trace      bool
}

var _ watermill.LoggerAdapter = (*WatermillAdapter)(nil)

// NewWatermillAdapter returns an adapter writing to l.
func NewWatermillAdapter(l *zap.Logger) *WatermillAdapter {
	// Skip the adapter's two frames, so the caller is Watermill's code.
	return &WatermillAdapter{l: l.WithOptions(zap.AddCallerSkip(2)), errorLevel: zapcore.ErrorLevel, infoLevel: zapcore.InfoLevel, debugLevel: zapcore.DebugLevel}
}

// WithLevels returns a copy of a that logs Watermill's Error and Info lines at the
// given zap levels. A component that reports failures itself, once, uses it to
// keep Watermill's view of the same failure from becoming a second error line.
func (a *WatermillAdapter) WithLevels(errorLevel, infoLevel zapcore.Level) *WatermillAdapter {
	c := *a
	c.errorLevel, c.infoLevel = errorLevel, infoLevel
	return &c
}

// WithTrace returns a copy of a that logs Watermill's Trace lines at debug level.
func (a *WatermillAdapter) WithTrace() *WatermillAdapter {
	c := *a
	c.trace = true
	return &c
}

// Error implements watermill.LoggerAdapter.
func (a *WatermillAdapter) Error(msg string, err error, fields watermill.LogFields) {
	a.log(a.errorLevel, msg, fields, zap.Error(err))
}

// Info implements watermill.LoggerAdapter.
func (a *WatermillAdapter) Info(msg string, fields watermill.LogFields) {
	a.log(a.infoLevel, msg, fields)
}

// Debug implements watermill.LoggerAdapter.
func (a *WatermillAdapter) Debug(msg string, fields watermill.LogFields) {
	a.log(a.debugLevel, msg, fields)
}

// Trace implements watermill.LoggerAdapter.
func (a *WatermillAdapter) Trace(msg string, fields watermill.LogFields) {
	if a.trace {
		a.log(zapcore.DebugLevel, msg, fields)
	}
}

// With implements watermill.LoggerAdapter.
func (a *WatermillAdapter) With(fields watermill.LogFields) watermill.LoggerAdapter {
	c := *a
	c.l = a.l.With(mapFields(fields)...)
	return &c
}

func (a *WatermillAdapter) log(level zapcore.Level, msg string, fields watermill.LogFields, extra ...zap.Field) {
	ce := a.l.Check(level, msg)
	if ce == nil {
		return
	}
	ce.Write(append(mapFields(fields), extra...)...)
}

// watermillKeys maps Watermill's field names onto the fixed key set.
var watermillKeys = map[string]string{
	"handler_name":    KeyConsumer,
	"subscriber_name": KeyConsumer,
	"topic":           KeyTopic,
	"message_uuid":    KeyEventID,
	"retry_no":        KeyAttempt,
	"correlation_id":  KeyCorrelationID,
	"duration":        KeyDuration,
}

func mapFields(fields watermill.LogFields) []zap.Field {
	if len(fields) == 0 {
		return nil
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out, rest []zap.Field
	for _, k := range keys {
		v := fields[k]
		if k == "err" {
			if err, ok := v.(error); ok {
				out = append(out, zap.Error(err))
				continue
			}
		}
		if mapped, ok := watermillKeys[k]; ok {
			out = append(out, field(mapped, v))
			continue
		}
		rest = append(rest, field(k, v))
	}
	if len(rest) > 0 {
		out = append(out, zap.Dict("watermill", rest...))
	}
	return out
}

func field(key string, v any) zap.Field {
	switch v := v.(type) {
	case string:
		return zap.String(key, v)
	case int:
		return zap.Int(key, v)
	case time.Duration:
		return zap.Duration(key, v)
	case error:
		return zap.NamedError(key, v)
	case fmt.Stringer:
		return zap.Stringer(key, v)
	default:
		return zap.Any(key, v)
	}
}

package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"sleutel/domain/es"
	"sleutel/infra/logging"
)

func TestNew_JSONWhenNotATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := logging.New(logging.Config{Level: "debug", Output: &buf})
	require.NoError(t, err)
	l.Debug("event projected", logging.Projection("keys_v1"), logging.Position(es.Pos(42)),
		logging.Duration(1500*time.Microsecond), logging.Attempt(1))
	require.NoError(t, l.Sync())

	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line), "one JSON object: %s", buf.String())
	require.Equal(t, "debug", line["level"])
	require.Equal(t, "event projected", line["msg"])
	require.Equal(t, "keys_v1", line["projection"])
	require.Equal(t, "42", line["position"])
	require.Equal(t, "1.5ms", line["duration"])
	ts, err := time.Parse(time.RFC3339Nano, line["time"].(string))
	require.NoError(t, err, "time is RFC 3339")
	require.Equal(t, time.UTC, ts.Location())
	require.True(t, strings.HasSuffix(line["time"].(string), "Z"), "time is UTC")
}

func TestNew_LevelsAndFormats(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := logging.New(logging.Config{Level: "WARN", Format: logging.FormatConsole, Output: &buf})
	require.NoError(t, err)
	l.Info("dropped")
	l.Warn("kept", logging.Stream("lock-1"))
	require.NotContains(t, buf.String(), "dropped")
	require.Contains(t, buf.String(), "WARN")
	require.Contains(t, buf.String(), "kept")
	require.Contains(t, buf.String(), `"stream": "lock-1"`)
	require.False(t, json.Valid(bytes.TrimSpace(buf.Bytes())), "console format is not JSON")

	for _, bad := range []logging.Config{{Level: "loud"}, {Level: "fatal"}, {Format: "xml"}} {
		_, err := logging.New(bad)
		require.Error(t, err, "New(%+v)", bad)
	}
	lvl, err := logging.ParseLevel("")
	require.NoError(t, err)
	require.Equal(t, zapcore.InfoLevel, lvl)
}

func TestWatermillAdapter_MapsFieldsOntoFixedKeys(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	a := logging.NewWatermillAdapter(zap.New(core))
	boom := errors.New("boom")
	a.With(watermill.LogFields{"handler_name": "keys_v1"}).Error("Handler returned error", boom, watermill.LogFields{
		"message_uuid": "0190a0b0-0000-7000-8000-000000000000",
		"retry_no":     2,
		"wait_time":    time.Second,
		"topic":        "lock",
	})
	a.Trace("per message", nil)
	a.WithTrace().Trace("per message, traced", nil)

	all := logs.All()
	require.Len(t, all, 2, "Trace is dropped unless asked for")
	e := all[0]
	require.Equal(t, zapcore.ErrorLevel, e.Level)
	m := e.ContextMap()
	require.Equal(t, "keys_v1", m[logging.KeyConsumer])
	require.Equal(t, "0190a0b0-0000-7000-8000-000000000000", m[logging.KeyEventID])
	require.Equal(t, int64(2), m[logging.KeyAttempt])
	require.Equal(t, "lock", m[logging.KeyTopic])
	require.Equal(t, "boom", m["error"])
	require.Equal(t, map[string]any{"wait_time": time.Second}, m["watermill"], "other fields are namespaced")
	require.Equal(t, zapcore.DebugLevel, all[1].Level)

	quiet := a.WithLevels(zapcore.WarnLevel, zapcore.DebugLevel)
	quiet.Error("Handler returned error", boom, nil)
	quiet.Info("Adding handler", nil)
	require.Equal(t, zapcore.WarnLevel, logs.All()[2].Level)
	require.Equal(t, zapcore.DebugLevel, logs.All()[3].Level)
}

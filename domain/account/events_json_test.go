package account

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"sleutel/domain/es/estest"
)

// sessionStartedSamples are payloads of SessionStarted: as the domain writes them,
// with zones and escapes, zero, out of order, incomplete, and not JSON at all.
func sessionStartedSamples() [][]byte {
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321000, time.UTC)
	var out [][]byte
	for _, e := range []SessionStarted{
		{SessionID: uuid.New(), TokenDigest: "f768de30060c9e29", ExpiresAt: at.Add(24 * time.Hour), StartedAt: at},
		{TokenDigest: "é \" \\ <&> \u2028", ExpiresAt: at.In(time.FixedZone("x", -7200)), StartedAt: at},
		{},
	} {
		raw, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	return append(out,
		[]byte(`{"token_digest":"a","session_id":"00000000-0000-0000-0000-000000000001","expires_at":"2026-01-01T00:00:00Z","started_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"session_id":"00000000-0000-0000-0000-000000000001"}`),
		[]byte(`{"session_id":"00000000-0000-0000-0000-000000000001","token_digest":1,"expires_at":"2026-01-01T00:00:00Z","started_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{}`), []byte(`[1]`), []byte(`{"session_id":`))
}

// TestSessionStartedDecodePayload: SessionStarted decodes as json.Unmarshal
// decodes it.
func TestSessionStartedDecodePayload(t *testing.T) {
	t.Parallel()
	for _, raw := range sessionStartedSamples() {
		estest.RequireDecodesAsJSON[SessionStarted](t, raw)
	}
}

// FuzzSessionStartedDecodePayload holds SessionStarted's decoders to
// json.Unmarshal.
func FuzzSessionStartedDecodePayload(f *testing.F) {
	for _, raw := range sessionStartedSamples() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { estest.RequireDecodesAsJSON[SessionStarted](t, raw) })
}

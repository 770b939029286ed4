package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain"
	"sleutel/domain/lock"
)

// FuzzDecode feeds arbitrary bodies to the strict decoder with the shapes of the
// API's requests: it accepts or answers invalid_input, never anything else (E1).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"type":"code","holder_name":"x","schedule":[{"days":["mon"],"from":"08:00","until":"17:00"}]}`,
		`{"valid_from":null,"valid_until":"2026-01-01T00:00:00Z"}`,
		`[{"id":"r","type":"tamper","occurred_at":"2026-01-01T00:00:00Z"}]`,
		`{"serial":"FX-1","name":"x","time_zone":"UTC"}`, `{`, `[]`, `null`, `{"a":1}{}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(v any) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
			r.Header.Set("Content-Type", "application/json")
			err := decode(httptest.NewRecorder(), r, v)
			if err != nil {
				require.Equal(t, domain.EInvalid, domain.ErrorCode(err), "%v", err)
				require.NotEmpty(t, domain.ErrorMessage(err))
			}
		}
		var key struct {
			Type       string        `json:"type"`
			HolderName string        `json:"holder_name"`
			AccountID  *uuid.UUID    `json:"account_id"`
			Credential string        `json:"credential"`
			ValidFrom  optionalTime  `json:"valid_from"`
			ValidUntil optionalTime  `json:"valid_until"`
			Schedule   lock.Schedule `json:"schedule"`
			MaxUses    int           `json:"max_uses"`
		}
		check(&key)
		var reports []struct {
			ID             string     `json:"id"`
			Type           string     `json:"type"`
			OccurredAt     time.Time  `json:"occurred_at"`
			KeyID          *uuid.UUID `json:"key_id"`
			BatteryPercent *int       `json:"battery_percent"`
		}
		check(&reports)
	})
}

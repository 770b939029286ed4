package account

import (
	"encoding/json"

	"sleutel/domain/es"
)

// DecodePayload implements es.PayloadDecoder without reflection: a session starts
// at every sign-in, and a replay decodes every one. FuzzSessionStartedDecodePayload
// holds it to json.Unmarshal.
func (e *SessionStarted) DecodePayload(raw []byte) error {
	var d SessionStarted
	if decodeSessionStarted(raw, &d) {
		*e = d
		return nil
	}
	return json.Unmarshal(raw, e)
}

func decodeSessionStarted(raw []byte, d *SessionStarted) bool {
	c := es.NewCanonical(raw)
	c.Need("session_id")
	d.SessionID = c.UUID()
	c.Need("token_digest")
	d.TokenDigest = c.String()
	c.Need("expires_at")
	d.ExpiresAt = c.Time()
	c.Need("started_at")
	d.StartedAt = c.Time()
	return c.End()
}

// DecodeEvent implements es.EventDecoder: what DecodePayload decodes, as an
// es.Event in one allocation.
func (SessionStarted) DecodeEvent(raw []byte) (es.Event, error) {
	var d SessionStarted
	if decodeSessionStarted(raw, &d) {
		return d, nil
	}
	return es.UnmarshalEvent[SessionStarted](raw)
}

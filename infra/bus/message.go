package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"sleutel/domain/es"
)

// Metadata keys of a delivered message. The log assigns the first six; publishing
// ignores them.
const (
	MetadataEventID       = "event_id"
	MetadataStream        = "stream"
	MetadataRevision      = "revision"
	MetadataPosition      = "position"    // es.Position's text form
	MetadataRecordedAt    = "recorded_at" // RFC 3339, UTC
	MetadataHash          = "hash"        // hex
	MetadataEventType     = "event_type"
	MetadataActor         = "actor"
	MetadataCorrelationID = middleware.CorrelationIDMetadataKey
	MetadataCausationID   = "causation_id"
	// MetadataPayloadEncoding marks, in Metadata.Extra, a payload stored wrapped
	// because it was not JSON. Delivery unwraps it and removes the mark.
	MetadataPayloadEncoding = "payload_encoding"
)

// assignedKeys are set by the log and ignored when publishing.
var assignedKeys = map[string]bool{
	MetadataEventID: true, MetadataStream: true, MetadataRevision: true,
	MetadataPosition: true, MetadataRecordedAt: true, MetadataHash: true,
}

const encodingBase64 = "base64"

// wrapped is the stored form of a payload that is not JSON.
type wrapped struct {
	Base64 []byte `json:"base64"` // encoding/json writes []byte as standard base64
}

type recordKey struct{}

// RecordFrom returns the stored record a delivered message was made from. It is in
// the context of every message a Subscriber delivers, and of contexts derived from
// it (such as the one a Router handler sees).
func RecordFrom(ctx context.Context) (es.Record, bool) {
	r, ok := ctx.Value(recordKey{}).(es.Record)
	return r, ok
}

// newMessage turns a stored record into the message a subscriber delivers, with
// ctx (carrying the record) as its context.
func newMessage(ctx context.Context, r es.Record) *message.Message {
	payload := r.Data
	unwrapped := false
	if r.Metadata.Extra[MetadataPayloadEncoding] == encodingBase64 {
		var w wrapped
		if err := json.Unmarshal(r.Data, &w); err == nil {
			payload, unwrapped = w.Base64, true
		}
		// A payload marked but not in the wrapped form was not written by this
		// package: deliver it as stored, mark included, rather than guess.
	}
	msg := message.NewMessage(r.ID.String(), payload)
	for k, v := range r.Metadata.Extra {
		if unwrapped && k == MetadataPayloadEncoding {
			continue
		}
		msg.Metadata[k] = v
	}
	msg.Metadata[MetadataEventID] = r.ID.String()
	msg.Metadata[MetadataStream] = r.Stream
	msg.Metadata[MetadataEventType] = r.Type
	msg.Metadata[MetadataRevision] = strconv.FormatUint(r.Revision, 10)
	msg.Metadata[MetadataPosition] = r.Position.String()
	msg.Metadata[MetadataRecordedAt] = r.RecordedAt.UTC().Format(time.RFC3339Nano)
	msg.Metadata[MetadataHash] = r.Hash.String()
	optional := func(k, v string) {
		if v == "" {
			delete(msg.Metadata, k) // envelope keys never come from Extra
			return
		}
		msg.Metadata[k] = v
	}
	optional(MetadataActor, r.Metadata.Actor)
	optional(MetadataCorrelationID, r.Metadata.CorrelationID)
	optional(MetadataCausationID, r.Metadata.CausationID)
	msg.SetContext(context.WithValue(ctx, recordKey{}, r))
	return msg
}

// eventData turns a message to publish into the event to append. It writes a new
// id back to msg.UUID when msg has none.
func eventData(msg *message.Message, defaultType string) (es.EventData, error) {
	var id uuid.UUID
	if msg.UUID == "" {
		id = uuid.Must(uuid.NewV7())
		msg.UUID = id.String()
	} else {
		var err error
		if id, err = uuid.Parse(msg.UUID); err != nil || id.String() != msg.UUID || id == uuid.Nil {
			return es.EventData{}, fmt.Errorf("message uuid %q: want a canonical lowercase UUID, the event id", msg.UUID)
		}
	}
	e := es.EventData{ID: id, Type: defaultType}
	for k, v := range msg.Metadata {
		switch {
		case assignedKeys[k]:
		case k == MetadataEventType:
			e.Type = v
		case k == MetadataActor:
			e.Metadata.Actor = v
		case k == MetadataCorrelationID:
			e.Metadata.CorrelationID = v
		case k == MetadataCausationID:
			e.Metadata.CausationID = v
		case k == MetadataPayloadEncoding:
			return es.EventData{}, fmt.Errorf("message %s: metadata key %q is reserved", msg.UUID, k)
		default:
			if e.Metadata.Extra == nil {
				e.Metadata.Extra = make(map[string]string, len(msg.Metadata))
			}
			e.Metadata.Extra[k] = v
		}
	}
	if err := es.ValidateEventType(e.Type); err != nil {
		return es.EventData{}, fmt.Errorf("message %s: %w", msg.UUID, err)
	}
	if utf8.Valid(msg.Payload) && json.Valid(msg.Payload) {
		e.Data = msg.Payload
		return e, nil
	}
	data, err := json.Marshal(wrapped{Base64: msg.Payload})
	if err != nil {
		return es.EventData{}, fmt.Errorf("message %s: wrap payload: %w", msg.UUID, err)
	}
	if e.Metadata.Extra == nil {
		e.Metadata.Extra = make(map[string]string, 1)
	}
	e.Metadata.Extra[MetadataPayloadEncoding] = encodingBase64
	e.Data = data
	return e, nil
}

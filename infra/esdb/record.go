package esdb

import (
	"encoding/json"
	"fmt"
	"strings"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"sleutel/domain/es"
)

// userMetadata is the JSON stored as an event's user metadata: es.Metadata, the H4
// hash, and the keys EventStoreDB's system projections read ($by_correlation_id).
type userMetadata struct {
	Actor         string            `json:"actor,omitempty"`
	CorrelationID string            `json:"correlation_id,omitempty"`
	CausationID   string            `json:"causation_id,omitempty"`
	Extra         map[string]string `json:"extra,omitempty"`
	Hash          string            `json:"hash,omitempty"`
	ESCorrelation string            `json:"$correlationId,omitempty"`
	ESCausation   string            `json:"$causationId,omitempty"`
}

func encodeMetadata(md es.Metadata, hash es.Hash) ([]byte, error) {
	b, err := json.Marshal(userMetadata{
		Actor:         md.Actor,
		CorrelationID: md.CorrelationID,
		CausationID:   md.CausationID,
		Extra:         md.Extra,
		Hash:          hash.String(),
		ESCorrelation: md.CorrelationID,
		ESCausation:   md.CausationID,
	})
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return b, nil
}

// toRecord turns a read event into a Record. Metadata that is not Sleutel's (an
// event written by someone else) leaves Metadata and Hash empty rather than failing
// the read: the H4 verifier then names that event.
func toRecord(ev *esdbclient.ResolvedEvent) (es.Record, error) {
	e := ev.OriginalEvent()
	if e == nil {
		return es.Record{}, fmt.Errorf("read: event without a record")
	}
	rec := es.Record{
		ID:         e.EventID,
		Stream:     e.StreamID,
		Type:       e.EventType,
		Revision:   e.EventNumber,
		Position:   es.Position{Commit: e.Position.Commit, Prepare: e.Position.Prepare},
		RecordedAt: e.CreatedDate.UTC(),
		Data:       e.Data,
	}
	var um userMetadata
	if len(e.UserMetadata) > 0 && json.Unmarshal(e.UserMetadata, &um) == nil {
		rec.Metadata = es.Metadata{Actor: um.Actor, CorrelationID: um.CorrelationID, CausationID: um.CausationID}
		if len(um.Extra) > 0 {
			rec.Metadata.Extra = um.Extra
		}
		if um.Hash != "" {
			_ = rec.Hash.UnmarshalText([]byte(um.Hash)) // a malformed hash stays zero and fails verification
		}
	}
	return rec, nil
}

// isSystem reports an event EventStoreDB keeps for itself: a '$' stream (statistics,
// projections' links, metadata) or a '$' type. Sleutel never writes those.
func isSystem(r es.Record) bool {
	return strings.HasPrefix(r.Stream, "$") || strings.HasPrefix(r.Type, "$")
}

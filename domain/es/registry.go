package es

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
)

// Registry maps stored event types to Go types, explicitly: no init(), no globals.
// cmd/ and tests build one and register each aggregate package's events.
type Registry struct {
	decoders map[string]func([]byte) (Event, error)
	current  map[string]bool // types new events may be written as (not upcast-only)
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{decoders: make(map[string]func([]byte) (Event, error)), current: make(map[string]bool)}
}

// Register maps typ to the value type T. It panics when typ is taken or is not T's
// own EventType: both are wiring bugs that must not reach a running system.
func Register[T Event](r *Registry, typ string) {
	var zero T
	if zero.EventType() != typ {
		panic(fmt.Sprintf("es: registering %T as %q, but its EventType is %q", zero, typ, zero.EventType()))
	}
	if err := ValidateEventType(typ); err != nil {
		panic("es: " + err.Error())
	}
	if _, dup := r.decoders[typ]; dup {
		panic(fmt.Sprintf("es: event type %q registered twice", typ))
	}
	r.current[typ] = true
	if d, ok := any(zero).(EventDecoder); ok {
		r.decoders[typ] = d.DecodeEvent
		return
	}
	if _, ok := any((*T)(nil)).(PayloadDecoder); ok {
		r.decoders[typ] = func(raw []byte) (Event, error) {
			var e T
			if err := any(&e).(PayloadDecoder).DecodePayload(raw); err != nil {
				return nil, err
			}
			return e, nil
		}
		return
	}
	r.decoders[typ] = func(raw []byte) (Event, error) {
		var e T
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, err
		}
		return e, nil
	}
}

// PayloadDecoder is implemented (on the pointer) by an event that decodes its
// stored payload itself, into a zero value, to exactly what json.Unmarshal gives
// and with its errors: only faster, for an event stored by the hundred thousand
// that every replay decodes. A test must hold it to json.Unmarshal, fuzzed.
type PayloadDecoder interface {
	DecodePayload(raw []byte) error
}

// EventDecoder is implemented (on the value) by an event that decodes its stored
// payload as its PayloadDecoder does and returns it as an Event: in one
// allocation, where going through DecodePayload takes two (the value decoded into
// escapes through the interface call, then is copied into the Event). Register
// prefers it. A test must hold it to json.Unmarshal, fuzzed.
type EventDecoder interface {
	DecodeEvent(raw []byte) (Event, error)
}

// UnmarshalEvent is json.Unmarshal's reading of raw as a T, for an EventDecoder to
// fall back on: apart, so that the value the EventDecoder decodes into stays on
// its stack.
func UnmarshalEvent[T Event](raw []byte) (Event, error) {
	var d T
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// Upcast maps an old stored type, whose payload no longer fits any struct, to the
// event the decoder returns (for example "key.issued" read into a key.IssuedV2).
// It panics when typ is already registered.
func (r *Registry) Upcast(typ string, decode func(raw []byte) (Event, error)) {
	if _, dup := r.decoders[typ]; dup {
		panic(fmt.Sprintf("es: event type %q registered twice", typ))
	}
	r.decoders[typ] = decode
}

// Known reports whether typ is registered.
func (r *Registry) Known(typ string) bool {
	_, ok := r.decoders[typ]
	return ok
}

// Types returns the number of registered types.
func (r *Registry) Types() int { return len(r.decoders) }

// UnknownTypeError reports a stored type that no one registered.
type UnknownTypeError struct{ Type string }

// Error names the type.
func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("event type %q is not registered", e.Type)
}

// Decode turns a stored payload into its event.
func (r *Registry) Decode(typ string, raw []byte) (Event, error) {
	dec, ok := r.decoders[typ]
	if !ok {
		return nil, &UnknownTypeError{Type: typ}
	}
	e, err := dec(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	return e, nil
}

// Envelope decodes rec's payload.
func (r *Registry) Envelope(rec Record) (Envelope, error) {
	e, err := r.Decode(rec.Type, rec.Data)
	if err != nil {
		return Envelope{}, fmt.Errorf("%s revision %d: %w", rec.Stream, rec.Revision, err)
	}
	return Envelope{Record: rec, Event: e}, nil
}

// Encode turns e into EventData of its registered type, with the given id and
// metadata. It refuses a type not registered with Register (unknown, or kept only to
// upcast old payloads), so nothing is stored that cannot be read.
func (r *Registry) Encode(id uuid.UUID, e Event, md Metadata) (EventData, error) {
	typ := e.EventType()
	if !r.current[typ] {
		return EventData{}, &UnknownTypeError{Type: typ}
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return EventData{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	return EventData{ID: id, Type: typ, Data: raw, Metadata: md}, nil
}

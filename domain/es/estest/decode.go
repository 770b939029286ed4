// Package estest holds what the domain's tests share about events.
package estest

import (
	"encoding/json"
	"reflect"
	"testing"

	"sleutel/domain/es"
)

// RequireDecodesAsJSON fails t unless a payload decoder that reads raw without
// reflection does exactly what json.Unmarshal does: the same value, or the same
// error, through DecodePayload and through DecodeEvent.
func RequireDecodesAsJSON[T es.EventDecoder, P interface {
	*T
	es.PayloadDecoder
}](t testing.TB, raw []byte) {
	t.Helper()
	var want T
	wantErr := json.Unmarshal(raw, &want)
	var got T
	gotErr := P(&got).DecodePayload(raw)
	var zero T
	ev, evErr := zero.DecodeEvent(raw)
	if wantErr != nil {
		if gotErr == nil || gotErr.Error() != wantErr.Error() {
			t.Fatalf("DecodePayload(%q): error %v, json.Unmarshal's %v", raw, gotErr, wantErr)
		}
		if evErr == nil || evErr.Error() != wantErr.Error() {
			t.Fatalf("DecodeEvent(%q): error %v, json.Unmarshal's %v", raw, evErr, wantErr)
		}
		return
	}
	if gotErr != nil || !reflect.DeepEqual(want, got) {
		t.Fatalf("DecodePayload(%q) = %#v, %v; json.Unmarshal: %#v", raw, got, gotErr, want)
	}
	if evErr != nil || !reflect.DeepEqual(any(want), ev) {
		t.Fatalf("DecodeEvent(%q) = %#v, %v; json.Unmarshal: %#v", raw, ev, evErr, want)
	}
}

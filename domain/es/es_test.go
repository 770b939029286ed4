package es_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

func TestPosition(t *testing.T) {
	t.Parallel()
	require.True(t, es.Pos(1).Less(es.Pos(2)))
	require.True(t, es.Position{Commit: 5, Prepare: 5}.Less(es.Position{Commit: 5, Prepare: 9}))
	require.False(t, es.Pos(3).Less(es.Pos(3)))
	require.True(t, es.Start.IsZero())
	for _, p := range []es.Position{es.Start, es.Pos(12), {Commit: 10, Prepare: 30}} {
		got, err := es.ParsePosition(p.String())
		require.NoError(t, err, "ParsePosition(%q)", p.String())
		require.Equal(t, p, got)
		b, err := json.Marshal(p)
		require.NoError(t, err)
		var back es.Position
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, p, back)
	}
	for _, bad := range []string{"", "x", "1/", "/2", "-1", "1/2/3", "18446744073709551616"} {
		_, err := es.ParsePosition(bad)
		require.Error(t, err, "ParsePosition(%q)", bad)
	}
}

func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"0", "17", "10/30", " 5 ", "1/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := es.ParsePosition(s)
		if err != nil {
			return
		}
		again, err := es.ParsePosition(p.String())
		require.NoError(t, err)
		require.Equal(t, p, again)
	})
}

func TestExpectedRevision(t *testing.T) {
	t.Parallel()
	var zero es.ExpectedRevision
	require.True(t, zero.IsNoStream(), "the zero value expects no stream")
	require.True(t, es.NoStream().Matches(0, false))
	require.False(t, es.NoStream().Matches(0, true))
	require.True(t, es.Exact(3).Matches(3, true))
	require.False(t, es.Exact(3).Matches(4, true))
	require.False(t, es.Exact(0).Matches(0, false))
	require.True(t, es.AnyRevision().Matches(9, true))
	require.True(t, es.AnyRevision().Matches(0, false))
	require.Equal(t, es.NoStream(), es.AfterVersion(0))
	require.Equal(t, es.Exact(4), es.AfterVersion(5))
	err := error(&es.ConcurrencyError{Stream: "lock-1", Expected: es.Exact(1), Actual: 2, Exists: true})
	require.ErrorIs(t, err, es.ErrConcurrency)
	require.Equal(t, "append lock-1: expected revision 1, stream is at 2", err.Error())
}

func TestStreamNames(t *testing.T) {
	t.Parallel()
	id := uuid.Must(uuid.NewV7())
	s := es.StreamName("lock", id)
	require.Equal(t, "lock", es.Category(s))
	got, ok := es.StreamID(s)
	require.True(t, ok)
	require.Equal(t, id, got)
	require.Equal(t, "plain", es.Category("plain"))
	_, ok = es.StreamID("plain")
	require.False(t, ok)
	require.NoError(t, es.ValidateStream(s))
	for _, bad := range []string{"", "$all", "a\x00b", "a\nb", string(make([]byte, 201)), "\xff"} {
		require.Error(t, es.ValidateStream(bad), "ValidateStream(%q)", bad)
	}
	require.NoError(t, es.ValidateEventType("lock.key_issued"))
	require.Error(t, es.ValidateEventType("Lock.Issued"))
}

func TestFilter(t *testing.T) {
	t.Parallel()
	require.True(t, es.Filter{}.Match("lock-1", "lock.registered"))
	byCat := es.Filter{Categories: []string{"lock"}}
	require.True(t, byCat.Match("lock-1", "x"))
	require.False(t, byCat.Match("locks-1", "x"))
	require.False(t, byCat.Match("code-1", "x"))
	byType := es.Filter{EventTypes: []string{"a.b"}}
	require.True(t, byType.Match("any-1", "a.b"))
	require.False(t, byType.Match("any-1", "a.bc"))
	require.Error(t, es.Filter{Categories: []string{"a"}, EventTypes: []string{"b"}}.Validate())
}

func record(stream string, rev uint64, pos uint64, prev es.Hash, data string) es.Record {
	r := es.Record{ID: uuid.Must(uuid.NewV7()), Stream: stream, Type: "t.happened", Revision: rev,
		Position: es.Pos(pos), RecordedAt: time.Now().UTC(), Data: []byte(data),
		Metadata: es.Metadata{Actor: "system:test", Extra: map[string]string{"b": "2", "a": "1"}}}
	r.Hash = es.HashRecord(prev, &r)
	return r
}

// TestVerifier covers SPEC H4: the chain verifies, and each kind of break is named.
func TestVerifier(t *testing.T) {
	t.Parallel()
	a0 := record("a-1", 0, 1, es.Hash{}, `{"n":0}`)
	b0 := record("b-1", 0, 2, es.Hash{}, `{"n":0}`)
	a1 := record("a-1", 1, 3, a0.Hash, `{"n":1}`)
	good := []es.Record{a0, b0, a1}

	v := es.NewVerifier()
	for i := range good {
		require.NoError(t, v.Add(&good[i]))
	}
	require.Equal(t, uint64(3), v.Events())
	require.Equal(t, 2, v.Streams())

	tampered := a1
	tampered.Data = []byte(`{"n":2}`)
	meta := a1
	meta.Metadata.Actor = "account:mallory"
	gap := record("a-1", 2, 3, a0.Hash, `{}`)
	late := b0
	late.Position = es.Pos(1)
	first := record("c-1", 1, 3, es.Hash{}, `{}`)
	cases := []struct {
		name string
		recs []es.Record
		bad  es.Record
	}{
		{"payload changed", []es.Record{a0, b0}, tampered},
		{"metadata changed", []es.Record{a0, b0}, meta},
		{"revision gap", []es.Record{a0, b0}, gap},
		{"position goes back", []es.Record{a0}, late},
		{"stream starts late", []es.Record{a0, b0}, first},
	}
	for _, c := range cases {
		v := es.NewVerifier()
		for i := range c.recs {
			require.NoError(t, v.Add(&c.recs[i]), c.name)
		}
		err := v.Add(&c.bad)
		var bl *es.BrokenLink
		require.True(t, errors.As(err, &bl), "%s: Add = %v, want *BrokenLink", c.name, err)
		require.Equal(t, c.bad.Stream, bl.Stream, c.name)
		require.Equal(t, c.bad.Revision, bl.Revision, c.name)
		require.Equal(t, c.bad.ID.String(), bl.EventID, c.name)
	}
}

func TestChainHashSeparatesFields(t *testing.T) {
	t.Parallel()
	id := uuid.New()
	h := func(stream, typ, data string, md es.Metadata) es.Hash {
		return es.ChainHash(es.Hash{}, stream, 0, id, typ, []byte(data), md)
	}
	base := h("ab", "c", "{}", es.Metadata{})
	require.Equal(t, base, h("ab", "c", "{}", es.Metadata{Extra: map[string]string{}}), "empty and nil extras hash alike")
	require.NotEqual(t, base, h("a", "bc", "{}", es.Metadata{}), "moving a byte between fields changes the hash")
	require.NotEqual(t, h("s", "t", "{}", es.Metadata{Actor: "ab"}), h("s", "t", "{}", es.Metadata{Actor: "a", CorrelationID: "b"}))
	require.NotEqual(t, h("s", "t", "{}", es.Metadata{Extra: map[string]string{"a": "b"}}), h("s", "t", "{}", es.Metadata{Extra: map[string]string{"ab": ""}}))
}

func TestHashText(t *testing.T) {
	t.Parallel()
	h := es.Hash{0xab, 0x01}
	b, err := h.MarshalText()
	require.NoError(t, err)
	var back es.Hash
	require.NoError(t, back.UnmarshalText(b))
	require.Equal(t, h, back)
	require.Error(t, back.UnmarshalText([]byte("xyz")))
	require.Error(t, back.UnmarshalText(make([]byte, 64)), "64 non-hex bytes")
}

func FuzzHashUnmarshalText(f *testing.F) {
	f.Add([]byte("ab01000000000000000000000000000000000000000000000000000000000000"))
	f.Add([]byte("zz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h es.Hash
		if h.UnmarshalText(b) != nil {
			return
		}
		out, _ := h.MarshalText()
		var again es.Hash
		require.NoError(t, again.UnmarshalText(out))
		require.Equal(t, h, again)
	})
}

type thingAdded struct {
	Name string `json:"name"`
}

func (thingAdded) EventType() string { return "thing.added" }

type thingAddedV2 struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func (thingAddedV2) EventType() string { return "thing.added.v2" }

func TestRegistry(t *testing.T) {
	t.Parallel()
	r := es.NewRegistry()
	es.Register[thingAddedV2](r, "thing.added.v2")
	r.Upcast("thing.added", func(raw []byte) (es.Event, error) {
		var old thingAdded
		if err := json.Unmarshal(raw, &old); err != nil {
			return nil, err
		}
		return thingAddedV2{Name: old.Name, Count: 1}, nil
	})
	e, err := r.Decode("thing.added", []byte(`{"name":"x"}`))
	require.NoError(t, err)
	require.Equal(t, thingAddedV2{Name: "x", Count: 1}, e, "old payloads are upcast")
	e, err = r.Decode("thing.added.v2", []byte(`{"name":"y","count":3}`))
	require.NoError(t, err)
	require.Equal(t, thingAddedV2{Name: "y", Count: 3}, e)

	_, err = r.Decode("thing.removed", []byte(`{}`))
	var unknown *es.UnknownTypeError
	require.ErrorAs(t, err, &unknown)
	_, err = r.Decode("thing.added.v2", []byte(`{`))
	require.Error(t, err)

	data, err := r.Encode(uuid.New(), thingAddedV2{Name: "z"}, es.Metadata{Actor: "system:test"})
	require.NoError(t, err)
	require.Equal(t, "thing.added.v2", data.Type)
	_, err = r.Encode(uuid.New(), thingAdded{}, es.Metadata{})
	require.ErrorAs(t, err, &unknown, "encoding an event whose type only has an upcaster")

	require.Panics(t, func() { es.Register[thingAddedV2](r, "thing.added.v2") }, "registering twice")
	require.Panics(t, func() { es.Register[thingAdded](es.NewRegistry(), "other.name") }, "a name that is not the EventType")
}

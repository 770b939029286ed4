package lock

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
	"sleutel/domain/es/estest"
)

func keyIssuedSamples() [][]byte {
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321000, time.UTC)
	until := at.In(time.FixedZone("x", -7200)).AddDate(0, 1, 0)
	var out [][]byte
	for _, e := range []KeyIssued{
		{KeyID: uuid.New(), Type: KeyTag, HolderName: "Anna", CredentialDigest: "abc", IssuedBy: uuid.New(), IssuedAt: at},
		{KeyID: uuid.New(), Type: KeyPhone, HolderName: "B <&> é \u2028", AccountID: uuid.New(), CredentialHint: "…12", ValidFrom: &at, ValidUntil: &until,
			Schedule: Schedule{{Days: []time.Weekday{time.Monday, time.Sunday}, From: 8 * 60, Until: 17 * 60}, {From: 0, Until: 1440}},
			MaxUses:  3, IssuedBy: uuid.New(), Organization: uuid.New(), IssuedAt: at, BulkID: uuid.New()},
		{HolderName: "quote \" and \\ and \n", MaxUses: -1},
		{},
	} {
		raw, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	base := `{"key_id":"00000000-0000-0000-0000-000000000001","type":"code","holder_name":"x",`
	end := `"issued_by":"00000000-0000-0000-0000-000000000002","issued_at":"2026-01-01T00:00:00Z"}`
	return append(out,
		[]byte(base+`"schedule":[{"days":["mon"],"from":"25:00","until":"08:00"}],`+end), // a window its decoder refuses
		[]byte(base+`"schedule":[{"days":["xyz"],"from":"08:00","until":"09:00"}],`+end),
		[]byte(base+`"schedule":[],`+end),
		[]byte(base+`"schedule":null,`+end),
		[]byte(base+`"schedule":[{"days":["mon"],"from":"08:00","until":"09:00"}`+end),
		[]byte(base+`"max_uses":1.5,`+end),
		[]byte(base+`"unknown":1,`+end),
		[]byte(base+`"valid_from":"not a time",`+end),
		[]byte(base+end[:len(end)-1]+`,"bulk_id":"00000000-0000-0000-0000-000000000003"}`),
		[]byte(base+end+` `),
		[]byte(`{}`),
		[]byte(`[]`),
	)
}

func TestKeyIssuedDecodePayload(t *testing.T) {
	t.Parallel()
	for _, raw := range keyIssuedSamples() {
		estest.RequireDecodesAsJSON[KeyIssued](t, raw)
	}
	r := es.NewRegistry()
	RegisterEvents(r)
	raw := keyIssuedSamples()[1]
	e, err := r.Decode(KeyIssuedType, raw)
	require.NoError(t, err)
	var want KeyIssued
	require.NoError(t, json.Unmarshal(raw, &want))
	require.Equal(t, want, e)
}

func FuzzKeyIssuedDecodePayload(f *testing.F) {
	for _, raw := range keyIssuedSamples() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { estest.RequireDecodesAsJSON[KeyIssued](t, raw) })
}

func keyChangedSamples() [][]byte {
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321000, time.UTC)
	until := at.In(time.FixedZone("x", -7200)).AddDate(0, 1, 0)
	var out [][]byte
	for _, e := range []KeyChanged{
		{KeyID: uuid.New(), HolderName: "Anna", ChangedBy: uuid.New(), ChangedAt: at},
		{KeyID: uuid.New(), HolderName: "B <&> é \u2028", ValidFrom: &at, ValidUntil: &until,
			Schedule: Schedule{{Days: []time.Weekday{time.Monday, time.Sunday}, From: 8 * 60, Until: 17 * 60}},
			MaxUses:  3, ChangedBy: uuid.New(), ChangedAt: at},
		{HolderName: "quote \" and \\ and \n", MaxUses: -1},
		{},
	} {
		raw, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	base := `{"key_id":"00000000-0000-0000-0000-000000000001","holder_name":"x",`
	end := `"changed_by":"00000000-0000-0000-0000-000000000002","changed_at":"2026-01-01T00:00:00Z"}`
	return append(out,
		[]byte(base+`"schedule":[{"days":["mon"],"from":"25:00","until":"08:00"}],`+end),
		[]byte(base+`"schedule":null,`+end),
		[]byte(base+`"max_uses":1.5,`+end),
		[]byte(base+`"unknown":1,`+end),
		[]byte(base+`"valid_until":"not a time",`+end),
		[]byte(base+end+` `),
		[]byte(`{}`),
		[]byte(`null`),
	)
}

func keyRevokedSamples() [][]byte {
	var out [][]byte
	for _, e := range []KeyRevoked{
		{KeyID: uuid.New(), Reason: ReasonRevoked, RevokedBy: uuid.New(), RevokedAt: time.Date(2026, 3, 1, 9, 8, 7, 654321000, time.UTC)},
		{Reason: "é \" \\ \u2028"},
		{},
	} {
		raw, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	return append(out,
		[]byte(`{"key_id":"00000000-0000-0000-0000-000000000001","reason":"revoked","revoked_by":"00000000-0000-0000-0000-000000000002","revoked_at":"2026-01-01T00:00:00+02:00"}`),
		[]byte(`{"reason":"revoked","key_id":"00000000-0000-0000-0000-000000000001"}`),
		[]byte(`{"key_id":"not a uuid","reason":"revoked","revoked_by":"00000000-0000-0000-0000-000000000002","revoked_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{}`),
		[]byte(`[1]`),
	)
}

func TestKeyChangedAndRevokedDecodePayload(t *testing.T) {
	t.Parallel()
	for _, raw := range keyChangedSamples() {
		estest.RequireDecodesAsJSON[KeyChanged](t, raw)
	}
	for _, raw := range keyRevokedSamples() {
		estest.RequireDecodesAsJSON[KeyRevoked](t, raw)
	}
	r := es.NewRegistry()
	RegisterEvents(r)
	raw := keyChangedSamples()[1]
	e, err := r.Decode(KeyChangedType, raw)
	require.NoError(t, err)
	var want KeyChanged
	require.NoError(t, json.Unmarshal(raw, &want))
	require.Equal(t, want, e)
}

func FuzzKeyChangedDecodePayload(f *testing.F) {
	for _, raw := range keyChangedSamples() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { estest.RequireDecodesAsJSON[KeyChanged](t, raw) })
}

func FuzzKeyRevokedDecodePayload(f *testing.F) {
	for _, raw := range keyRevokedSamples() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { estest.RequireDecodesAsJSON[KeyRevoked](t, raw) })
}

// BenchmarkKeyChangedDecodePayload compares DecodePayload with json.Unmarshal, its
// baseline, on a change of holder and validity (no schedule: that part is read by
// json.Unmarshal either way).
func BenchmarkKeyChangedDecodePayload(b *testing.B) {
	at := time.Date(2026, 3, 1, 9, 8, 7, 0, time.UTC)
	raw, err := json.Marshal(KeyChanged{KeyID: uuid.New(), HolderName: "Anna de Vries", ValidFrom: &at, MaxUses: 3, ChangedBy: uuid.New(), ChangedAt: at})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("DecodePayload", func(b *testing.B) {
		for b.Loop() {
			var e KeyChanged
			if err := e.DecodePayload(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var e KeyChanged
			if err := json.Unmarshal(raw, &e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// freezeSamples are payloads of Frozen and Unfrozen: as the domain writes them,
// with a zone, zero, with fields out of order or missing, and not JSON at all.
func freezeSamples() [][]byte {
	at := time.Date(2026, 3, 1, 9, 8, 7, 654321000, time.UTC)
	var out [][]byte
	for _, e := range []any{
		Frozen{FrozenBy: uuid.New(), FrozenAt: at}, Frozen{FrozenAt: at.In(time.FixedZone("x", 3600))}, Frozen{},
		Unfrozen{UnfrozenBy: uuid.New(), UnfrozenAt: at}, Unfrozen{},
	} {
		raw, err := json.Marshal(e)
		if err != nil {
			panic(err)
		}
		out = append(out, raw)
	}
	return append(out,
		[]byte(`{"frozen_at":"2026-01-01T00:00:00Z","frozen_by":"00000000-0000-0000-0000-000000000001"}`),
		[]byte(`{"unfrozen_by":"00000000-0000-0000-0000-000000000001"}`),
		[]byte(`{"frozen_by":"x","frozen_at":"2026-01-01T00:00:00Z"}`),
		[]byte(`{"unfrozen_by":"00000000-0000-0000-0000-000000000001","unfrozen_at":"2026-01-01T00:00:00Z","extra":1}`),
		[]byte(`[]`), []byte(`nul`))
}

// TestFreezeDecodePayload: Frozen and Unfrozen decode as json.Unmarshal decodes
// them.
func TestFreezeDecodePayload(t *testing.T) {
	t.Parallel()
	for _, raw := range freezeSamples() {
		estest.RequireDecodesAsJSON[Frozen](t, raw)
		estest.RequireDecodesAsJSON[Unfrozen](t, raw)
	}
}

// FuzzFrozenDecodePayload holds Frozen's and Unfrozen's decoders to json.Unmarshal.
func FuzzFrozenDecodePayload(f *testing.F) {
	for _, raw := range freezeSamples() {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		estest.RequireDecodesAsJSON[Frozen](t, raw)
		estest.RequireDecodesAsJSON[Unfrozen](t, raw)
	})
}

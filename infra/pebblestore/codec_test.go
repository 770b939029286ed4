package pebblestore

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/es"
)

func sampleRecord() es.Record {
	return es.Record{
		ID: uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057"), Stream: "lock-01890a5d-ac96-774b-bcce-b302099a8057",
		Type: "lock.registered", Revision: 7, Position: es.Pos(42),
		RecordedAt: time.Date(2026, 11, 22, 3, 4, 5, 6, time.UTC),
		Data:       []byte(`{"serial":"A-1"}`),
		Metadata:   es.Metadata{Actor: "account:x", CorrelationID: "c", CausationID: "d", Extra: map[string]string{"k": "v"}},
		Hash:       es.Hash{1, 2, 3},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := sampleRecord()
	got, err := decodeRecord(42, encodeRecord(nil, &r))
	require.NoError(t, err)
	require.Equal(t, r, got)
	stream, typ, err := peekStreamType(encodeRecord(nil, &r))
	require.NoError(t, err)
	require.Equal(t, r.Stream, string(stream))
	require.Equal(t, r.Type, string(typ))
}

// FuzzDecodeRecord feeds arbitrary bytes to the decoder of what the data directory
// holds: it must report corruption, never panic, and re-encode what it accepts.
func FuzzDecodeRecord(f *testing.F) {
	r := sampleRecord()
	f.Add(encodeRecord(nil, &r))
	f.Add([]byte{recordFormat})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(1, b)
		_, _, perr := peekStreamType(b)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		require.NoError(t, perr, "peek fails where decode succeeds")
		again, err := decodeRecord(1, encodeRecord(nil, &rec))
		require.NoError(t, err)
		require.Equal(t, rec.Stream, again.Stream)
		require.Equal(t, rec.Data, again.Data)
	})
}

func FuzzDecodeIndex(f *testing.F) {
	f.Add(indexValue(nil, 9, uuid.New(), es.Hash{7}))
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeIndex(b)
		if err != nil {
			require.ErrorIs(t, err, ErrCorrupt)
			return
		}
		require.Equal(t, b, indexValue(nil, e.pos, e.id, e.hash))
	})
}

package audit_test

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"sleutel/domain/audit"
	"sleutel/domain/es"
)

// export writes recs (from index from on, with the prev hashes a store knows) in f.
func export(t *testing.T, recs []es.Record, from int, f audit.Format) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := audit.NewWriter(&buf, f, audit.Header{ExportedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	prev := map[string]es.Hash{}
	for i := range recs {
		if i >= from {
			require.NoError(t, w.Write(&recs[i], prev[recs[i].Stream]))
		}
		prev[recs[i].Stream] = recs[i].Hash
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

// oddRecords are events whose payloads and metadata test the byte-for-byte rules:
// escapes, non-ASCII, line separators, a payload that is not JSON.
func oddRecords() []es.Record {
	recs := history(4, 2, 9)
	recs[0].Data = []byte(`{"name":"Zoë \u003cdoor\u003e \"x\"\\ tab\t","n":1.50,"s":"\u2028"}`)
	recs[1].Data = []byte("not json\nat all \x00\xff")
	recs[2].Metadata.Extra = map[string]string{"quote\"d": "new\nline", "é": "\u2029<&>"}
	recs[3].Data = []byte(`{ "spaced" : [ 1, 2 ] }`)
	heads := map[string]es.Hash{}
	for i := range recs {
		recs[i].Hash = es.HashRecord(heads[recs[i].Stream], &recs[i])
		heads[recs[i].Stream] = recs[i].Hash
	}
	return recs
}

// TestExport_VerifiesOnItsOwn covers SPEC H4 and H5: a whole export, and one that
// picks streams up mid-way, verify from the file alone in both formats, and every
// byte the hash covers comes back as stored.
func TestExport_VerifiesOnItsOwn(t *testing.T) {
	t.Parallel()
	recs := append(oddRecords(), history(1500, 30, 4)...)
	// Renumber positions so the two histories form one log.
	for i := range recs {
		recs[i].Position = es.Pos(uint64(i + 1))
	}
	for _, f := range []audit.Format{audit.JSONLines, audit.CSV} {
		for _, from := range []int{0, 700} {
			raw := export(t, recs, from, f)
			sum, err := audit.VerifyExport(bytes.NewReader(raw), 2)
			require.NoError(t, err, "%s from %d", f, from)
			require.EqualValues(t, len(recs)-from, sum.Events)

			x, err := audit.NewReader(bytes.NewReader(raw))
			require.NoError(t, err)
			require.Equal(t, f, x.Format())
			for i := from; ; i++ {
				got, _, err := x.Next()
				if err == io.EOF {
					require.Equal(t, len(recs), i)
					break
				}
				require.NoError(t, err)
				want := recs[i]
				require.Equal(t, string(want.Data), string(got.Data), "%s line %d", f, x.Line())
				require.Equal(t, want.Metadata, got.Metadata)
				require.True(t, want.RecordedAt.Equal(got.RecordedAt))
				require.Equal(t, want.Hash, got.Hash)
			}
		}
	}
}

// TestExport_TamperedIsCaught: a changed payload, metadata or hash, a dropped or
// moved line, a forged prev_hash and a file cut short are each caught, naming the
// event (SPEC H4).
func TestExport_TamperedIsCaught(t *testing.T) {
	t.Parallel()
	recs := history(400, 8, 5)
	lines := func(f audit.Format, from int) []string {
		return strings.SplitAfter(string(export(t, recs, from, f)), "\n")
	}
	join := func(ls []string) io.Reader { return strings.NewReader(strings.Join(ls, "")) }
	broken := func(r io.Reader) *es.BrokenLink {
		t.Helper()
		_, err := audit.VerifyExport(r, 2)
		var link *es.BrokenLink
		require.ErrorAs(t, err, &link)
		return link
	}
	for _, f := range []audit.Format{audit.JSONLines, audit.CSV} {
		ls := lines(f, 0)
		// Line i+1 holds recs[i] (line 0 is the header).
		target := recs[200]
		changed := append([]string(nil), ls...)
		changed[201] = strings.Replace(changed[201], "holder 200", "holder 999", 1)
		require.Equal(t, target.ID.String(), broken(join(changed)).EventID, "%s: a changed payload", f)

		changed = append([]string(nil), ls...)
		changed[201] = strings.Replace(changed[201], target.Metadata.CorrelationID, "c-forged", 1)
		require.Equal(t, target.ID.String(), broken(join(changed)).EventID, "%s: changed metadata", f)

		dropped := append(append([]string(nil), ls[:201]...), ls[202:]...)
		link := broken(join(dropped))
		next := nextInStream(recs, 200)
		require.Equal(t, recs[next].ID.String(), link.EventID, "%s: a dropped line breaks the next event of its stream", f)
		require.Contains(t, link.Reason, "revision follows")

		moved := append([]string(nil), ls...)
		moved[150], moved[151] = moved[151], moved[150]
		require.Contains(t, broken(join(moved)).Reason, "does not follow", "%s: lines out of order", f)
	}

	// A partial export: its anchors are checked against the chain.
	ls := lines(audit.JSONLines, 300)
	var first audit.Event
	require.NoError(t, json.Unmarshal([]byte(ls[1]), &first))
	require.NotNil(t, first.PrevHash, "the first exported event of a stream picked up mid-way carries prev_hash")
	at := strings.Index(ls[1], `"prev_hash":"`) + len(`"prev_hash":"`)
	digit := "0"
	if ls[1][at] == '0' {
		digit = "1"
	}
	forged := append([]string(nil), ls...)
	forged[1] = ls[1][:at] + digit + ls[1][at+1:]
	require.Equal(t, first.ID.String(), broken(join(forged)).EventID, "a forged prev_hash")

	// Cut short: the end line is missing, or counts otherwise.
	whole := lines(audit.JSONLines, 0)
	_, err := audit.VerifyExport(join(whole[:len(whole)-3]), 2)
	var inc *audit.IncompleteError
	require.ErrorAs(t, err, &inc)
	require.Contains(t, inc.Error(), "cut short")
	lastDropped := append(append([]string(nil), whole[:len(whole)-3]...), whole[len(whole)-2:]...)
	_, err = audit.VerifyExport(join(lastDropped), 2)
	require.ErrorAs(t, err, &inc, "dropping the last event is told by the end line")
}

func nextInStream(recs []es.Record, i int) int {
	for j := i + 1; j < len(recs); j++ {
		if recs[j].Stream == recs[i].Stream {
			return j
		}
	}
	return -1
}

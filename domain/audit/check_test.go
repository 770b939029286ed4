package audit_test

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"sleutel/domain/audit"
	"sleutel/domain/es"
)

// history returns n chained records over streams streams, as a store writes them.
func history(n, streams int, seed uint64) []es.Record {
	rnd := rand.New(rand.NewPCG(seed, 1))
	names := make([]string, streams)
	for i := range names {
		names[i] = es.StreamName("lock", uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%d-%d", seed, i)))
	}
	heads := map[string]es.Hash{}
	revs := map[string]uint64{}
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	out := make([]es.Record, n)
	for i := range out {
		s := names[rnd.IntN(streams)]
		r := es.Record{ID: uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "%d-%d", seed, i)), Stream: s, Type: "lock.key_issued",
			Revision: revs[s], Position: es.Pos(uint64(i + 1)), RecordedAt: t0.Add(time.Duration(i) * time.Second),
			Data:     fmt.Appendf(nil, `{"key_id":"%s","holder_name":"holder %d"}`, uuid.NewSHA1(uuid.NameSpaceDNS, fmt.Appendf(nil, "%d", i)), i),
			Metadata: es.Metadata{Actor: "account:" + uuid.NewSHA1(uuid.NameSpaceX500, []byte(s)).String(), CorrelationID: fmt.Sprint("c", i)}}
		if i%7 == 0 {
			r.Metadata.Extra = map[string]string{"b": "2", "a": fmt.Sprint(i)}
		}
		if _, ok := revs[s]; ok {
			r.Revision = revs[s] + 1
		}
		r.Hash = es.HashRecord(heads[s], &r)
		heads[s], revs[s] = r.Hash, r.Revision
		out[i] = r
	}
	return out
}

func verifySequential(recs []es.Record) error {
	v := es.NewVerifier()
	for i := range recs {
		if err := v.Add(&recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// verifyPages feeds recs to a Checker in pages of random sizes through AddPage,
// each page a copy that is wiped once released (as a caller reusing its pages
// would), and checks every page is released.
func verifyPages(recs []es.Record, workers int, seed uint64) error {
	rnd := rand.New(rand.NewPCG(seed, 3))
	c := audit.NewChecker(workers)
	var released sync.WaitGroup
	for len(recs) > 0 {
		n := min(len(recs), 1+rnd.IntN(3*audit.CheckerBatch))
		page, arena := inArena(recs[:n])
		recs = recs[n:]
		released.Add(1)
		ok := c.AddPage(page, func() {
			for i := range arena { // as a reader that reuses its buffers would
				arena[i] = '#'
			}
			clear(page)
			released.Done()
		})
		if !ok {
			break
		}
	}
	err := c.Close()
	released.Wait()
	return err
}

// inArena copies recs with their streams, types and payloads in one buffer, as
// pebblestore.ReadAllInto gives them: the strings share the buffer.
func inArena(recs []es.Record) ([]es.Record, []byte) {
	size := 0
	for _, r := range recs {
		size += len(r.Stream) + len(r.Type) + len(r.Data)
	}
	arena := make([]byte, 0, size)
	keep := func(b string) string {
		start := len(arena)
		arena = append(arena, b...)
		return unsafe.String(unsafe.SliceData(arena[start:]), len(b))
	}
	page := append([]es.Record(nil), recs...)
	for i := range page {
		page[i].Stream, page[i].Type = keep(page[i].Stream), keep(page[i].Type)
		start := len(arena)
		arena = append(arena, page[i].Data...)
		page[i].Data = arena[start:len(arena):len(arena)]
	}
	return page, arena
}

func verifyParallel(recs []es.Record, workers int) error {
	c := audit.NewChecker(workers)
	for i := range recs {
		if !c.Add(&recs[i]) {
			break
		}
	}
	return c.Close()
}

// TestChecker_NamesTheSameLinkAsTheVerifier: on intact histories and on histories
// broken in every way, at random places, the parallel Checker names exactly the
// link es.Verifier names (SPEC H4), with 1 and 4 workers.
func TestChecker_NamesTheSameLinkAsTheVerifier(t *testing.T) {
	t.Parallel()
	intact := history(3*audit.CheckerBatch+17, 40, 1)
	require.NoError(t, verifySequential(intact))
	require.NoError(t, verifyParallel(intact, 4))
	require.NoError(t, verifyPages(intact, 2, 9))

	type breakage func(recs []es.Record, i int) []es.Record
	kinds := map[string]breakage{
		"payload": func(recs []es.Record, i int) []es.Record {
			recs[i].Data = append([]byte(nil), recs[i].Data...)
			recs[i].Data[3] ^= 1
			return recs
		},
		"metadata": func(recs []es.Record, i int) []es.Record { recs[i].Metadata.Actor += "x"; return recs },
		"hash":     func(recs []es.Record, i int) []es.Record { recs[i].Hash[0] ^= 1; return recs },
		"dropped":  func(recs []es.Record, i int) []es.Record { return append(recs[:i:i], recs[i+1:]...) },
		"swapped": func(recs []es.Record, i int) []es.Record {
			recs[i], recs[i+1] = recs[i+1], recs[i]
			return recs
		},
		"position": func(recs []es.Record, i int) []es.Record { recs[i].Position = recs[i-1].Position; return recs },
	}
	// A stream's last event dropped leaves a shorter chain that is whole: no later
	// link names it (a per-stream chain cannot see its own tail cut off), so a drop
	// is placed where a later event of the same stream follows.
	hasLater := func(recs []es.Record, i int) bool {
		for _, r := range recs[i+1:] {
			if r.Stream == recs[i].Stream {
				return true
			}
		}
		return false
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	for _, name := range slices.Sorted(maps.Keys(kinds)) {
		brk := kinds[name]
		for range 6 {
			recs := append([]es.Record(nil), intact...)
			i := 1 + rnd.IntN(len(recs)-2)
			for name == "dropped" && !hasLater(recs, i) {
				i = 1 + rnd.IntN(len(recs)-2)
			}
			recs = brk(recs, i)
			want := verifySequential(recs)
			var link *es.BrokenLink
			require.ErrorAs(t, want, &link, "%s at %d", name, i)
			for _, workers := range []int{1, 4} {
				got := verifyParallel(recs, workers)
				require.Equal(t, want, got, "%s at %d with %d workers", name, i, workers)
				require.Equal(t, want, verifyPages(recs, workers, uint64(i)), "%s at %d with %d workers, by pages", name, i, workers)
			}
		}
	}
}

// TestChecker_TwoBreaksNamesTheFirst: a payload changed late and a hash changed
// early are both found; the earlier one in log order is named, whichever worker
// finds its own first.
func TestChecker_TwoBreaksNamesTheFirst(t *testing.T) {
	t.Parallel()
	recs := history(5*audit.CheckerBatch, 10, 2)
	recs[4*audit.CheckerBatch+3].Hash[5] ^= 0x10
	recs[audit.CheckerBatch+100].Metadata.CorrelationID = "forged"
	err := verifyParallel(recs, 3)
	var link *es.BrokenLink
	require.ErrorAs(t, err, &link)
	require.Equal(t, recs[audit.CheckerBatch+100].ID.String(), link.EventID)
	require.Equal(t, verifySequential(recs), err)
}

// TestChecker_Anchor: a stream picked up mid-way verifies from its anchor, and an
// anchor for another revision, or a wrong prev hash, is a broken link.
func TestChecker_Anchor(t *testing.T) {
	t.Parallel()
	recs := history(200, 3, 3)
	var tail []es.Record
	anchors := map[string]es.Hash{}
	prevOf := map[string]es.Hash{}
	for i, r := range recs {
		if i >= 100 {
			if _, ok := anchors[r.Stream]; !ok {
				anchors[r.Stream] = prevOf[r.Stream]
			}
			tail = append(tail, r)
		}
		prevOf[r.Stream] = r.Hash
	}
	check := func(anchor func(c *audit.Checker, stream string, first es.Record)) error {
		c := audit.NewChecker(2)
		seen := map[string]bool{}
		for i := range tail {
			if !seen[tail[i].Stream] {
				seen[tail[i].Stream] = true
				anchor(c, tail[i].Stream, tail[i])
			}
			c.Add(&tail[i])
		}
		return c.Close()
	}
	require.NoError(t, check(func(c *audit.Checker, s string, first es.Record) {
		require.NoError(t, c.Anchor(s, first.Revision-1, anchors[s]))
	}))
	err := check(func(c *audit.Checker, s string, first es.Record) { _ = c.Anchor(s, first.Revision-1, es.Hash{1}) })
	var link *es.BrokenLink
	require.ErrorAs(t, err, &link)
	require.Equal(t, tail[0].ID.String(), link.EventID, "the first event does not follow a forged anchor")
	err = check(func(c *audit.Checker, s string, first es.Record) { _ = c.Anchor(s, first.Revision, anchors[s]) })
	require.ErrorAs(t, err, &link)
	require.Contains(t, link.Reason, "anchored for revision")
	require.True(t, errors.As(check(func(*audit.Checker, string, es.Record) {}), &link), "without anchors a mid-way stream is broken")
}

// TestChecker_Dense: on a store that writes every position (the embedded one), a
// dropped event is named even when it was its stream's last, which no hash chain
// can show; the first event missing is named too; an intact history verifies.
func TestChecker_Dense(t *testing.T) {
	t.Parallel()
	intact := history(audit.CheckerBatch+50, 30, 4)
	dense := func(recs []es.Record) error {
		c := audit.NewChecker(2)
		c.RequireDense()
		for i := range recs {
			if !c.Add(&recs[i]) {
				break
			}
		}
		return c.Close()
	}
	require.NoError(t, dense(intact))
	last := -1 // the last event of some stream, not the log's last
	for i := len(intact) - 2; i > 0 && last < 0; i-- {
		later := false
		for _, r := range intact[i+1:] {
			later = later || r.Stream == intact[i].Stream
		}
		if !later {
			last = i
		}
	}
	require.Positive(t, last)
	cut := append(append([]es.Record(nil), intact[:last]...), intact[last+1:]...)
	require.NoError(t, verifySequential(cut), "the chains alone cannot see it")
	var link *es.BrokenLink
	require.ErrorAs(t, dense(cut), &link)
	require.Equal(t, intact[last+1].ID.String(), link.EventID, "named at the event after the gap")
	require.Contains(t, link.Reason, "missing")
	require.ErrorAs(t, dense(intact[1:]), &link)
	require.Equal(t, intact[1].ID.String(), link.EventID)
	require.Contains(t, link.Reason, "the log starts at position 2")
}

package lock

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// referenceJSON is what encoding/json writes for w's windowJSON, the form the API
// and the events give a window (L9), or an error for a weekday out of range.
func referenceJSON(w Window) ([]byte, error) {
	clock := func(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }
	j := windowJSON{From: clock(w.From), Until: clock(w.Until)}
	for _, d := range w.Days {
		if d < time.Sunday || d > time.Saturday {
			return nil, fmt.Errorf("weekday %d out of range", d)
		}
		j.Days = append(j.Days, dayNames[d])
	}
	return json.Marshal(j)
}

// TestWindowAppendJSON: Window.AppendJSON (and MarshalJSON, through it) writes
// what encoding/json writes for the window's windowJSON (L9's schedules, in key
// rows), out-of-range clocks included, fails on a weekday out of range, and
// UnmarshalJSON reads back what it wrote.
func TestWindowAppendJSON(t *testing.T) {
	windows := []Window{
		{},
		{Days: []time.Weekday{}},
		{Days: []time.Weekday{time.Sunday, time.Saturday}, From: 0, Until: 1440},
		{Days: []time.Weekday{time.Wednesday}, From: 9*60 + 5, Until: 17*60 + 30},
		{From: -5, Until: -61},
		{From: 6001, Until: 599},
		{From: -600, Until: 9},
	}
	for _, w := range windows {
		want, err := referenceJSON(w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.AppendJSON([]byte("x"))
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("%+v: AppendJSON = %s, %v; encoding/json = %s", w, got, err, want)
		}
		if w.From < 0 || w.From > 1440 || w.Until < 0 || w.Until > 1440 {
			continue // not a clock UnmarshalJSON takes
		}
		var back Window
		if err := json.Unmarshal(got[1:], &back); err != nil || back.From != w.From || back.Until != w.Until || len(back.Days) != len(w.Days) {
			t.Errorf("%s read back as %+v, %v", got[1:], back, err)
		}
	}
	bad := Window{Days: []time.Weekday{time.Monday, 7}}
	if _, err := json.Marshal(bad); err == nil {
		t.Fatal("MarshalJSON took weekday 7")
	}
	if got, err := bad.AppendJSON([]byte("x")); err == nil || string(got) != "x" {
		t.Errorf("AppendJSON of weekday 7 = %q, %v; want an error and nothing appended", got, err)
	}
}

// FuzzWindowAppendJSON holds AppendJSON to encoding/json for any clock and days.
func FuzzWindowAppendJSON(f *testing.F) {
	f.Add(0, 1440, uint8(0x7f))
	f.Add(-5, 99999, uint8(0x81))
	f.Fuzz(func(t *testing.T, from, until int, days uint8) {
		w := Window{From: from, Until: until}
		for d := range 8 {
			if days&(1<<d) != 0 {
				w.Days = append(w.Days, time.Weekday(d))
			}
		}
		want, werr := referenceJSON(w)
		got, gerr := w.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) || werr == nil && string(got) != string(want) {
			t.Fatalf("%+v: AppendJSON = %s, %v; encoding/json = %s, %v", w, got, gerr, want, werr)
		}
	})
}

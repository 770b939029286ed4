package lock

import (
	"encoding/json"
	"testing"
	"time"
)

// TestWindowAppendJSON: Window.AppendJSON writes what json.Marshal writes for a
// window (L9's schedules, in key rows), out-of-range clocks included, and fails
// where it fails.
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
		want, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		got, err := w.AppendJSON([]byte("x"))
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("%+v: AppendJSON = %s, %v; json.Marshal = %s", w, got, err, want)
		}
	}
	bad := Window{Days: []time.Weekday{time.Monday, 7}}
	if _, err := json.Marshal(bad); err == nil {
		t.Fatal("json.Marshal took weekday 7")
	}
	if got, err := bad.AppendJSON([]byte("x")); err == nil || string(got) != "x" {
		t.Errorf("AppendJSON of weekday 7 = %q, %v; want an error and nothing appended", got, err)
	}
}

// FuzzWindowAppendJSON holds AppendJSON to json.Marshal for any clock and days.
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
		want, werr := json.Marshal(w)
		got, gerr := w.AppendJSON(nil)
		if (werr == nil) != (gerr == nil) || werr == nil && string(got) != string(want) {
			t.Fatalf("%+v: AppendJSON = %s, %v; json.Marshal = %s, %v", w, got, gerr, want, werr)
		}
	})
}

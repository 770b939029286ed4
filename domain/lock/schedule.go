package lock

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sleutel/domain"
)

// Schedule is a key's weekly schedule (L9): windows of days and times in the lock's
// time zone. An empty schedule allows every moment.
type Schedule []Window

// Window allows the key on the given weekdays between From (inclusive) and Until
// (exclusive), in minutes after local midnight. Until may be 1440 (24:00).
type Window struct {
	Days  []time.Weekday
	From  int
	Until int
}

// MaxWindows bounds a schedule.
const MaxWindows = 28

// Validate checks every window.
func (s Schedule) Validate() error {
	if len(s) > MaxWindows {
		return domain.Errorf(domain.EInvalid, "a schedule has at most %d windows", MaxWindows)
	}
	for i, w := range s {
		if len(w.Days) == 0 || len(w.Days) > 7 {
			return domain.Errorf(domain.EInvalid, "schedule window %d needs 1 to 7 days", i)
		}
		for _, d := range w.Days {
			if d < time.Sunday || d > time.Saturday {
				return domain.Errorf(domain.EInvalid, "schedule window %d has an unknown day", i)
			}
		}
		if w.From < 0 || w.Until > 24*60 || w.From >= w.Until {
			return domain.Errorf(domain.EInvalid, "schedule window %d must run from 00:00 up to 24:00, start before it ends", i)
		}
	}
	return nil
}

// Allows reports whether t falls in a window, read in loc.
func (s Schedule) Allows(t time.Time, loc *time.Location) bool {
	if len(s) == 0 {
		return true
	}
	local := t.In(loc)
	day := local.Weekday()
	minute := local.Hour()*60 + local.Minute()
	for _, w := range s {
		if minute < w.From || minute >= w.Until {
			continue
		}
		for _, d := range w.Days {
			if d == day {
				return true
			}
		}
	}
	return false
}

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// windowJSON is a window as the API and the events write it:
// {"days": ["mon","tue"], "from": "08:00", "until": "17:30"}.
type windowJSON struct {
	Days  []string `json:"days"`
	From  string   `json:"from"`
	Until string   `json:"until"`
}

// MarshalJSON writes the window with day names and HH:MM times (windowJSON).
func (w Window) MarshalJSON() ([]byte, error) { return w.AppendJSON(nil) }

// UnmarshalJSON reads what MarshalJSON writes; an *domain.Error (EInvalid) on bad input.
func (w *Window) UnmarshalJSON(b []byte) error {
	var j windowJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return domain.Errorf(domain.EInvalid, "a schedule window is {\"days\": [\"mon\", …], \"from\": \"HH:MM\", \"until\": \"HH:MM\"}")
	}
	var out Window
	for _, name := range j.Days {
		found := false
		for d, n := range dayNames {
			if strings.EqualFold(name, n) {
				out.Days = append(out.Days, time.Weekday(d))
				found = true
			}
		}
		if !found {
			return domain.Errorf(domain.EInvalid, "unknown day %q: use sun, mon, tue, wed, thu, fri, sat", name)
		}
	}
	var err error
	if out.From, err = parseClock(j.From); err != nil {
		return err
	}
	if out.Until, err = parseClock(j.Until); err != nil {
		return err
	}
	*w = out
	return nil
}

// AppendJSON appends the window as encoding/json writes its windowJSON, or fails
// on a weekday out of range; without reflection (a replay writes the key rows of
// a million events, and json.Marshal of their schedules was two thirds of the
// time their rows took to encode). TestWindowAppendJSON and FuzzWindowAppendJSON
// hold it to encoding/json.
func (w Window) AppendJSON(b []byte) ([]byte, error) {
	for _, d := range w.Days {
		if d < time.Sunday || d > time.Saturday {
			return b, fmt.Errorf("weekday %d out of range", d)
		}
	}
	b = append(b, `{"days":`...)
	if len(w.Days) == 0 {
		b = append(b, "null"...) // windowJSON's Days, left nil
	} else {
		for i, d := range w.Days {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, dayNames[d]...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	b = append(b, `,"from":"`...)
	b = appendClock(b, w.From)
	b = append(b, `","until":"`...)
	b = appendClock(b, w.Until)
	return append(b, `"}`...), nil
}

// appendClock appends min as hours and minutes, each of two digits at least
// ("%02d:%02d").
func appendClock(b []byte, min int) []byte {
	pad := func(b []byte, v int) []byte {
		if v >= 0 && v < 10 {
			return append(b, '0', byte('0'+v))
		}
		return strconv.AppendInt(b, int64(v), 10) // two characters at least, with a sign
	}
	b = pad(b, min/60)
	b = append(b, ':')
	return pad(b, min%60)
}

func parseClock(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, domain.Errorf(domain.EInvalid, "time %q: want HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, domain.Errorf(domain.EInvalid, "time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return h*60 + m, nil
}

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a bar on a terminal, at most ten times a second; on anything else
// it draws nothing, so logs and pipes stay clean.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	total uint64
	start time.Time
	drawn time.Time
	read  uint64
	on    bool
}

func newProgress(w io.Writer, total uint64) *progress {
	f, ok := w.(*os.File)
	on := false
	if ok {
		st, err := f.Stat()
		on = err == nil && st.Mode()&os.ModeCharDevice != 0
	}
	return &progress{w: w, total: total, start: time.Now(), on: on}
}

// set records read events, the log being read up to position at (of total).
func (p *progress) set(read, at uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on || time.Since(p.drawn) < 100*time.Millisecond {
		return
	}
	p.drawn = time.Now()
	p.read = read
	p.draw(at)
}

func (p *progress) draw(at uint64) {
	const width = 40
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(at)/float64(p.total), 1)
	}
	full := int(frac * width)
	rate := float64(p.read) / max(time.Since(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %d events, %.0f/s ", strings.Repeat("=", full), strings.Repeat(" ", width-full), frac*100, p.read, rate)
}

// done draws the finished bar and ends its line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.on {
		return
	}
	p.draw(p.total)
	fmt.Fprintln(p.w)
}

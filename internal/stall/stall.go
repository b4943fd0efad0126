// Package stall measures how long this process was not running: stopped
// (SIGSTOP), starved of CPU by a busy machine, or paused by the Go runtime.
// A failure detector subtracts that time from a peer's silence, so that its
// own stall does not read as the peer's death, while a peer that dies when
// the process runs normally is still noticed on time.
//
// A Meter wakes every period and records each wake-up that came later than
// period + threshold as a stall of the lateness; a stall still in progress
// (the meter has not woken yet) counts too, so a detector that runs first
// after a stall already sees it.
package stall

import (
	"sync"
	"time"
)

// Defaults of Start: a wake-up every 50 ms; lateness up to 50 ms is noise.
const (
	DefaultPeriod    = 50 * time.Millisecond
	DefaultThreshold = 50 * time.Millisecond
	// keep is how many recent stalls a Meter remembers.
	keep = 512
)

type event struct {
	end time.Time
	dur time.Duration
}

// Meter measures the process's stalls. A nil *Meter measures nothing (Since
// is always 0). Its methods are safe for concurrent use.
type Meter struct {
	period, threshold time.Duration
	now               func() time.Time

	mu     sync.Mutex
	last   time.Time // the meter's last wake-up
	events []event   // ring of the newest stalls, oldest first
	total  time.Duration
	done   chan struct{}
	once   sync.Once
}

// Start starts a meter that wakes every period (DefaultPeriod if 0) and
// counts lateness beyond threshold (DefaultThreshold if 0). Stop it when done.
func Start(period, threshold time.Duration) *Meter {
	m := newMeter(period, threshold, time.Now)
	go m.run()
	return m
}

func newMeter(period, threshold time.Duration, now func() time.Time) *Meter {
	if period <= 0 {
		period = DefaultPeriod
	}
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	return &Meter{period: period, threshold: threshold, now: now, last: now(), done: make(chan struct{})}
}

// Stop ends the meter's goroutine; Since keeps answering from what was seen.
func (m *Meter) Stop() {
	if m != nil {
		m.once.Do(func() { close(m.done) })
	}
}

func (m *Meter) run() {
	t := time.NewTimer(m.period)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
			m.wake(m.now())
			t.Reset(m.period)
		}
	}
}

// wake records a wake-up at now: a late one is a stall of its lateness.
func (m *Meter) wake(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if late := now.Sub(m.last) - m.period; late > m.threshold {
		m.total += late
		m.events = append(m.events, event{end: now, dur: late})
		if len(m.events) > keep {
			m.events = m.events[len(m.events)-keep:]
		}
	}
	m.last = now
}

// Since is how long the process was stalled between t and now, including a
// stall in progress that the meter has not recorded yet.
func (m *Meter) Since(t time.Time) time.Duration {
	if m == nil {
		return 0
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum time.Duration
	for i := len(m.events) - 1; i >= 0; i-- {
		e := m.events[i]
		if !e.end.After(t) {
			break
		}
		sum += overlap(e.end.Add(-e.dur), e.end, t)
	}
	if late := now.Sub(m.last) - m.period; late > m.threshold {
		sum += overlap(now.Add(-late), now, t)
	}
	return sum
}

// Total is all the stalled time the meter has recorded since it started.
func (m *Meter) Total() time.Duration {
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// overlap is the part of [from, to] after t.
func overlap(from, to, t time.Time) time.Duration {
	if from.Before(t) {
		from = t
	}
	if to.Before(from) {
		return 0
	}
	return to.Sub(from)
}

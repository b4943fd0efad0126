// Package timer schedules messages to an actor from outside it. An actor
// owns its Timers and cancels them when it stops or restarts, so a new
// incarnation never inherits the ticks of the old one. Every timer of an
// actor system lives on the system's one Wheel: no goroutine or runtime
// timer per actor.
package timer

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Timers is the set of timers of one actor incarnation. Use it only from
// that actor's Receive.
type Timers struct {
	wheel *Wheel
	self  *actor.PID
	// live are the timers not known to be over; over ones are dropped
	// when the list has doubled since it was last compacted.
	live    []*entry
	compact int
}

// New returns the timers of the actor behind ctx.
func New(ctx actor.Context) *Timers {
	return &Timers{wheel: For(ctx.ActorSystem()), self: ctx.Self()}
}

// After sends msg to the actor once, after d. The returned func cancels it.
func (t *Timers) After(d time.Duration, msg any) func() {
	return t.add(t.wheel.schedule(t.self, msg, d, false))
}

// Every sends msg to the actor every d until cancelled.
func (t *Timers) Every(d time.Duration, msg any) func() {
	return t.add(t.wheel.schedule(t.self, msg, d, true))
}

func (t *Timers) add(e *entry) func() {
	// Compacted early (at 2 past twice what was kept): a monitor adds a
	// timeout every second, and each over entry kept here (at 10,000
	// charge points, 6 MB of entries in all) waits for the next compaction.
	if len(t.live) >= 2*t.compact+2 {
		keep := t.live[:0]
		for _, x := range t.live {
			if !x.over.Load() {
				keep = append(keep, x)
			}
		}
		clear(t.live[len(keep):])
		t.live, t.compact = keep, len(keep)
	}
	t.live = append(t.live, e)
	return func() { e.over.Store(true) }
}

// Len is how many of the actor's timers may still fire.
func (t *Timers) Len() int {
	n := 0
	for _, e := range t.live {
		if !e.over.Load() {
			n++
		}
	}
	return n
}

// StopAll cancels every timer; call it on *actor.Stopping and *actor.Restarting.
func (t *Timers) StopAll() {
	if t == nil {
		return
	}
	for _, e := range t.live {
		e.over.Store(true)
	}
	clear(t.live)
	t.live, t.compact = t.live[:0], 0
}

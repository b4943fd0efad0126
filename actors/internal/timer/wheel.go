package timer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Resolution is how often the wheel turns: a timer fires at most this much
// after it is due, never before.
const Resolution = 10 * time.Millisecond

// slots is the wheel's size: one turn is slots x Resolution (5.12 s); a
// timer due later waits in its slot for its turn.
const slots = 512

// registryID names the wheel in its actor system's process registry, which
// is how every actor of one system finds the same wheel without a global.
const registryID = "$timer-wheel"

// Wheel is the one clock of an actor system: a hashed timing wheel turned by
// one goroutine, which sends every due message to its actor. Ten thousand
// actors with a timer each cost ten thousand small entries, not ten thousand
// goroutines and runtime timers. The goroutine runs only while there are
// timers, and ends with the actor system.
type Wheel struct {
	sys   *actor.ActorSystem
	start time.Time

	mu      sync.Mutex
	slots   [slots][]*entry
	turned  int64 // the last tick whose slot was handled
	count   int   // entries in the slots
	running bool
	due     []*entry // reused by turn
}

// entry is one timer: msg goes to pid at tick due, and every ticks after
// that when every > 0.
type entry struct {
	pid   *actor.PID
	msg   any
	due   int64
	every int64
	// over: cancelled, or a one-shot timer that fired. The wheel drops it
	// at its slot, as it drops one whose incarnation stopped its timers.
	over atomic.Bool
	inc  *incarnation
}

func (e *entry) cancel() { e.over.Store(true) }

// ended says whether the timer will not fire again.
func (e *entry) ended() bool { return e.over.Load() || (e.inc != nil && e.inc.stopped.Load()) }

// For returns the wheel of sys, made on first use.
func For(sys *actor.ActorSystem) *Wheel {
	for {
		if p, ok := sys.ProcessRegistry.GetLocal(registryID); ok {
			if wp, ok := p.(wheelProcess); ok {
				return wp.w
			}
		}
		w := &Wheel{sys: sys, start: time.Now()}
		if _, added := sys.ProcessRegistry.Add(wheelProcess{w}, registryID); added {
			return w
		}
		// Another actor made it first: take that one.
	}
}

// wheelProcess keeps the wheel in the process registry; it takes no messages.
type wheelProcess struct{ w *Wheel }

func (wheelProcess) SendUserMessage(*actor.PID, any)   {}
func (wheelProcess) SendSystemMessage(*actor.PID, any) {}
func (wheelProcess) Stop(*actor.PID)                   {}

// ticks is how many whole ticks d lasts, rounded up, at least one.
func ticks(d time.Duration) int64 {
	return max(int64((d+Resolution-1)/Resolution), 1)
}

// schedule adds a timer that fires after d, then every d when repeat.
func (w *Wheel) schedule(pid *actor.PID, msg any, d time.Duration, repeat bool, inc *incarnation) *entry {
	e := &entry{pid: pid, msg: msg, inc: inc}
	if repeat {
		e.every = ticks(d)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// Counted from the real clock, so that a wheel running late never fires early.
	now := max(int64(time.Since(w.start)/Resolution), w.turned)
	e.due = now + ticks(d)
	w.slots[e.due%slots] = append(w.slots[e.due%slots], e)
	w.count++
	if !w.running {
		w.running = true
		go w.run()
	}
	return e
}

// run turns the wheel until it is empty or the actor system stops.
func (w *Wheel) run() {
	tk := time.NewTicker(Resolution)
	defer tk.Stop()
	for range tk.C {
		if w.sys.IsStopped() || !w.turn(int64(time.Since(w.start)/Resolution)) {
			return
		}
	}
}

// turn handles every slot up to tick now and sends what is due. It says
// false (and the goroutine ends) once no timer is left.
func (w *Wheel) turn(now int64) bool {
	w.mu.Lock()
	for w.turned < now {
		w.turned++
		w.handleSlot(w.turned, now)
	}
	due := w.due
	w.due = nil
	more := w.count > 0
	if !more {
		w.running = false
	}
	w.mu.Unlock()
	for _, e := range due {
		w.sys.Root.Send(e.pid, e.msg)
	}
	clear(due)
	w.mu.Lock()
	if w.due == nil {
		w.due = due[:0]
	}
	w.mu.Unlock()
	return more
}

// handleSlot collects the entries of tick t that are due, puts repeating
// ones back at their next tick and keeps the rest for a later turn. A wheel
// that runs late (now > t) fires a repeating timer once, as a ticker drops
// the ticks it missed.
func (w *Wheel) handleSlot(t, now int64) {
	s := t % slots
	old := w.slots[s]
	keep := old[:0]
	for _, e := range old {
		switch {
		case e.ended():
			w.count--
		case e.due > t:
			keep = append(keep, e)
		case e.every == 0:
			e.over.Store(true)
			w.count--
			w.due = append(w.due, e)
		default:
			w.due = append(w.due, e)
			e.due = t + e.every
			if e.due <= now {
				e.due = now + e.every
			}
			if n := e.due % slots; n == s {
				keep = append(keep, e)
			} else {
				w.slots[n] = append(w.slots[n], e)
			}
		}
	}
	clear(old[len(keep):])
	// A slot keeps room for what it holds, not for the most it ever held:
	// every charge point's timer due in one tick would otherwise leave
	// each slot it passes through an array of that size for good.
	switch {
	case len(keep) == 0:
		w.slots[s] = nil
	case cap(keep) > 4*len(keep)+16:
		w.slots[s] = append([]*entry(nil), keep...)
	default:
		w.slots[s] = keep
	}
}

// Len is how many timers the wheel holds (cancelled ones until their slot
// comes round).
func (w *Wheel) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

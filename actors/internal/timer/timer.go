// Package timer schedules messages to an actor from outside it. An actor
// owns its Timers and cancels them when it stops or restarts, so a new
// incarnation never inherits the ticks of the old one.
package timer

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Timers is the set of timers of one actor incarnation. Use it only from
// that actor's Receive.
type Timers struct {
	sys    *actor.ActorSystem
	self   *actor.PID
	stops  map[int]func()
	nextID int
}

// New returns the timers of the actor behind ctx.
func New(ctx actor.Context) *Timers {
	return &Timers{sys: ctx.ActorSystem(), self: ctx.Self(), stops: map[int]func(){}}
}

// After sends msg to the actor once, after d. The returned func cancels it.
func (t *Timers) After(d time.Duration, msg any) func() {
	sys, self := t.sys, t.self
	tm := time.AfterFunc(d, func() { sys.Root.Send(self, msg) })
	return t.add(func() { tm.Stop() })
}

// Every sends msg to the actor every d until cancelled.
func (t *Timers) Every(d time.Duration, msg any) func() {
	sys, self := t.sys, t.self
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				sys.Root.Send(self, msg)
			}
		}
	}()
	return t.add(func() { close(done) })
}

func (t *Timers) add(stop func()) func() {
	id := t.nextID
	t.nextID++
	t.stops[id] = stop
	return func() {
		if s, ok := t.stops[id]; ok {
			delete(t.stops, id)
			s()
		}
	}
}

// StopAll cancels every timer; call it on *actor.Stopping and *actor.Restarting.
func (t *Timers) StopAll() {
	if t == nil {
		return
	}
	for id, s := range t.stops {
		delete(t.stops, id)
		s()
	}
}

package timer

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

type ping struct{}

// After a restart, the old incarnation's timers must not tick into the new one.
func TestStopAllEndsEveryTimer(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	var pings atomic.Int32
	var timers *Timers
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			timers = New(c)
			timers.Every(5*time.Millisecond, &ping{})
			timers.After(5*time.Millisecond, &ping{})
			cancel := timers.After(time.Millisecond, &ping{})
			cancel() // never fires
			cancel() // harmless twice
		case *ping:
			pings.Add(1)
		case string:
			timers.StopAll()
			c.Respond(true)
		}
	}))
	deadline := time.Now().Add(5 * time.Second)
	for pings.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("timers did not tick")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := sys.Root.RequestFuture(pid, "stop", time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	n := pings.Load()
	time.Sleep(50 * time.Millisecond) // ten periods: a live ticker would have ticked
	if got := pings.Load(); got > n+1 {
		t.Fatalf("%d pings after StopAll", got-n)
	}
}

// One shared wheel serves every actor: a thousand actors with a repeating
// and a one-shot timer each add no goroutine per actor.
func TestThousandActorsShareOneClock(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	before := runtime.NumGoroutine()
	var ticks atomic.Int32
	const n = 1000
	for i := 0; i < n; i++ {
		sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			switch c.Message().(type) {
			case *actor.Started:
				tm := New(c)
				tm.Every(20*time.Millisecond, &ping{})
				tm.After(time.Hour, &ping{})
			case *ping:
				ticks.Add(1)
			}
		}))
	}
	waitFor(t, func() bool { return ticks.Load() >= 2*n }, "every actor ticked twice")
	// protoactor runs a mailbox on a goroutine only while it has messages:
	// some may be busy at one moment, but between ticks hardly any.
	waitFor(t, func() bool { return runtime.NumGoroutine()-before < n/10 }, "fewer than one goroutine per ten actors")
	if w := For(sys); w.Len() != 2*n {
		t.Fatalf("the wheel holds %d timers, want %d", w.Len(), 2*n)
	}
}

// A one-shot timer that fired leaves the wheel: an actor that schedules one
// after another (a health check's timeout every second) adds nothing that stays.
func TestFiredTimersAreForgotten(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	var fired atomic.Int32
	sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			c.Send(c.Self(), New(c))
		case *Timers:
			if fired.Add(1) <= 300 {
				m.After(time.Millisecond, m)
			}
		}
	}))
	waitFor(t, func() bool { return fired.Load() > 300 }, "300 timeouts fired")
	waitFor(t, func() bool { return For(sys).Len() == 0 }, "the wheel let go of every fired timer")
}

// A timer never fires before it is due, and not much after.
func TestAfterFiresOnTime(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	got := make(chan time.Duration, 1)
	start := time.Now()
	sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			New(c).After(30*time.Millisecond, &ping{})
		case *ping:
			got <- time.Since(start)
		}
	}))
	select {
	case d := <-got:
		if d < 30*time.Millisecond {
			t.Fatalf("fired after %v, before it was due (30 ms)", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("never fired")
	}
}

// The wheel's goroutine ends with its actor system.
func TestWheelStopsWithTheSystem(t *testing.T) {
	before := runtime.NumGoroutine()
	sys := actor.NewActorSystem()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*actor.Started); ok {
			New(c).Every(time.Millisecond, &ping{})
		}
	}))
	waitFor(t, func() bool { return For(sys).Len() == 1 }, "the timer is on the wheel")
	sys.Root.Stop(pid)
	sys.Shutdown()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before }, "the wheel's goroutine ended")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

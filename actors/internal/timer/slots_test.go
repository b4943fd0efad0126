package timer

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A burst of timers due in one tick (every charge point's timeout after a
// start) must not leave its slot holding an array that size for good: a
// slot keeps room for what it holds, not for the most it ever held.
func TestSlotsLetGoOfABurst(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	w := For(sys)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	const burst = 10_000
	for i := 0; i < burst; i++ {
		w.schedule(pid, &ping{}, 20*time.Millisecond, false, nil)
	}
	waitFor(t, func() bool { return w.Len() == 0 }, "the burst fired")
	w.mu.Lock()
	room := 0
	for _, s := range w.slots {
		room += cap(s)
	}
	w.mu.Unlock()
	if room > burst/10 {
		t.Fatalf("the slots keep room for %d timers after a burst of %d fired and none is left", room, burst)
	}
}

// A monitor cancels the timeout of every answered check: the wheel must let
// go of the cancelled ones at their slot, and the actor keeps none of them
// (its Timers hold no list), so nothing over is held for long.
func TestCancelledTimersAreDroppedSoon(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	tm := &Timers{wheel: For(sys), self: pid}
	tm.Every(time.Hour, &ping{})
	for i := 0; i < 100; i++ {
		cancel := tm.After(20*time.Millisecond, &ping{})
		cancel()
	}
	waitFor(t, func() bool { return tm.wheel.Len() == 1 }, "the wheel dropped the 100 cancelled timers and kept the live one")
	tm.StopAll()
	waitFor(t, func() bool { return tm.wheel.Len() == 1 }, "still one (an hour's timer waits for its slot)")
	tm.wheel.mu.Lock()
	defer tm.wheel.mu.Unlock()
	for _, slot := range tm.wheel.slots {
		for _, e := range slot {
			if !e.ended() {
				t.Fatal("the timer of an incarnation that stopped its timers would still fire")
			}
		}
	}
}

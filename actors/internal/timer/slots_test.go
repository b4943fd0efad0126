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
		w.schedule(pid, &ping{}, 20*time.Millisecond, false)
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

// A monitor cancels the timeout of every answered check: its Timers must
// not keep the cancelled ones around (each is an entry held until the
// next compaction, for every charge point).
func TestCancelledTimersAreDroppedSoon(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	tm := &Timers{wheel: For(sys), self: pid}
	tm.Every(time.Hour, &ping{})
	most := 0
	for i := 0; i < 100; i++ {
		cancel := tm.After(time.Hour, &ping{})
		most = max(most, len(tm.live))
		cancel()
	}
	if most > 4 {
		t.Fatalf("the timers of one actor held up to %d entries for 2 live timers", most)
	}
	tm.StopAll()
}

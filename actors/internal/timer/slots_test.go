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

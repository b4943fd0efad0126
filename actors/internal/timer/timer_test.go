package timer

import (
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

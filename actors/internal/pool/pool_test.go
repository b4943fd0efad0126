package pool

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A burst to thousands of actors runs on the pool's few workers, and each
// actor still gets its messages one at a time, in order.
func TestBurstRunsOnFewWorkersInOrder(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	p := For(sys)
	if For(sys) != p {
		t.Fatal("a second pool for the same system")
	}
	const actors, msgs = 2000, 20
	var done, disorder, peak atomic.Int32
	before := runtime.NumGoroutine()
	pids := make([]*actor.PID, actors)
	for i := range pids {
		next := 0
		pids[i] = sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			n, ok := c.Message().(int)
			if !ok {
				return
			}
			if n != next {
				disorder.Add(1)
			}
			next = n + 1
			if g := int32(runtime.NumGoroutine() - before); g > peak.Load() {
				peak.Store(g)
			}
			if n == msgs-1 {
				done.Add(1)
			}
		}, actor.WithDispatcher(p)))
	}
	for n := 0; n < msgs; n++ {
		for _, pid := range pids {
			sys.Root.Send(pid, n)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for done.Load() < actors {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d actors got all their messages", done.Load(), actors)
		}
		time.Sleep(time.Millisecond)
	}
	if disorder.Load() != 0 {
		t.Errorf("%d messages out of order", disorder.Load())
	}
	if limit := int32(4*runtime.GOMAXPROCS(0) + 10); peak.Load() > limit {
		t.Errorf("%d goroutines more at the peak, want at most %d (the workers and a few of protoactor's)", peak.Load(), limit)
	}
	if w := p.Workers(); w < 1 || w > 4*runtime.GOMAXPROCS(0) {
		t.Errorf("%d workers", w)
	}
}

// The workers end with their actor system.
func TestWorkersStopWithTheSystem(t *testing.T) {
	sys := actor.NewActorSystem()
	p := For(sys)
	got := make(chan struct{})
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(string); ok {
			close(got)
		}
	}, actor.WithDispatcher(p)))
	sys.Root.Send(pid, "hi")
	<-got
	sys.Shutdown()
	deadline := time.Now().Add(10 * time.Second)
	for p.Workers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers still run after the system stopped", p.Workers())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

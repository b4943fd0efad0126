package network_test

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
)

// TestIdleCost prints what an idle charge point costs per second of a
// running network (health checks every 1 s, liveness to Central every 1 s,
// no driver): allocations, bytes allocated and CPU time, per charge point
// per second, over EVSIM_IDLE_SECONDS (default 10) once all N
// (EVSIM_IDLE_COST=N) are registered. The floor is measured in the same
// run: N bare protoactor actors that each make one request a second to a
// peer that answers (a timer tick, a request, an answer: 3 messages).
// Allocations are the figure to compare: the machine's load moves the CPU
// time, not them. It runs only when EVSIM_IDLE_COST is set (`make bench`
// budget section); it asserts nothing about the figures.
func TestIdleCost(t *testing.T) {
	n := sizeFromEnv(t, "EVSIM_IDLE_COST", "what N idle charge points cost per second")
	secs, _ := strconv.Atoi(os.Getenv("EVSIM_IDLE_SECONDS"))
	if secs <= 0 {
		secs = 10
	}
	window := time.Duration(secs) * time.Second
	h := testkit.New(t)
	fmt.Printf("idle: %d of each, %v, per one per second: %10s %10s %10s\n", n, window, "allocs", "bytes", "cpu_us")

	peer := h.Sys.Root.Spawn(actor.PropsFromFunc(budgetPeer))
	bare := make([]*actor.PID, n)
	for i := range bare {
		bare[i] = h.Sys.Root.Spawn(actor.PropsFromFunc(pinger(peer)))
	}
	idleRow(fmt.Sprintf("bare protoactor actor, 1 request/s (%d msgs)", 3), n, window)
	for _, pid := range bare {
		h.Sys.Root.Stop(pid)
	}

	cfg := network.Config{
		Bridge: h.Bridge, Store: h.Store, Logger: h.Logger, Stats: h.Stats,
		TelemetryInterval: time.Second, HealthInterval: time.Second, HealthTimeout: 500 * time.Millisecond,
		LivenessTimeout: 3 * time.Second, DriverPause: 4 * time.Second, SupplyDuration: 10 * time.Second,
		StartTimeout: 10 * time.Second, ReplyTimeout: 10 * time.Second, Budget: supervision.DefaultBudget(),
	}
	for i := 0; i < n; i++ {
		cfg.ChargePoints = append(cfg.ChargePoints, network.ChargePoint{ID: budgetCP(i)})
	}
	net, err := network.Start(h.Sys, cfg)
	must(t, err)
	defer shutdown(t, h, net)
	testkit.Eventually(t, 5*time.Minute, func() bool { return h.Stats.RegisteredCPs.Load() >= int64(n) },
		func() string { return fmt.Sprintf("%d of %d registered", h.Stats.RegisteredCPs.Load(), n) })
	time.Sleep(2 * time.Second) // a measuring window apart from the start, not synchronisation
	idleRow("idle charge point (engine, monitor, Central)", n, window)
	if f := h.Stats.Faults.Load(); f > 0 {
		fmt.Printf("idle: (%d faults during the run: the machine was starved)\n", f)
	}
}

// idleRow prints what the process allocated and spent over window, per one
// of n per second.
func idleRow(name string, n int, window time.Duration) {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0 := processCPU()
	time.Sleep(window) // the measuring window, not synchronisation
	c1 := processCPU()
	runtime.ReadMemStats(&m1)
	per := float64(n) * window.Seconds()
	fmt.Printf("idle: %-54s %10.1f %10.0f %10.2f\n", name, float64(m1.Mallocs-m0.Mallocs)/per,
		float64(m1.TotalAlloc-m0.TotalAlloc)/per, float64((c1-c0).Microseconds())/per)
}

// pinger asks peer for an answer once a second.
func pinger(peer *actor.PID) actor.ReceiveFunc {
	var tm *timer.Timers
	return func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			tm = timer.New(c)
			tm.Every(time.Second, &struct{}{})
		case *actor.Stopping:
			tm.StopAll()
		case *struct{}:
			c.Request(peer, "ping")
		}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

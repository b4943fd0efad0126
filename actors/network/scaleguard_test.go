package network_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/messages"
)

// TestScaleGuard keeps the costs that grow with the network in check, with
// no timing asserts: a running charge point owns no goroutine (its timers
// live on the system's wheel, its mailboxes run on the system's pool), and
// it keeps a few timers, not one per health check. The benchmark (make
// bench) proves the figures; this guards the shape.
func TestScaleGuard(t *testing.T) {
	h := testkit.New(t)
	const first, more = 100, 200
	cfg := fastConfig(h)
	for i := 0; i < first; i++ {
		id := fmt.Sprintf("CP-%03d", i+1)
		cfg.ChargePoints = append(cfg.ChargePoints, network.ChargePoint{ID: id})
		cfg.Drivers = append(cfg.Drivers, network.Driver{ID: fmt.Sprintf("driver-%03d", i+1), Requests: []string{id}})
	}
	n := startNet(t, h, cfg)
	for _, d := range n.DriverIDs() {
		testkit.Eventually(t, 2*time.Minute, func() bool { return driverStatus(h, n, d).Finished }, func() string { return d + " stuck" })
	}
	// The process's fixed goroutines (consumers, producer, broker) run by now.
	before := settledGoroutines(t, 10_000)
	for i := first; i < first+more; i++ {
		id := fmt.Sprintf("CP-%03d", i+1)
		if err := n.AddChargePoint(ctx2s(t), network.ChargePoint{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for i := first; i < first+more; i++ {
		waitState(t, n, fmt.Sprintf("CP-%03d", i+1), messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	// Mailboxes run on the pool's workers, which may have grown by a few.
	settledGoroutines(t, before+more/10)
	// Engine: telemetry + resubscribe; monitor: one tick for health and
	// liveness, and the pending check's timeout (an answered one is
	// cancelled); a driver: resubscribe, a reply timeout and its next
	// request; Central's own. Fired timeouts are gone. (With a tick each
	// for health and liveness it was about 1,400 here, now about 1,100.)
	// Under load monitors may miss an answer for a moment and keep a retry
	// timer or two more: the count must settle below the bound (a timer
	// per health check, or one never cancelled, would not).
	want := 3*(first+more) + 4*first
	testkit.Eventually(t, 30*time.Second, func() bool { return timer.For(h.Sys).Len() <= want }, func() string {
		return fmt.Sprintf("the wheel holds %d timers for %d charge points and %d drivers, want at most %d",
			timer.For(h.Sys).Len(), first+more, first, want)
	})
}

// settledGoroutines waits until the process runs fewer than limit
// goroutines (some may come and go at any moment) and returns how many.
func settledGoroutines(t *testing.T, limit int) int {
	t.Helper()
	var g int
	testkit.Eventually(t, 30*time.Second, func() bool { g = runtime.NumGoroutine(); return g < limit },
		func() string { return fmt.Sprintf("%d goroutines, want fewer than %d", g, limit) })
	return g
}

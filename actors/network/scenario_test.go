package network_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/messages"
)

// The monitor's first missed health check is a fault at once (Python
// defect 1: ten misses, 20-50 s); Central's own timer, not a panel read,
// turns a silent monitor DISCONNECTED (Python defect 7).
func TestFaultAndDisconnectAreNoticedAtOnce(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)

	start := time.Now()
	if err := n.SetKO("CP-001", true); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Central", "CP-001 FAULT")) == 1 },
		func() string { return "no FAULT" })
	if took, limit := time.Since(start), 2*cfg.HealthInterval+300*time.Millisecond; took > limit {
		t.Errorf("FAULT after %v, want within %v (one health check)", took, limit)
	}

	start = time.Now()
	if err := n.StopMonitor(ctx2s(t), "CP-002"); err != nil {
		t.Fatal(err)
	}
	// no panel call while waiting: only the log tells
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Central", "CP-002 DISCONNECTED")) == 1 },
		func() string { return "no DISCONNECTED line" })
	if took, limit := time.Since(start), cfg.LivenessTimeout+250*time.Millisecond; took > limit {
		t.Errorf("DISCONNECTED after %v, want within %v", took, limit)
	}
}

// A driver whose requests go unanswered says so in one clear line per
// outage (not per request) and moves on: no stack trace, no hang. When
// Central answers again, it says so once.
func TestDriverWhenCentralIsNotAnswering(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.ReplyTimeout = 300 * time.Millisecond
	n := startNet(t, h, cfg)
	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001", "CP-001"}})
	var s *driver.Status
	testkit.Eventually(t, wait, func() bool {
		s = driverStatus(h, n, "alice")
		return s.Finished
	}, func() string { return fmt.Sprintf("alice did not get through her list: %+v", s) })
	if s.Timeouts != 2 || len(h.Logs.Lines("WARN", "Driver alice", "Cannot reach Central")) != 1 {
		t.Errorf("want two timeouts and one WARN about Central, got %d timeouts: %q", s.Timeouts, h.Logs.Lines("WARN", "Driver alice"))
	}
	if strings.Contains(h.Logs.String(), "goroutine ") {
		t.Error("a stack trace in the logs")
	}
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	// The requests she gave up on are still in Kafka: Central answers them
	// as expired instead of starting supplies nobody waits for.
	testkit.Eventually(t, wait, func() bool {
		expired := 0
		for _, d := range h.Rec.Get().Denied {
			if d.GetDriverId() == "alice" && strings.Contains(d.GetDetail(), "expired") {
				expired++
			}
		}
		return expired == 2
	}, func() string { return "stale requests not denied as expired" })
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("INFO", "Driver alice", "Central answers again")) == 1 },
		func() string { return "alice did not say once that Central answers again" })
	if len(h.Rec.Get().Started) != 0 {
		t.Error("a supply started for a request its driver had given up on")
	}
}

// The default scenario at test speed with trouble: 5 charge points, 3
// drivers with request lists, an engine crash, a KO, a stop and a monitor
// lost and back, all while supplies run. At the end the invariant holds and
// every driver got through its list.
func TestBusyNetworkWithTrouble(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002", "CP-003", "CP-004", "CP-005")
	cfg.SupplyDuration = 300 * time.Millisecond
	cfg.DriverPause = 50 * time.Millisecond
	cfg.Drivers = []network.Driver{
		{ID: "alice", Requests: []string{"CP-001", "CP-002", "CP-003", "CP-004", "CP-005", "CP-001"}},
		{ID: "bob", Requests: []string{"CP-002", "CP-003", "CP-004", "CP-005", "CP-001", "CP-002"}},
		{ID: "charlie", Requests: []string{"CP-003", "CP-004", "CP-005", "CP-001", "CP-002", "CP-009"}},
	}
	n := startNet(t, h, cfg)
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Tickets) >= 2 }, func() string { return "no supplies" })
	if err := n.CrashEngine("CP-001", "chaos"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Panel().KnockOut(ctx2s(t), "CP-004", true); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Panel().Stop(ctx2s(t), "CP-002"); err != nil {
		t.Fatal(err)
	}
	if err := n.StopMonitor(ctx2s(t), "CP-003"); err != nil {
		t.Fatal(err)
	}
	// a new charge point joins without disturbing the rest
	if err := n.AddChargePoint(ctx2s(t), network.ChargePoint{ID: "CP-006", Location: "Elda"}); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Denied) >= 3 }, func() string { return "no denials during trouble" })
	if _, err := n.Panel().KnockOut(ctx2s(t), "CP-004", false); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Panel().Resume(ctx2s(t), "CP-002"); err != nil {
		t.Fatal(err)
	}
	if err := n.StartMonitor(ctx2s(t), "CP-003"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"alice", "bob", "charlie"} {
		var s *driver.Status
		testkit.Eventually(t, 30*time.Second, func() bool {
			s = driverStatus(h, n, d)
			return s.Finished
		}, func() string { return fmt.Sprintf("%s stuck: %+v", d, s) })
		if len(s.Tickets)+len(s.Denials)+s.Timeouts != 6 {
			t.Errorf("%s: %d tickets + %d denials + %d timeouts for 6 requests", d, len(s.Tickets), len(s.Denials), s.Timeouts)
		}
	}
	for _, id := range n.ChargePointIDs() {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	snap, err := n.Panel().Snapshot(ctx2s(t))
	if err != nil {
		t.Fatal(err)
	}
	if snap.Totals.Tickets != h.Stats.Tickets.Load() || snap.Totals.Tickets < 5 {
		t.Errorf("panel totals %+v vs stats %d", snap.Totals, h.Stats.Tickets.Load())
	}
	if h.Stats.RegisteredCPs.Load() != 6 || h.Stats.StartupMS() == 0 {
		t.Errorf("registered %d, startup %d ms", h.Stats.RegisteredCPs.Load(), h.Stats.StartupMS())
	}
	if errs := h.Logs.Lines("| ERROR |"); len(errs) != 0 {
		t.Errorf("ERROR lines in a run with expected trouble: %q", errs)
	}
}

// TestScale measures a bigger network at the rules' default timings; it
// runs only when EVSIM_SCALE names the number of charge points (drivers:
// the same number, each with 3 requests).
func TestScale(t *testing.T) {
	nCP, _ := strconv.Atoi(os.Getenv("EVSIM_SCALE"))
	if nCP == 0 {
		t.Skip("set EVSIM_SCALE=N to run")
	}
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.TelemetryInterval, cfg.HealthInterval, cfg.HealthTimeout = time.Second, time.Second, 500*time.Millisecond
	cfg.LivenessTimeout, cfg.SupplyDuration, cfg.DriverPause = 3*time.Second, 3*time.Second, time.Second
	for i := 0; i < nCP; i++ {
		id := fmt.Sprintf("CP-%03d", i+1)
		cfg.ChargePoints = append(cfg.ChargePoints, network.ChargePoint{ID: id})
		cfg.Drivers = append(cfg.Drivers, network.Driver{ID: fmt.Sprintf("driver-%03d", i+1),
			Requests: []string{id, fmt.Sprintf("CP-%03d", (i+1)%nCP+1), id}})
	}
	start := time.Now()
	n := startNet(t, h, cfg)
	t.Logf("%d charge points ACTIVATED after %v", nCP, time.Since(start))
	start = time.Now()
	for _, d := range n.DriverIDs() {
		testkit.Eventually(t, 2*time.Minute, func() bool { return driverStatus(h, n, d).Finished }, func() string { return d + " stuck" })
	}
	t.Logf("%d drivers x 3 requests done after %v: %d tickets, %d denials, %d Kafka records out",
		nCP, time.Since(start), h.Stats.Tickets.Load(), h.Stats.Denials.Load(), h.Stats.KafkaRecordsOut.Load())
}

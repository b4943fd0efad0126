package network_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// longSupply starts a network whose supplies last a minute, with alice
// supplying at the first charge point.
func longSupply(t *testing.T, h *testkit.Harness, ids ...string) *network.Network {
	t.Helper()
	cfg := fastConfig(h)
	cfg.ChargePoints = cps(ids...)
	cfg.SupplyDuration = time.Minute
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{ids[0]}}}
	n := startNet(t, h, cfg)
	waitState(t, n, ids[0], messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	// let some energy flow
	testkit.Eventually(t, wait, func() bool {
		v := view(t, n, ids[0])
		return v.Session != nil && v.Session.KWh > 0
	}, func() string { return "no energy delivered" })
	return n
}

func events(t *testing.T, n *network.Network, kind, cpID string) []central.Event {
	t.Helper()
	all, err := n.Panel().Events(ctx2s(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []central.Event
	for _, e := range all {
		if e.Kind == kind && (cpID == "" || e.CPID == cpID) {
			out = append(out, e)
		}
	}
	return out
}

func noticeFor(h *testkit.Harness, driver, substr string) bool {
	for _, nt := range h.Rec.Get().Notices[driver] {
		if strings.Contains(nt.GetText(), substr) {
			return true
		}
	}
	return false
}

// Engine panics mid-supply: FAULT at once (its supervisor tells the
// monitor), the driver is told, the restarted engine reports the supply it
// interrupted from its journal, the driver gets a ticket for what was
// delivered, and the charge point serves again (Python defects 1 and 3).
func TestEnginePanicMidSupply(t *testing.T) {
	h := testkit.New(t)
	n := longSupply(t, h, "CP-001")
	if err := n.CrashEngine("CP-001", "test panic"); err != nil {
		t.Fatal(err)
	}
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetReason() != messages.EndReason_END_REASON_ENGINE_RESTART || tk.GetKwh() <= 0 {
		t.Fatalf("ticket %v: want ENGINE_RESTART with the energy delivered", tk)
	}
	testkit.Eventually(t, wait, func() bool { return len(events(t, n, central.EventFault, "CP-001")) > 0 },
		func() string { return "Central never showed CP-001 FAULT" })
	testkit.Eventually(t, wait, func() bool {
		return noticeFor(h, "alice", "CP-001 FAULT: engine crashed (crash requested: test panic)")
	},
		func() string { return "alice was not told of the fault" })
	if got := h.Logs.Lines("WARN", "Central", "CP-001 FAULT"); len(got) != 1 {
		t.Errorf("one crash, want one FAULT line at Central, got %q", got)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	warns := h.Logs.Lines("WARN", "Engine CP-001 failed: crash requested: test panic; restarting in")
	if len(warns) != 1 || !strings.Contains(warns[0], "(attempt 1 of 3)") {
		t.Errorf("want one WARN line with the attempt, got %q", warns)
	}
	if got := h.Logs.Lines("WARN", "goroutine"); len(got) != 0 {
		t.Errorf("a stack reached WARN: %q", got)
	}
	if len(h.Logs.Lines("DEBUG", "Stack of the failure of Engine CP-001")) != 1 {
		t.Error("the stack is not at DEBUG")
	}
	if h.Stats.Restarts.Load() != 1 {
		t.Errorf("restarts counted %d", h.Stats.Restarts.Load())
	}
	// the charge point is not locked to alice: bob can charge there
	addDriver(t, n, network.Driver{ID: "bob", Requests: []string{"CP-001"}})
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
}

// An engine that keeps failing is stopped for good after its budget; its
// charge point shows FAULT and the supply it held is closed from its journal.
func TestEngineBeyondBudgetIsFaultAndTicketed(t *testing.T) {
	h := testkit.New(t)
	n := longSupply(t, h, "CP-001")
	for i := 1; i <= 4; i++ {
		if err := n.CrashEngine("CP-001", "again"); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Engine CP-001 failed")) >= i },
			func() string { return "engine did not fail" })
		if i < 4 {
			// wait for the restart before the next crash
			testkit.Eventually(t, wait, func() bool {
				return len(h.Logs.Lines("Engine CP-001", "Engine ready")) >= i+1
			}, func() string { return "engine not restarted" })
		}
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Engine CP-001 failed", "stopped for good")) == 1 },
		func() string { return "not stopped for good" })
	tks := waitTickets(t, h, n, "alice", 1)
	if len(tks) != 1 || tks[0].GetReason() != messages.EndReason_END_REASON_ENGINE_RESTART {
		// the first crash already closed the supply (ENGINE_RESTART); later crashes have nothing to close
		t.Fatalf("tickets %v", tks)
	}
	testkit.Eventually(t, wait, func() bool {
		v := view(t, n, "CP-001")
		return v.State == messages.ChargePointState_CHARGE_POINT_STATE_FAULT
	}, func() string { return "not FAULT after the engine was stopped" })
	// the repair: a new engine, and the charge point serves again
	if err := n.StartEngine(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Monitor dies mid-supply: DISCONNECTED within the liveness timeout, the
// supply ends with a ticket, nothing new is accepted until it is back.
func TestMonitorStoppedMidSupply(t *testing.T) {
	h := testkit.New(t)
	n := longSupply(t, h, "CP-001")
	if err := n.StopMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED)
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetReason() != messages.EndReason_END_REASON_MONITOR_LOST || tk.GetKwh() <= 0 {
		t.Fatalf("ticket %v: want MONITOR_LOST with energy", tk)
	}
	if got := h.Logs.Lines("WARN", "Central", "CP-001 DISCONNECTED: no sign of life from its monitor"); len(got) != 1 {
		t.Errorf("want one DISCONNECTED line, got %q", got)
	}
	request(h, "r9", "bob", "CP-001")
	wantDenied(t, h, "r9", messages.DenyReason_DENY_REASON_DISCONNECTED)
	if err := n.StartMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Driver dies mid-supply: the supply goes on; when the driver comes back it
// sees the ticket of the supply that went on without it.
func TestDriverRestartedMidSupplySeesTicket(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.SupplyDuration = time.Second
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	if err := n.StopDriver(ctx2s(t), "alice"); err != nil {
		t.Fatal(err)
	}
	// the supply goes on and ends while alice is away
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Tickets) == 1 }, func() string { return "no ticket" })
	if err := n.StartDriver(ctx2s(t), "alice"); err != nil {
		t.Fatal(err)
	}
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("ticket %v", tk)
	}
	if s := driverStatus(h, n, "alice"); !s.Finished {
		t.Errorf("alice did not finish after seeing her ticket: %+v", s)
	}
	if got := h.Logs.Lines("Driver alice", "Back; waiting for the result of my request for CP-001"); len(got) != 1 {
		t.Errorf("no line saying alice waits for her result: %q", got)
	}
}

// Central dies mid-supply and comes back: the registry is reloaded (every
// charge point DISCONNECTED until its monitor re-registers, which LivenessAck
// known=false asks for), the running supply is adopted from what monitors
// and Kafka say, and its ticket is made exactly once.
func TestCentralRestartRebuildsItsView(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	cfg.SupplyDuration = 1500 * time.Millisecond
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)

	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Monitor CP-002", "Cannot reach Central")) == 1 },
		func() string { return "monitor did not say it cannot reach Central" })
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool {
		return len(h.Logs.Lines("Central started: 2 charge points in the registry, each DISCONNECTED")) == 1
	}, func() string { return "no restart line naming the reloaded registry" })
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	if v.Session == nil || v.Session.DriverID != "alice" {
		t.Errorf("the running supply was not adopted: %+v", v)
	}
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("ticket %v", tk)
	}
	if len(h.Logs.Lines("INFO", "Monitor CP-002", "Central is reachable again")) != 1 {
		t.Error("monitor did not say Central is back, once")
	}
	if len(h.Logs.Lines("WARN", "Monitor CP-002", "Cannot reach Central")) != 1 {
		t.Error("'cannot reach Central' logged more than once")
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Central crashes (a panic): its supervisor restarts it and it rebuilds
// the same way; requests are served again.
func TestCentralPanicIsRestarted(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	n.CrashCentral("test")
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Central started")) == 2 }, func() string { return "not restarted" })
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001"}})
	waitTickets(t, h, n, "alice", 1)
}

// Stop all ends every running supply with a ticket and shows STOPPED;
// resume all puts every charge point back to ACTIVATED.
func TestStopAllResumeAll(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002", "CP-003")
	cfg.SupplyDuration = time.Minute
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}, {ID: "bob", Requests: []string{"CP-002"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	r, err := n.Panel().Stop(ctx2s(t), "")
	if err != nil || r.Affected != 3 {
		t.Fatalf("stop all: %+v %v", r, err)
	}
	for _, id := range []string{"CP-001", "CP-002", "CP-003"} {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_STOPPED)
	}
	for _, d := range []string{"alice", "bob"} {
		if tk := waitTickets(t, h, n, d, 1)[0]; tk.GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL {
			t.Errorf("%s ticket %v", d, tk)
		}
	}
	r, err = n.Panel().Resume(ctx2s(t), "")
	if err != nil || r.Affected != 3 {
		t.Fatalf("resume all: %+v %v", r, err)
	}
	for _, id := range []string{"CP-001", "CP-002", "CP-003"} {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	if r, _ := n.Panel().Stop(ctx2s(t), "CP-404"); r == nil || r.Err != "unknown charge point CP-404" {
		t.Errorf("stopping an unknown charge point: %+v", r)
	}
}

// A KO during a supply ends it at once with a ticket for what was delivered
// (rules, flow step 7); every party is told.
func TestKnockOutMidSupply(t *testing.T) {
	h := testkit.New(t)
	n := longSupply(t, h, "CP-004")
	if _, err := n.Panel().KnockOut(ctx2s(t), "CP-004", true); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-004", messages.ChargePointState_CHARGE_POINT_STATE_FAULT)
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetReason() != messages.EndReason_END_REASON_FAULT || tk.GetKwh() <= 0 {
		t.Fatalf("ticket %v", tk)
	}
	// alice is told by the end of her supply (reason fault) and its ticket
	testkit.Eventually(t, wait, func() bool { return strings.Contains(strings.Join(h.Rec.Get().Updates["alice"], " "), "SupplyEnded") },
		func() string { return "alice not told" })
	if len(h.Logs.Lines("WARN", "Central", "CP-004 FAULT: engine reports KO")) != 1 {
		t.Error("want the line 'CP-004 FAULT: engine reports KO' once")
	}
}

// Kafka delivers at least once: the same supply end twice makes one ticket
// (Python defects 5 and 6).
func TestRepeatedSupplyEndMakesOneTicket(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	tk := waitTickets(t, h, n, "alice", 1)[0]
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Ended[tk.GetSessionId()]) == 1 },
		func() string { return "the recorder did not see the end" })
	end := h.Rec.Get().Ended[tk.GetSessionId()][0]
	h.Sys.Root.Send(h.Bridge, &bridge.Publish{Topic: bridge.TopicSessionEnd, Key: "CP-001", Msg: end})
	testkit.Eventually(t, wait, func() bool {
		return len(h.Logs.Lines("Ignored a supply end delivered again")) == 1
	}, func() string { return "Central did not see the repeat" })
	if n := len(h.Rec.Get().Tickets[tk.GetSessionId()]); n != 1 {
		t.Fatalf("%d tickets for one supply", n)
	}
	// shutdown's invariant check would see the repeated end: forget it there
	h.Rec.ForgetRepeatedEnd(tk.GetSessionId())
}

// An engine left STOPPED while Central has it in service gets RESUME again
// (Python defect 4: Central shows ON, engine stays STOPPED).
func TestCentralReconcilesAnEngineLeftStopped(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	h.Sys.Root.Send(h.Bridge, &bridge.Publish{Topic: bridge.TopicCommands, Key: "CP-001",
		Msg: &messages.Command{CpId: "CP-001", Kind: &messages.Command_Stop{Stop: &messages.StopChargePoint{}}}})
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Repeating the RESUME order to CP-001")) >= 1 },
		func() string { return "Central did not resume the engine" })
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Engine CP-001", "Back in service")) >= 1 },
		func() string { return "engine still stopped" })
	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001"}})
	waitTickets(t, h, n, "alice", 1)
}

// Shutdown ends every running supply with reason SHUTDOWN and its ticket.
func TestShutdownEndsSuppliesWithTickets(t *testing.T) {
	h := testkit.New(t)
	n := longSupply(t, h, "CP-001")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rec := h.Rec.CheckInvariant(wait, h.Stats)
	if len(rec.Tickets) != 1 {
		t.Fatalf("%d tickets", len(rec.Tickets))
	}
	for _, tks := range rec.Tickets {
		if tks[0].GetReason() != messages.EndReason_END_REASON_SHUTDOWN {
			t.Fatalf("ticket %v", tks[0])
		}
	}
}

// The panel's watch stream carries state changes and events, and a slow
// reader never holds Central up.
func TestPanelWatch(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := n.Panel().Watch(ctx)
	// The watcher subscribes asynchronously: order stop (again) until the
	// stream shows it.
	poke := time.NewTicker(200 * time.Millisecond)
	defer poke.Stop()
	sawStopped, sawEvent := false, false
	deadline := time.After(wait)
	for !sawStopped || !sawEvent {
		select {
		case u := <-ch:
			if u.ChargePoint != nil && u.ChargePoint.State == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED {
				sawStopped = true
			}
			if u.Event != nil && u.Event.Kind == central.EventStopped {
				sawEvent = true
			}
		case <-poke.C:
			_, _ = n.Panel().Resume(ctx2s(t), "CP-001")
			_, _ = n.Panel().Stop(ctx2s(t), "CP-001")
		case <-deadline:
			t.Fatalf("stopped=%v event=%v", sawStopped, sawEvent)
		}
	}
	cancel()
	for range ch {
	}
}

// The bridge restarts (a supervisor restarted it, losing its subscriptions):
// every role repeats its subscriptions, and the network serves again.
func TestRolesSurviveABridgeRestart(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.ResubscribeInterval = 200 * time.Millisecond
	n := startNet(t, h, cfg)
	h.RestartBridge()
	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001"}})
	if tk := waitTickets(t, h, n, "alice", 1)[0]; tk.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("ticket %v", tk)
	}
}

// The broker goes away while a supply runs and ends: the end and the
// ticket are kept and delivered once the broker is back, exactly once.
func TestBrokerOutageLosesNoEndOrTicket(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.SupplyDuration = 2 * time.Second
	cfg.ReplyTimeout = 30 * time.Second // consumers need some seconds to rejoin after the outage
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	h.StopBroker()
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Bridge", "Lost Kafka")) == 1 },
		func() string { return "the bridge did not notice the outage" })
	// the supply ends during the outage (its end waits in the bridge)
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Engine CP-001", "Supply for alice ended")) == 1 },
		func() string { return "the supply did not end" })
	h.StartBroker()
	var tk *messages.Ticket
	testkit.Eventually(t, 30*time.Second, func() bool {
		s := driverStatus(h, n, "alice")
		if len(s.Tickets) > 0 {
			tk = s.Tickets[0]
		}
		return tk != nil
	}, func() string { return "alice has no ticket after the outage" })
	if tk.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("ticket %v", tk)
	}
	if s := driverStatus(h, n, "alice"); s.Timeouts != 0 || !s.Finished {
		t.Errorf("alice: %+v", s)
	}
}

// A driver that panics mid-supply is restarted by its supervisor, picks up
// its progress and sees its ticket; the supply never noticed.
func TestDriverPanicMidSupplySeesTicket(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.SupplyDuration = time.Second
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001", "CP-001"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	if err := n.CrashDriver("alice", "test"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Driver alice failed: crash requested: test")) == 1 },
		func() string { return "no failure line" })
	// the restarted incarnation sees the ticket of the first request, then makes the second
	var s *driver.Status
	testkit.Eventually(t, wait, func() bool {
		s = driverStatus(h, n, "alice")
		return s.Finished && len(s.Tickets) >= 1
	}, func() string { return fmt.Sprintf("alice after her restart: %+v", s) })
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Started) == 2 },
		func() string { return fmt.Sprintf("%d supplies for 2 requests", len(h.Rec.Get().Started)) })
}

// An engine that goes silent mid-supply and stays away (a process that is
// gone): after ReleaseAfter, Central releases the driver, who charges
// elsewhere; when the engine comes back and reports the supply, the driver
// still gets that ticket (Python defect 3: a CP locked to its driver forever).
func TestDriverReleasedFromAChargePointThatCannotReport(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.ReleaseAfter = 300 * time.Millisecond
	n := startNet(t, h, cfg)

	type comeBack struct{}
	br := h.Bridge
	var started *messages.SupplyStarted
	silent := false
	ghost := h.Sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			c.Send(br, &bridge.Subscribe{Topic: bridge.TopicCommands, Group: "ghost", Key: "CP-052", Subscriber: c.Self()})
		case *messages.HealthCheck:
			if !silent {
				c.Respond(&messages.HealthAnswer{CpId: m.GetCpId(), Seq: m.GetSeq(), Ok: true,
					EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED})
			}
		case *bridge.Delivery:
			defer m.Done()
			if cmd, ok := m.Msg.(*messages.Command); ok && cmd.GetStartSupply() != nil && started == nil {
				st := cmd.GetStartSupply()
				started = &messages.SupplyStarted{SessionId: st.GetSessionId(), RequestId: st.GetRequestId(), DriverId: st.GetDriverId(),
					CpId: "CP-052", Kw: 22, PriceEurPerKwh: 0.3, StartedAt: timestamppb.Now()}
				c.Send(br, &bridge.Publish{Topic: bridge.TopicStatus, Key: "CP-052", Msg: started})
				silent = true // and gone
			}
		case *comeBack:
			silent = false
			c.Send(br, &bridge.Publish{Topic: bridge.TopicSessionEnd, Key: "CP-052", Msg: &messages.SupplyEnded{
				SessionId: started.GetSessionId(), RequestId: started.GetRequestId(), DriverId: started.GetDriverId(), CpId: "CP-052",
				Kwh: 0.5, Eur: 0.15, PriceEurPerKwh: 0.3, StartedAt: started.GetStartedAt(), EndedAt: timestamppb.Now(),
				Reason: messages.EndReason_END_REASON_ENGINE_RESTART}})
		}
	}))
	t.Cleanup(func() { h.Sys.Root.Stop(ghost) })
	props, err := monitor.Props(monitor.Config{CPID: "CP-052", Secret: "s", Engine: ghost, Central: n.Central(),
		HealthInterval: 50 * time.Millisecond, Logger: h.Logger})
	if err != nil {
		t.Fatal(err)
	}
	mon := h.Sys.Root.Spawn(props)
	t.Cleanup(func() { h.Sys.Root.Stop(mon) })
	waitState(t, n, "CP-052", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)

	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-052", "CP-001"}})
	waitState(t, n, "CP-052", messages.ChargePointState_CHARGE_POINT_STATE_FAULT)
	// released: alice charges at CP-001 and gets that ticket
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetCpId() != "CP-001" {
		t.Fatalf("first ticket %v", tk)
	}
	if len(h.Logs.Lines("INFO", "Central", "Released alice from the supply at CP-052")) != 1 {
		t.Error("no line about the release")
	}
	// the engine comes back and reports: alice gets the ticket of CP-052 too
	// (its own end, or, when that came more than Central's cut-off grace
	// after the FAULT, the supply as of the FAULT)
	h.Sys.Root.Send(ghost, &comeBack{})
	tks := waitTickets(t, h, n, "alice", 2)
	if r := tks[1].GetReason(); tks[1].GetCpId() != "CP-052" ||
		(r != messages.EndReason_END_REASON_ENGINE_RESTART && r != messages.EndReason_END_REASON_FAULT) {
		t.Fatalf("second ticket %v", tks[1])
	}
	waitState(t, n, "CP-052", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

package central_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// centralRig is Central with a probe for its bridge and a stand-in monitor
// (a stable PID, as a real monitor has) for CP-001.
type centralRig struct {
	t       *testing.T
	sys     *actor.ActorSystem
	central *actor.PID
	bridge  *testkit.Probe
	monitor *actor.PID
	logs    *testkit.LogBuffer
	run     *stats.Run
	offset  atomic.Int64
	// engineBroken is what the stand-in monitor says of its engine.
	engineBroken atomic.Bool
	// monitorSilent cuts the stand-in monitor off from Central.
	monitorSilent atomic.Bool
}

// relay makes the stand-in monitor send msg to Central as itself.
type relay struct{ msg proto.Message }

func newCentralRig(t *testing.T, cfg central.Config) *centralRig {
	t.Helper()
	sys, logger, logs := testkit.NewSystem(t)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := &centralRig{t: t, sys: sys, bridge: testkit.NewProbe(t, sys, nil), logs: logs, run: stats.New()}
	cfg.Store, cfg.Bridge, cfg.Logger, cfg.Stats = st, r.bridge.PID, logger, r.run
	props, err := central.Props(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.central = sys.Root.Spawn(props)
	target := r.central
	r.monitor = sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*relay); ok {
			ctx.Request(target, m.msg)
		}
	}))
	return r
}

func (r *centralRig) fromMonitor(msg proto.Message) { r.sys.Root.Send(r.monitor, &relay{msg: msg}) }

// deliver hands Central a record as the bridge would.
func (r *centralRig) deliver(topic string, msg proto.Message) {
	r.sys.Root.Send(r.central, bridge.NewDelivery(topic, "CP-001", 0, r.offset.Add(1), msg, func() {}))
}

func (r *centralRig) snapshotOf(cpID string) central.ChargePointView {
	r.t.Helper()
	res, err := r.sys.Root.RequestFuture(r.central, &central.GetSnapshot{}, wait).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, cp := range res.(*central.Snapshot).ChargePoints {
		if cp.ID == cpID {
			return cp
		}
	}
	return central.ChargePointView{ID: cpID} // not registered yet
}

// connect registers CP-001 and keeps its monitor reporting the engine's
// session (engineSession returns it) until the test ends.
func (r *centralRig) connect(engineSession func() string) {
	r.t.Helper()
	r.fromMonitor(&messages.RegisterChargePoint{CpId: "CP-001", Secret: "s", Kw: 22, PriceEurPerKwh: 0.3})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for seq := uint64(1); ; seq++ {
			st := messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
			sid := engineSession()
			if sid != "" {
				st = messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING
			}
			if !r.monitorSilent.Load() {
				r.fromMonitor(&messages.Liveness{CpId: "CP-001", Seq: seq, EngineOk: !r.engineBroken.Load(), EngineState: st, SessionId: sid, DriverId: "alice"})
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	r.t.Cleanup(func() { close(stop); <-done })
	testkit.Eventually(r.t, wait, func() bool {
		return r.snapshotOf("CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
	}, func() string { return "CP-001 never ACTIVATED" })
}

// startSupply has alice ask for CP-001 and its engine confirm the start
// Central commands; it returns the session and when it started.
func (r *centralRig) startSupply(requestID string) (string, time.Time) {
	r.t.Helper()
	r.deliver(bridge.TopicDriverRequests, &messages.ChargeRequest{RequestId: requestID, DriverId: "alice", CpId: "CP-001", RequestedAt: timestamppb.Now()})
	var sid string
	testkit.Eventually(r.t, wait, func() bool {
		for _, m := range r.bridge.Published(bridge.TopicCommands) {
			if s := m.(*messages.Command).GetStartSupply(); s.GetRequestId() == requestID {
				sid = s.GetSessionId()
			}
		}
		return sid != ""
	}, func() string { return "no start command" })
	started := time.Now()
	r.deliver(bridge.TopicStatus, &messages.SupplyStarted{SessionId: sid, RequestId: requestID, DriverId: "alice", CpId: "CP-001",
		Kw: 22, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started)})
	return sid, started
}

func (r *centralRig) tickets() []*messages.Ticket {
	var out []*messages.Ticket
	for _, m := range r.bridge.Published(bridge.TopicTickets) {
		out = append(out, m.(*messages.Ticket))
	}
	return out
}

// Records left in Kafka from before Central's restart say CP-001 supplies
// alice, but CP-001's engine runs nothing: Central must not show a supply
// nobody runs, nor keep alice busy; it closes that supply with one ticket for
// what was measured. A supply the engine confirms is adopted.
func TestCentralAdoptsOnlyASupplyItsEngineConfirms(t *testing.T) {
	r := newCentralRig(t, central.Config{StartTimeout: 300 * time.Millisecond, LivenessTimeout: 3 * time.Second})
	var engineRuns atomic.Value
	engineRuns.Store("")
	r.connect(func() string { return engineRuns.Load().(string) })

	// stale records of a supply that ended with the old process
	before := time.Now().Add(-time.Minute)
	r.deliver(bridge.TopicStatus, &messages.SupplyStarted{SessionId: "S-OLD", RequestId: "R-OLD", DriverId: "alice", CpId: "CP-001",
		Kw: 22, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(before)})
	for i := 1; i <= 3; i++ {
		r.deliver(bridge.TopicTelemetry, &messages.Telemetry{SessionId: "S-OLD", DriverId: "alice", CpId: "CP-001", Kw: 22,
			Kwh: 0.5 * float64(i), Eur: 0.15 * float64(i), At: timestamppb.New(before.Add(time.Duration(i) * time.Second)), Seq: uint64(i)})
	}
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 },
		func() string { return "the stale supply was not closed with a ticket" })
	if got := r.snapshotOf("CP-001"); got.State != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
		t.Fatalf("CP-001 shows %s for a supply no engine runs", central.StateName(got.State))
	}
	if n := len(r.logs.Lines("is supplying alice")); n != 0 {
		t.Fatalf("Central adopted a supply no engine confirmed: %q", r.logs.Lines("is supplying alice"))
	}
	tk := r.tickets()[0]
	if tk.GetSessionId() != "S-OLD" || tk.GetKwh() != 1.5 || tk.GetReason() != messages.EndReason_END_REASON_ENGINE_RESTART ||
		!tk.GetEndedAt().AsTime().Equal(before.Add(3*time.Second)) || !tk.GetStartedAt().AsTime().Equal(before) {
		t.Fatalf("ticket for the stale supply: %v", tk)
	}
	// alice is free: her next request gets a start command
	r.deliver(bridge.TopicDriverRequests, &messages.ChargeRequest{RequestId: "R-NEW", DriverId: "alice", CpId: "CP-001", RequestedAt: timestamppb.Now()})
	var sid string
	testkit.Eventually(t, wait, func() bool {
		for _, m := range r.bridge.Published(bridge.TopicCommands) {
			if s := m.(*messages.Command).GetStartSupply(); s.GetRequestId() == "R-NEW" {
				sid = s.GetSessionId()
			}
		}
		return sid != ""
	}, func() string { return "alice was not served after the stale supply closed" })

	// a late end of the stale supply makes no second ticket
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: "S-OLD", DriverId: "alice", CpId: "CP-001", Kwh: 1.6,
		StartedAt: timestamppb.New(before), EndedAt: timestamppb.New(before.Add(4 * time.Second)), Reason: messages.EndReason_END_REASON_COMPLETED})

	// a supply the engine does run is adopted, and ends with its one ticket
	r.deliver(bridge.TopicStatus, &messages.SupplyStarted{SessionId: sid, DriverId: "alice", CpId: "CP-001", StartedAt: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool {
		return r.snapshotOf("CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING
	}, func() string { return "the started supply is not shown" })
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, DriverId: "alice", CpId: "CP-001", Kwh: 0.2,
		StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(), Reason: messages.EndReason_END_REASON_COMPLETED})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 2 }, func() string { return "no ticket for the real supply" })

	// and one that Central hears of only from its engine's monitor is adopted too
	engineRuns.Store("S-LIVE")
	r.deliver(bridge.TopicTelemetry, &messages.Telemetry{SessionId: "S-LIVE", DriverId: "alice", CpId: "CP-001", Kw: 22, Kwh: 0.1, At: timestamppb.Now(), Seq: 1})
	testkit.Eventually(t, wait, func() bool {
		v := r.snapshotOf("CP-001")
		return v.Session != nil && v.Session.SessionID == "S-LIVE"
	}, func() string { return "a supply its engine confirms was not adopted" })
	engineRuns.Store("")
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: "S-LIVE", DriverId: "alice", CpId: "CP-001", Kwh: 0.3,
		StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(), Reason: messages.EndReason_END_REASON_COMPLETED})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 3 }, func() string { return "no ticket for the adopted supply" })

	// invariant: every supply counted as started has exactly one ticket
	seen := map[string]int{}
	for _, tk := range r.tickets() {
		seen[tk.GetSessionId()]++
	}
	if len(seen) != 3 || seen["S-OLD"] != 1 || seen[sid] != 1 || seen["S-LIVE"] != 1 {
		t.Fatalf("tickets per session: %v", seen)
	}
	if got := r.run.SuppliesStarted.Load(); got != 3 || r.run.Tickets.Load() != 3 {
		t.Fatalf("started %d, tickets %d: want 3 and 3", got, r.run.Tickets.Load())
	}
}

// An engine that hangs mid-supply: Central marks FAULT and tells the driver
// the supply ends now. When the engine wakes up 10 s later and reports its
// own end ("completed", with the energy of the time it was frozen), the one
// ticket still says FAULT, at the fault's time, with the energy measured
// until then; readings sent after the fault do not reach the driver.
func TestCentralTicketsAFaultedSupplyAsOfTheFault(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: 3 * time.Second})
	var engineRuns atomic.Value
	engineRuns.Store("")
	r.connect(func() string { return engineRuns.Load().(string) })

	sid, started := r.startSupply("R1")
	engineRuns.Store(sid)
	r.deliver(bridge.TopicTelemetry, &messages.Telemetry{SessionId: sid, DriverId: "alice", CpId: "CP-001", Kw: 22, Kwh: 1.1, Eur: 0.33,
		At: timestamppb.Now(), Seq: 1})
	testkit.Eventually(t, wait, func() bool {
		v := r.snapshotOf("CP-001")
		return v.Session != nil && v.Session.KWh == 1.1
	}, func() string { return "the reading is not on the panel" })

	beforeFault := time.Now()
	r.engineBroken.Store(true)
	r.fromMonitor(&messages.FaultReport{CpId: "CP-001", Faulty: true, Detail: "engine not answering health checks", At: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool {
		return r.snapshotOf("CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_FAULT
	}, func() string { return "no FAULT" })
	afterFault := time.Now()

	// the engine wakes up: a reading and its own end, 10 s after the fault
	late := afterFault.Add(10 * time.Second)
	r.deliver(bridge.TopicTelemetry, &messages.Telemetry{SessionId: sid, DriverId: "alice", CpId: "CP-001", Kw: 22, Kwh: 3.6, Eur: 1.08,
		At: timestamppb.New(late), Seq: 2})
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kwh: 3.67, Eur: 1.101, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started), EndedAt: timestamppb.New(late),
		Reason: messages.EndReason_END_REASON_COMPLETED})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string { return "no ticket" })
	tk := r.tickets()[0]
	end := tk.GetEndedAt().AsTime()
	if tk.GetReason() != messages.EndReason_END_REASON_FAULT || tk.GetKwh() != 1.1 || end.Before(beforeFault) || end.After(afterFault) {
		t.Fatalf("ticket %v: want FAULT, 1.1 kWh, ended between %v and %v", tk, beforeFault, afterFault)
	}
	// what the driver is told matches the ticket, and no reading after the fault reaches it
	for _, m := range r.bridge.Published(bridge.TopicDriverUpdates) {
		switch x := m.(type) {
		case *messages.Telemetry:
			if x.GetSeq() == 2 {
				t.Errorf("a reading sent after the fault reached the driver: %v", x)
			}
		case *messages.SupplyEnded:
			if x.GetReason() != tk.GetReason() || x.GetKwh() != tk.GetKwh() || !x.GetEndedAt().AsTime().Equal(end) {
				t.Errorf("the driver was told %v, the ticket says %v", x, tk)
			}
		}
	}
	// the same end delivered again changes nothing
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, DriverId: "alice", CpId: "CP-001", Kwh: 3.67,
		EndedAt: timestamppb.New(late), Reason: messages.EndReason_END_REASON_COMPLETED})
	r.deliver(bridge.TopicDriverRequests, &messages.ChargeRequest{RequestId: "R-MARK", DriverId: "bob", CpId: "CP-404", RequestedAt: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool { return len(r.logs.Lines("Denied bob at CP-404")) == 1 }, func() string { return "marker not handled" })
	if n := len(r.tickets()); n != 1 || r.run.SuppliesStarted.Load() != 1 {
		t.Fatalf("%d tickets for %d supplies started", n, r.run.SuppliesStarted.Load())
	}
}

// The engine that obeys Central's stop at once (its end within CutOffGrace
// of the FAULT): its own figures stand, nothing measured is lost.
func TestCentralKeepsAPromptEndOfAFaultedSupply(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: 3 * time.Second, CutOffGrace: time.Second})
	r.connect(func() string { return "" })
	sid, started := r.startSupply("R1")
	r.deliver(bridge.TopicTelemetry, &messages.Telemetry{SessionId: sid, DriverId: "alice", CpId: "CP-001", Kw: 22, Kwh: 1.1, Eur: 0.33,
		At: timestamppb.Now(), Seq: 1})
	r.engineBroken.Store(true)
	r.fromMonitor(&messages.FaultReport{CpId: "CP-001", Faulty: true, Detail: "engine KO", At: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool {
		return r.snapshotOf("CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_FAULT
	}, func() string { return "no FAULT" })
	ended := time.Now().Add(200 * time.Millisecond)
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kwh: 1.2, Eur: 0.36, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started), EndedAt: timestamppb.New(ended),
		Reason: messages.EndReason_END_REASON_FAULT})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string { return "no ticket" })
	if tk := r.tickets()[0]; tk.GetKwh() != 1.2 || !tk.GetEndedAt().AsTime().Equal(ended) || tk.GetReason() != messages.EndReason_END_REASON_FAULT {
		t.Fatalf("ticket %v: want the engine's own 1.2 kWh, FAULT, at its end", tk)
	}
	if r.run.SuppliesStarted.Load() != 1 || r.run.Tickets.Load() != 1 {
		t.Fatalf("started %d, tickets %d", r.run.SuppliesStarted.Load(), r.run.Tickets.Load())
	}
}

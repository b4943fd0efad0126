package central_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/internal/stall"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// interval is the monitors' health and liveness interval (and timeout) in
// these tests: with a stall meter, a loaded test machine gives no false fault.
const interval = 50 * time.Millisecond

// startCentral starts Central on an in-memory store, with a probe for its
// bridge and a stall meter, as the binaries do (a loaded test machine
// stalls).
func startCentral(t *testing.T, sys *actor.ActorSystem, logger *logrus.Logger, liveness time.Duration) *actor.PID {
	t.Helper()
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	props, err := central.Props(central.Config{Store: st, Bridge: testkit.NewProbe(t, sys, nil).PID, LivenessTimeout: liveness,
		Stall: testMeter(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return sys.Root.Spawn(props)
}

// testMeter is a stall meter for one test.
func testMeter(t *testing.T) *stall.Meter {
	m := stall.Start(0, 0)
	t.Cleanup(m.Stop)
	return m
}

func engineOK(m any) any {
	if hc, ok := m.(*messages.HealthCheck); ok {
		return &messages.HealthAnswer{CpId: hc.GetCpId(), Seq: hc.GetSeq(), Ok: true,
			EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED}
	}
	return nil
}

// Two monitors for one charge point, both with the right secret: the first
// keeps it, the second is refused with a reason (one WARN line on each
// side), and they never take turns (issue 15.5: they re-registered
// alternately every second and Central logged nothing).
func TestASecondMonitorIsRefusedWhileTheFirstIsAlive(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	c := startCentral(t, sys, logger, 50*interval)
	engine := testkit.NewProbe(t, sys, engineOK)
	spawnMonitor := func() {
		t.Helper()
		p, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "demo", Engine: engine.PID, Central: c,
			HealthInterval: interval, HealthTimeout: interval, Stall: testMeter(t), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		sys.Root.Spawn(p)
	}
	spawnMonitor()
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Registered new CP: CP-001")) == 1 },
		func() string { return "the first monitor did not register" })
	spawnMonitor()
	// 50 liveness intervals: flapping would show many times over.
	deadline := time.Now().Add(50 * interval)
	testkit.Eventually(t, wait, func() bool { return time.Now().After(deadline) }, func() string { return "" })

	if got := logs.Lines("Central does not know this charge point"); len(got) != 0 {
		t.Errorf("the two monitors took turns: %d re-registrations, e.g. %q", len(got), got[0])
	}
	if got := logs.Lines("WARN", "Central", "Rejected registration of CP-001: another monitor"); len(got) != 1 {
		t.Errorf("Central: want one WARN refusing the second monitor, got %q", got)
	}
	if got := logs.Lines("WARN", "Central rejected the registration of CP-001: another monitor"); len(got) != 1 {
		t.Errorf("second monitor: want one WARN saying it was refused and why, got %q", got)
	}
	if got := logs.Lines("FAULT"); len(got) != 0 {
		t.Errorf("a fault while both monitors ran: %q", got)
	}
	snap, err := sys.Root.RequestFuture(c, &central.GetSnapshot{}, wait).Result()
	if err != nil {
		t.Fatal(err)
	}
	if cps := snap.(*central.Snapshot).ChargePoints; len(cps) != 1 || cps[0].State != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
		t.Errorf("panel: %+v, want CP-001 ACTIVATED (the first monitor keeps it)", cps)
	}
}

// An engine that answers "waiting for Kafka" shows WAITING on the panel
// with that reason (not FAULT, not red), and ACTIVATED once it is ready.
func TestAWaitingEngineShowsWaitingThenActivated(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	c := startCentral(t, sys, logger, 50*interval)
	engine := testkit.NewProbe(t, sys, func(m any) any {
		if hc, ok := m.(*messages.HealthCheck); ok {
			return chargepoint.WaitingAnswer(hc.GetCpId(), hc, chargepoint.WaitingForKafka)
		}
		return nil
	})
	mp, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "demo", Engine: engine.PID, Central: c,
		HealthInterval: interval, HealthTimeout: interval, Stall: testMeter(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(mp)
	view := func() central.ChargePointView {
		res, err := sys.Root.RequestFuture(c, &central.GetSnapshot{}, wait).Result()
		if err != nil {
			t.Fatal(err)
		}
		if cps := res.(*central.Snapshot).ChargePoints; len(cps) == 1 {
			return cps[0]
		}
		return central.ChargePointView{}
	}
	testkit.Eventually(t, wait, func() bool {
		v := view()
		return v.State == messages.ChargePointState_CHARGE_POINT_STATE_WAITING && v.Reason == "not available yet: engine waiting for Kafka"
	}, func() string {
		return "CP-001 is " + central.StateName(view().State) + " (" + view().Reason + "), want WAITING"
	})
	engine.SetReply(engineOK)
	testkit.Eventually(t, wait, func() bool { return view().State == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED },
		func() string {
			return "CP-001 is " + central.StateName(view().State) + ", want ACTIVATED once the engine is ready"
		})
	if got := append(logs.Lines("WARN"), logs.Lines("FAULT")...); len(got) != 0 {
		t.Errorf("a waiting engine was reported: %q", got)
	}
	if len(logs.Lines("INFO", "Central", "CP-001 is not available yet: engine waiting for Kafka")) != 1 ||
		len(logs.Lines("INFO", "Central", "CP-001 is available: its engine is ready")) != 1 {
		t.Errorf("want one INFO line each for the wait and the end of it:\n%s", logs.String())
	}
}

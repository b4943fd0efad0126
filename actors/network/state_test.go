package network_test

import (
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// Rules' table, row 1: monitor alive, engine OK -> ACTIVATED, or SUPPLYING
// or STOPPED as the session and orders say.
func TestStateAliveOKIsActivatedSupplyingOrStopped(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	cfg.SupplyDuration = time.Minute
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)

	request(h, "r1", "alice", "CP-001")
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	if v.Session == nil || v.Session.DriverID != "alice" {
		t.Fatalf("SUPPLYING without the driver id: %+v", v)
	}
	testkit.Eventually(t, wait, func() bool {
		v := view(t, n, "CP-001")
		return v.Session != nil && v.Session.KWh > 0 && v.Session.EUR > 0 && v.Session.KW == 22
	}, func() string { return "no live kW, kWh and EUR on the panel" })

	if _, err := n.Panel().Stop(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED)
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Tickets) == 1 }, func() string { return "no ticket after stop" })
	for _, tks := range h.Rec.Get().Tickets {
		if tks[0].GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL {
			t.Fatalf("ticket reason %v, want stopped by Central", tks[0].GetReason())
		}
	}
	if _, err := n.Panel().Resume(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Row 2a: monitor alive, engine KO -> FAULT; repaired -> ACTIVATED.
func TestStateAliveKOIsFault(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-004")
	n := startNet(t, h, cfg)
	if _, err := n.Panel().KnockOut(ctx2s(t), "CP-004", true); err != nil {
		t.Fatal(err)
	}
	v := waitState(t, n, "CP-004", messages.ChargePointState_CHARGE_POINT_STATE_FAULT)
	if !strings.Contains(v.Reason, "KO") {
		t.Errorf("FAULT reason %q does not say KO", v.Reason)
	}
	if len(h.Logs.Lines("WARN", "Central", "CP-004 FAULT: engine reports KO")) != 1 {
		t.Errorf("want one WARN line 'CP-004 FAULT: engine reports KO':\n%s", strings.Join(h.Logs.Lines("FAULT"), "\n"))
	}
	if _, err := n.Panel().KnockOut(ctx2s(t), "CP-004", false); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-004", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Row 2b: monitor alive, engine silent -> FAULT. The engine fails beyond its
// restart budget and is stopped for good; its monitor's checks go unanswered.
func TestStateAliveSilentIsFault(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-004")
	cfg.Budget.MaxRestarts = 1
	cfg.Budget.Backoff = 20 * time.Millisecond
	n := startNet(t, h, cfg)
	for i := 0; i < 2; i++ {
		if err := n.CrashEngine("CP-004", "test"); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "Engine CP-004 failed")) > i },
			func() string { return "no failure line" })
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("WARN", "stopped for good")) == 1 },
		func() string { return "engine not stopped for good" })
	testkit.Eventually(t, wait, func() bool {
		v := view(t, n, "CP-004")
		return v.State == messages.ChargePointState_CHARGE_POINT_STATE_FAULT && v.Reason == "engine not answering health checks"
	}, func() string { return "CP-004 not FAULT for a silent engine: " + view(t, n, "CP-004").Reason })
}

// Row 3: monitor dead -> DISCONNECTED, whatever the engine; back when the
// monitor returns.
func TestStateMonitorDeadIsDisconnected(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)
	if err := n.SetKO("CP-002", true); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_FAULT)
	start := time.Now()
	for _, id := range []string{"CP-001", "CP-002"} {
		if err := n.StopMonitor(ctx2s(t), id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"CP-001", "CP-002"} {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED)
	}
	if took := time.Since(start); took > cfg.LivenessTimeout+time.Second {
		t.Errorf("DISCONNECTED after %v, liveness timeout %v", took, cfg.LivenessTimeout)
	}
	if err := n.StartMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Flow step 1: on start, every charge point in the database is DISCONNECTED
// until its monitor connects; the stop order survives in the database.
func TestRegistryLoadsAsDisconnected(t *testing.T) {
	h := testkit.New(t)
	hash, _ := store.HashSecret("x")
	for _, id := range []string{"CP-007", "CP-008"} {
		if err := h.Store.SaveChargePoint(t.Context(), store.ChargePoint{ID: id, Location: "Elche", PriceEURPerKWh: 0.4, KW: 50, SecretHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Store.SetStopped(t.Context(), "CP-008", true); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	for _, id := range []string{"CP-007", "CP-008"} {
		v := view(t, n, id)
		if v.State != messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED || v.Location != "Elche" || v.KW != 50 {
			t.Errorf("%s loaded as %+v", id, v)
		}
	}
	if len(h.Logs.Lines("Central started: 2 charge points in the registry")) != 1 {
		t.Error("no start line naming the registry size")
	}
	// a monitor with the right secret connects: CP-008 comes up STOPPED (the order was kept)
	ctx := ctx2s(t)
	if err := n.AddChargePoint(ctx, network.ChargePoint{ID: "CP-008", Secret: "x"}); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-008", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED)
}

// Flow step 2: a wrong or missing secret is rejected with one WARN line; the
// charge point shows REJECTED with the reason; the right one is accepted.
func TestRegistrationNeedsTheRightSecret(t *testing.T) {
	h := testkit.New(t)
	hash, _ := store.HashSecret("right")
	if err := h.Store.SaveChargePoint(t.Context(), store.ChargePoint{ID: "CP-003", Location: "Alicante", PriceEURPerKWh: 0.3, KW: 22, SecretHash: hash}); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(h)
	cfg.ChargePoints = []network.ChargePoint{{ID: "CP-003", Secret: "wrong"}}
	n, err := network.Start(h.Sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, h, n) })
	slow(t)
	// wait until the monitor has tried at least twice
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Rejected registration of CP-003 again")) > 0 },
		func() string { return "the monitor did not retry" })
	if got := h.Logs.Lines("WARN", "Central", "Rejected registration of CP-003: wrong secret"); len(got) != 1 {
		t.Errorf("want exactly one WARN line, got %d", len(got))
	}
	// Its own state with the reason, not "no sign of life from its monitor" (issue 15.8).
	if v := view(t, n, "CP-003"); v.State != messages.ChargePointState_CHARGE_POINT_STATE_REJECTED ||
		v.Reason != "registration rejected: wrong secret" {
		t.Errorf("CP-003 is %v (%s) after a wrong secret", v.State, v.Reason)
	}
	res := h.Ask(n.Central(), &messages.RegisterChargePoint{CpId: "CP-003", Location: "Alicante", PriceEurPerKwh: 0.3, Kw: 22})
	if r := res.(*messages.RegistrationResult); r.GetAccepted() || r.GetReason() != "no secret presented" {
		t.Errorf("a missing secret: %v", r)
	}
	res = h.Ask(n.Central(), &messages.RegisterChargePoint{CpId: "CP-003", Location: "Alicante", PriceEurPerKwh: 0.3, Kw: 22, Secret: "right"})
	if r := res.(*messages.RegistrationResult); !r.GetAccepted() {
		t.Errorf("the right secret was refused: %v", r)
	}
}

// Only the monitor that registered with the secret is believed: another
// actor's liveness is answered "register first" and its fault reports are
// ignored (Python defect 9: state-changing messages without credentials).
func TestOnlyTheAuthenticatedMonitorCounts(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	impostor := testkit.NewProbe(t, h.Sys, nil)
	h.Sys.Root.RequestWithCustomSender(n.Central(), &messages.Liveness{CpId: "CP-001", Seq: 1, EngineOk: true}, impostor.PID)
	h.Sys.Root.RequestWithCustomSender(n.Central(), &messages.FaultReport{CpId: "CP-001", Faulty: true, Detail: "forged"}, impostor.PID)
	testkit.Eventually(t, wait, func() bool {
		for _, m := range impostor.Got() {
			if a, ok := m.(*messages.LivenessAck); ok && !a.GetKnown() {
				return true
			}
		}
		return false
	}, func() string { return "the impostor's liveness was accepted" })
	// the forged fault changed nothing (a later real event proves the report was handled in order)
	if _, err := n.Panel().Stop(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED)
	if len(events(t, n, central.EventFault, "CP-001")) != 0 || v.Reason == "forged" {
		t.Fatal("a forged fault report was believed")
	}
}

// A network started again on the same database (evsim run twice with one
// --db) is recognised: its charge points' default secrets are derived from
// a key kept in the store, not drawn anew.
func TestSecondRunOnTheSameDatabaseIsRecognised(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	first, err := network.Start(h.Sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range first.ChargePointIDs() {
		waitState(t, first, id, messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	if err := first.Shutdown(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	n := startNet(t, h, cfg) // the same store
	for _, id := range n.ChargePointIDs() {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	if got := h.Logs.Lines("WARN", "Rejected registration"); len(got) != 0 {
		t.Fatalf("the second run was rejected: %q", got)
	}
	if got := h.Logs.Lines("Central started: 2 charge points in the registry"); len(got) != 1 {
		t.Fatalf("the second Central did not load the registry: %q", got)
	}
}

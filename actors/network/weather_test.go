package network_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/actors/weather"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// startWeather starts a weather office with the offline provider, reading
// the charge points' cities from Central's panel every 50 ms.
func startWeather(t *testing.T, h *testkit.Harness, n *network.Network) *weather.FileProvider {
	t.Helper()
	provider, err := weather.NewFileProvider("", 1, h.Logger)
	if err != nil {
		t.Fatal(err)
	}
	locations := func(ctx context.Context) ([]string, error) {
		s, err := n.Panel().Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(s.ChargePoints))
		for i, cp := range s.ChargePoints {
			out[i] = cp.Location
		}
		return out, nil
	}
	pid, err := weather.Start(h.Sys, weather.Config{Bridge: h.Bridge, Provider: provider, Interval: 50 * time.Millisecond,
		Locations: locations, Logger: h.Logger}, supervision.DefaultBudget(), h.Stats)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Sys.Root.StopFuture(pid).Wait() })
	return provider
}

func waitReason(t *testing.T, n *network.Network, id string, state messages.ChargePointState, reason string) {
	t.Helper()
	var v central.ChargePointView
	testkit.Eventually(t, wait, func() bool {
		v = view(t, n, id)
		return v.State == state && v.Reason == reason
	}, func() string {
		return id + " is " + central.StateName(v.State) + " (" + v.Reason + "), want " + central.StateName(state) + " (" + reason + ")"
	})
}

func ticketsOf(h *testkit.Harness, driver string) []*messages.Ticket {
	var out []*messages.Ticket
	for _, tks := range h.Rec.Get().Tickets {
		for _, tk := range tks {
			if tk.GetDriverId() == driver {
				out = append(out, tk)
			}
		}
	}
	return out
}

// A freeze stops exactly the charge points of its city: a running supply
// there ends with one ticket, one elsewhere goes on; a charge point that
// joins the frozen city starts stopped; the thaw brings them back, except
// one an operator stopped as well, which stays stopped until the operator
// resumes it.
func TestWeatherFreezeStopsTheCityAndTheThawBringsItBack(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.SupplyDuration = time.Minute
	cfg.ChargePoints = []network.ChargePoint{{ID: "CP-001", Location: "Alicante"}, {ID: "CP-002", Location: "Alicante, Calle Mayor 3"},
		{ID: "CP-003", Location: "Madrid"}}
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	auditLog, err := audit.Open(auditPath, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auditLog.Close() })
	cfg.Audit = auditLog
	n := startNet(t, h, cfg)
	provider := startWeather(t, h, n)

	request(h, "r1", "alice", "CP-001")
	request(h, "r2", "bob", "CP-003")
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	waitState(t, n, "CP-003", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	testkit.Eventually(t, wait, func() bool { s := view(t, n, "CP-001").Session; return s != nil && s.KWh > 0 },
		func() string { return "CP-001 delivers nothing" })

	provider.SetTemperature("Alicante", -2)
	const frozen = "weather alert: Alicante \u22122 °C"
	stopped := messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
	waitReason(t, n, "CP-001", stopped, frozen)
	waitReason(t, n, "CP-002", stopped, frozen)
	testkit.Eventually(t, wait, func() bool { return len(ticketsOf(h, "alice")) == 1 }, func() string { return "alice has no ticket" })
	tk := ticketsOf(h, "alice")[0]
	if tk.GetCpId() != "CP-001" || tk.GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL || tk.GetKwh() <= 0 {
		t.Fatalf("alice's ticket %v", tk)
	}
	if v := view(t, n, "CP-003"); v.State != messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING {
		t.Fatalf("CP-003 in Madrid is %s (%s): only Alicante froze", central.StateName(v.State), v.Reason)
	}
	if got := ticketsOf(h, "bob"); len(got) != 0 {
		t.Fatalf("bob's supply in Madrid ended: %v", got)
	}
	// A request in the frozen city is denied.
	request(h, "r3", "charlie", "CP-002")
	if d := denial(t, h, "r3"); d.GetReason() != messages.DenyReason_DENY_REASON_STOPPED || d.GetDetail() != "CP-002 is out of service ("+frozen+")" {
		t.Fatalf("request at a frozen charge point: %v", d)
	}
	// A charge point joining the frozen city starts stopped.
	if err := n.AddChargePoint(ctx2s(t), network.ChargePoint{ID: "CP-004", Location: "alicante"}); err != nil {
		t.Fatal(err)
	}
	waitReason(t, n, "CP-004", stopped, frozen)
	// The operator stops CP-002 for a reason of its own.
	if r, err := n.Panel().Stop(ctx2s(t), "CP-002"); err != nil || r.Affected != 1 {
		t.Fatalf("operator stop: %+v %v", r, err)
	}

	provider.SetTemperature("Alicante", 1.5)
	activated := messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
	waitState(t, n, "CP-001", activated)
	waitState(t, n, "CP-004", activated)
	// The cancel lifted CP-001's and CP-004's weather stops at once; CP-002
	// stays stopped: the thaw does not lift the operator's stop.
	if v := view(t, n, "CP-002"); v.State != stopped || v.Reason != "out of order by Central's order" {
		t.Fatalf("the thaw lifted the operator's stop of CP-002: %s (%s)", central.StateName(v.State), v.Reason)
	}
	if r, err := n.Panel().Resume(ctx2s(t), "CP-002"); err != nil || r.Affected != 1 {
		t.Fatalf("operator resume: %+v %v", r, err)
	}
	waitState(t, n, "CP-002", activated)
	if got := ticketsOf(h, "alice"); len(got) != 1 {
		t.Fatalf("alice has %d tickets for one supply", len(got))
	}
	if got := h.Logs.Lines("INFO", "Weather alert for Alicante (\u22122 °C): 2 charge points out of service"); len(got) != 1 {
		t.Errorf("want one INFO line for the alert, got %q", h.Logs.Lines("Weather alert"))
	}
	// Central audited the alert it applied and its cancel, once each.
	records, err := auditLog.Read(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, r := range records {
		if strings.HasPrefix(r.Action, "weather.") {
			applied = append(applied, r.Action+" "+r.Target+" "+r.Detail)
		}
	}
	if want := "weather.alert.applied Alicante \u22122 °C; 2 charge points stopped,weather.cancel.applied Alicante 1.5 °C"; strings.Join(applied, ",") != want {
		t.Errorf("audit: %q, want %q", applied, want)
	}
}

// An alert raised while Central is down is applied when it returns; a
// cancel made while it is down again leaves no charge point stopped.
func TestWeatherAlertWhileCentralIsDownIsAppliedWhenItReturns(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = []network.ChargePoint{{ID: "CP-001", Location: "Alicante"}, {ID: "CP-002", Location: "Madrid"}}
	n := startNet(t, h, cfg)
	provider, err := weather.NewFileProvider("", 1, h.Logger)
	if err != nil {
		t.Fatal(err)
	}
	// The office knows its cities without Central, which is down.
	if _, err := weather.Start(h.Sys, weather.Config{Bridge: h.Bridge, Provider: provider, Interval: 50 * time.Millisecond,
		Cities: []string{"Alicante", "Madrid"}, Logger: h.Logger}, supervision.DefaultBudget(), h.Stats); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Weather", "Madrid:", "no alert")) > 0 },
		func() string { return "the office has not read Madrid" })

	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	provider.SetTemperature("Alicante", -4.5)
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("INFO", "Weather alert for Alicante: \u22124.5 °C")) == 1 },
		func() string { return "the office raised no alert" })
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	stopped := messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
	waitReason(t, n, "CP-001", stopped, "weather alert: Alicante \u22124.5 °C")
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)

	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	provider.SetTemperature("Alicante", 2)
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("INFO", "Weather alert for Alicante cancelled: 2 °C")) == 1 },
		func() string { return "the office cancelled no alert" })
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// A restarted Central reads a city's old alert and its cancel from the
// topic: the city is not stopped and resumed, so a supply running there
// goes on (no ticket).
func TestWeatherReplayOfAnAlertAndItsCancelLeavesSuppliesRunning(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.SupplyDuration = time.Minute
	cfg.ChargePoints = []network.ChargePoint{{ID: "CP-001", Location: "Alicante"}}
	n := startNet(t, h, cfg)
	provider := startWeather(t, h, n)
	provider.SetTemperature("Alicante", -1)
	waitReason(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED, "weather alert: Alicante \u22121 °C")
	provider.SetTemperature("Alicante", 4)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	request(h, "r1", "alice", "CP-001")
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)

	applied := len(h.Logs.Lines("Central", "Applied the weather alert records"))
	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	// The new Central has read the weather topics (its readings show) and
	// adopted the running supply.
	testkit.Eventually(t, wait, func() bool {
		res, err := n.Panel().(central.WeatherPanel).Weather(ctx2s(t))
		return err == nil && len(res.Cities) == 1 && len(res.Cities[0].History) > 5
	}, func() string { return "Central has not read the readings again" })
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Central", "Weather alert for Alicante")) >= 2 },
		func() string { return "the first Central did not apply the alert and its cancel" })
	// The second Central applied what it read.
	testkit.Eventually(t, wait, func() bool { return len(h.Logs.Lines("Central", "Applied the weather alert records")) > applied },
		func() string { return "the restarted Central applied no weather alert record" })
	if got := ticketsOf(h, "alice"); len(got) != 0 {
		t.Fatalf("the replay ended alice's supply: %v", got)
	}
	if v := view(t, n, "CP-001"); v.State != messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING {
		t.Fatalf("CP-001 is %s (%s) after the replay", central.StateName(v.State), v.Reason)
	}
	if got := h.Logs.Lines("Central", "CP-001 STOPPED"); len(got) != 1 {
		t.Fatalf("CP-001 stopped %d times, want once (before the restart): %q", len(got), got)
	}
}

// The office restarts while a city is frozen and the city thaws meanwhile:
// the new office's first reading cancels the alert (no city left stopped).
func TestWeatherOfficeRestartCancelsAnAlertOfItsEarlierLife(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = []network.ChargePoint{{ID: "CP-001", Location: "Alicante"}}
	n := startNet(t, h, cfg)
	provider, err := weather.NewFileProvider("", 1, h.Logger)
	if err != nil {
		t.Fatal(err)
	}
	office := func() *actor.PID {
		pid, err := weather.Start(h.Sys, weather.Config{Bridge: h.Bridge, Provider: provider, Interval: 50 * time.Millisecond,
			Cities: []string{"Alicante"}, Logger: h.Logger}, supervision.DefaultBudget(), h.Stats)
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	first := office()
	provider.SetTemperature("Alicante", -3)
	waitReason(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED, "weather alert: Alicante \u22123 °C")
	if err := h.Sys.Root.StopFuture(first).Wait(); err != nil {
		t.Fatal(err)
	}
	provider.SetTemperature("Alicante", 6)
	second := office()
	t.Cleanup(func() { _ = h.Sys.Root.StopFuture(second).Wait() })
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	if got := h.Logs.Lines("Central", "Weather alert for Alicante cancelled (6 °C)"); len(got) != 1 {
		t.Errorf("want one cancel applied by Central, got %q", got)
	}
}

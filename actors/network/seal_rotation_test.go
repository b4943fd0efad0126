package network_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

// splitSite runs Central on the harness's bridge and keyring, and one
// charge point whose engine has a bridge and a keyring of its own, as in
// evnode's processes: the engine holds only the key its monitor hands it.
type splitSite struct {
	central, engine, monitor *actor.PID
	engineKeys               *seal.Keyring
}

func startSplitSite(t *testing.T, h *testkit.Harness, cpID string, supply time.Duration) *splitSite {
	t.Helper()
	s := &splitSite{engineKeys: seal.NewKeyring()}
	spawn := func(name string, props *actor.Props, err error) *actor.PID {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		pid, err := h.Sys.Root.SpawnNamed(props, name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.Sys.Root.StopFuture(pid).Wait() })
		return pid
	}
	bcfg := bridge.Config{Brokers: []string{h.Broker.Addr()}, WaitAttempts: 50, WaitInterval: 100 * time.Millisecond, Partitions: 2,
		Keys: s.engineKeys, ClientID: "engine-" + cpID}
	bprops, err := bridge.Props(bcfg, h.Logger, nil)
	engineBridge := spawn("engine-bridge-"+cpID, bprops, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.AwaitReady(ctx, h.Sys, engineBridge); err != nil {
		t.Fatal(err)
	}
	props, err := central.Props(central.Config{Store: h.Store, Bridge: h.Bridge, Keys: h.Keys, LivenessTimeout: 400 * time.Millisecond,
		StartTimeout: 3 * time.Second, Logger: h.Logger, Stats: h.Stats})
	s.central = spawn("central", props, err)
	props, err = chargepoint.Props(chargepoint.Config{CPID: cpID, Bridge: engineBridge, Keys: s.engineKeys,
		TelemetryInterval: 50 * time.Millisecond, SupplyDuration: supply, Logger: h.Logger, Stats: h.Stats})
	s.engine = spawn("engine-"+cpID, props, err)
	props, err = monitor.Props(monitor.Config{CPID: cpID, Secret: "s3cret-" + cpID, Engine: s.engine, Central: s.central,
		HealthInterval: 50 * time.Millisecond, HealthTimeout: 40 * time.Millisecond, Logger: h.Logger, Stats: h.Stats})
	s.monitor = spawn("monitor-"+cpID, props, err)
	return s
}

func (s *splitSite) state(t *testing.T, h *testkit.Harness, cpID string) central.ChargePointView {
	t.Helper()
	snap := h.Ask(s.central, &central.GetSnapshot{}).(*central.Snapshot)
	for _, v := range snap.ChargePoints {
		if v.ID == cpID {
			return v
		}
	}
	return central.ChargePointView{}
}

func (s *splitSite) rotate(t *testing.T, h *testkit.Harness, cpID string) {
	t.Helper()
	if res := h.Ask(s.central, &central.RotateKey{CPID: cpID}).(*central.OperatorResult); res.Err != "" {
		t.Fatalf("rotate: %s", res.Err)
	}
	staged, ok := h.Keys.Staged(cpID)
	if !ok {
		t.Fatal("the rotation staged no key")
	}
	// The engine gets it from its monitor, Central seals with it once the
	// engine's liveness names it.
	testkit.Eventually(t, wait, func() bool {
		e, ok1 := s.engineKeys.Current(cpID)
		c, ok2 := h.Keys.Current(cpID)
		return ok1 && ok2 && e.ID == staged.ID && c.ID == staged.ID
	}, func() string { return "the new key did not reach both sides" })
}

// A rotation mid-supply loses nothing, with the engine holding its own
// keyring as in evnode: two rotations during one supply, the supply's
// telemetry and end (sealed under the old key, then the new) all open, one
// ticket with the energy of the whole supply, no record refused.
func TestRotationMidSupplyLosesNothing(t *testing.T) {
	h := testkit.NewSealed(t)
	s := startSplitSite(t, h, "CP-001", 3*time.Second)
	testkit.Eventually(t, wait, func() bool {
		return s.state(t, h, "CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
	}, func() string { return "CP-001 is " + central.StateName(s.state(t, h, "CP-001").State) })
	var first *seal.Key
	testkit.Eventually(t, wait, func() bool { first, _ = s.engineKeys.Current("CP-001"); return first != nil },
		func() string { return "the engine never got its key" })

	request(h, "r-1", "alice", "CP-001")
	testkit.Eventually(t, wait, func() bool {
		v := s.state(t, h, "CP-001")
		return v.Session != nil && v.Session.KWh > 0
	}, func() string { return "no supply running" })
	s.rotate(t, h, "CP-001")
	time.Sleep(200 * time.Millisecond) // telemetry under the new key
	s.rotate(t, h, "CP-001")
	rotated := time.Now()
	second, _ := s.engineKeys.Current("CP-001")
	if first == nil || second == nil || first.ID == second.ID {
		t.Fatalf("keys before and after: %v, %v", first, second)
	}

	var tickets []*messages.Ticket
	testkit.Eventually(t, wait, func() bool {
		for _, ts := range h.Rec.Get().Tickets {
			tickets = ts
		}
		return len(tickets) > 0
	}, func() string { return "no ticket" })
	tk := tickets[0]
	// 3 s at 22 kW is 0.0183 kWh; a supply cut short by a lost end or
	// telemetry would show less (or no ticket at all).
	if !tk.GetEndedAt().AsTime().After(rotated) {
		t.Fatalf("the supply ended before the rotations were done: %v", tk)
	}
	if tk.GetReason() != messages.EndReason_END_REASON_COMPLETED || tk.GetKwh() < 0.9*22*3/3600 {
		t.Fatalf("ticket %v: want COMPLETED with the whole supply's energy", tk)
	}
	if lines := h.Logs.Lines("Refused a record"); len(lines) > 0 {
		t.Fatalf("records refused across the rotations:\n%s", strings.Join(lines, "\n"))
	}
	h.Rec.CheckInvariant(wait, h.Stats)
}

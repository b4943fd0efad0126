package central_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// TestAdoptedSupplyMentionsARestartOnlyAfterOne: a supply Central did not
// start is "a supply that started before Central's restart" only when
// Central did restart (it found earlier registrations), never in its first life.
func TestAdoptedSupplyMentionsARestartOnlyAfterOne(t *testing.T) {
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for life, wantRestart := range []bool{false, true} {
		sys, logger, logs := testkit.NewSystem(t)
		br := testkit.NewProbe(t, sys, nil)
		props, err := central.Props(central.Config{Store: st, Bridge: br.PID, Logger: logger, Stats: stats.New()})
		if err != nil {
			t.Fatal(err)
		}
		c := sys.Root.Spawn(props)
		// A stand-in monitor with a stable PID: Central takes liveness only
		// from the monitor that registered.
		monitor := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			if m, ok := ctx.Message().(*relay); ok {
				ctx.Request(c, m.msg)
			}
		}))
		sys.Root.Send(monitor, &relay{msg: &messages.RegisterChargePoint{CpId: "CP-001", Secret: "s", Kw: 22, PriceEurPerKwh: 0.3}})
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicStatus, "CP-001", 0, 0, &messages.SupplyStarted{
			SessionId: "S-life", DriverId: "bob", CpId: "CP-001", Kw: 22, StartedAt: timestamppb.Now()}, func() {}))
		// Central adopts it once the engine confirms it through its monitor.
		sys.Root.Send(monitor, &relay{msg: &messages.Liveness{CpId: "CP-001", Seq: 1, EngineOk: true,
			EngineState: messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING, SessionId: "S-life", DriverId: "bob"}})
		testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "CP-001 is supplying bob")) == 1 },
			func() string { return "no line for the adopted supply" })
		line := logs.Lines("INFO", "CP-001 is supplying bob")[0]
		if got := len(logs.Lines("INFO", "before Central's restart")) == 1; got != wantRestart {
			t.Errorf("life %d (restarted %v): %q", life, wantRestart, line)
		}
		_ = sys.Root.StopFuture(c).Wait()
	}
}

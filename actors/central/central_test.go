package central_test

import (
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

const wait = 5 * time.Second

// Central as one actor, with a probe in place of the bridge.
func TestCentralAlone(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run := stats.New()
	props, err := central.Props(central.Config{Store: st, Bridge: br.PID, LivenessTimeout: 150 * time.Millisecond,
		HistorySize: 4, Logger: logger, Stats: run})
	if err != nil {
		t.Fatal(err)
	}
	c := sys.Root.Spawn(props)
	ask := func(msg any) any {
		t.Helper()
		res, err := sys.Root.RequestFuture(c, msg, wait).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// it subscribes to what it consumes
	testkit.Eventually(t, wait, func() bool {
		n := 0
		for _, m := range br.Got() {
			if s, ok := m.(*bridge.Subscribe); ok && s.Group == "central" {
				n++
			}
		}
		return n == 4
	}, func() string { return "not subscribed to its 4 topics" })

	if a := ask(&messages.Liveness{CpId: "CP-001", Seq: 1}).(*messages.LivenessAck); a.GetKnown() {
		t.Fatal("an unknown monitor must be told to register")
	}
	if r := ask(&messages.RegisterChargePoint{CpId: "CP-001", Secret: "a", Kw: 22, PriceEurPerKwh: 0.3}).(*messages.RegistrationResult); !r.GetAccepted() {
		t.Fatalf("registration refused: %v", r)
	}
	if r := ask(&messages.RegisterChargePoint{CpId: "CP-001", Secret: "b"}).(*messages.RegistrationResult); r.GetAccepted() || r.GetReason() != "wrong secret" {
		t.Fatalf("a wrong secret: %v", r)
	}
	for i := 0; i < 3; i++ {
		if r := ask(&messages.RegisterChargePoint{CpId: "CP-009"}).(*messages.RegistrationResult); r.GetAccepted() {
			t.Fatal("a registration without a secret was accepted")
		}
	}
	if got := logs.Lines("WARN", "Rejected registration of CP-009: no secret presented"); len(got) != 1 {
		t.Fatalf("want one WARN for three rejected attempts, got %q", got)
	}
	// silence: Central's own timer disconnects the charge point
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("WARN", "CP-001 DISCONNECTED")) == 1 },
		func() string { return "not disconnected by the timer" })

	// the same supply end twice: one ticket, both deliveries done
	end := &messages.SupplyEnded{SessionId: "S1", RequestId: "R1", DriverId: "alice", CpId: "CP-001", Kwh: 4.12, Eur: 1.236,
		PriceEurPerKwh: 0.3, StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(), Reason: messages.EndReason_END_REASON_COMPLETED}
	var done atomic.Int32
	for i := 0; i < 2; i++ {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicSessionEnd, "CP-001", 0, int64(i), end, func() { done.Add(1) }))
	}
	testkit.Eventually(t, wait, func() bool { return done.Load() == 2 }, func() string { return "deliveries not done" })
	if n := len(br.Published(bridge.TopicTickets)); n != 1 {
		t.Fatalf("%d tickets for one supply", n)
	}
	if len(logs.Lines("INFO", "Ticket for alice at CP-001: 4.12 kWh, 1.24 EUR (completed)")) != 1 {
		t.Error("no operator line for the ticket")
	}
	if run.Tickets.Load() != 1 || run.SuppliesStarted.Load() != 1 || run.SuppliesCompleted.Load() != 1 {
		t.Errorf("stats %+v", run.Snapshot())
	}
	ev := ask(&central.GetEvents{}).(*central.Events)
	if len(ev.Events) != 4 || ev.Events[len(ev.Events)-1].Kind != central.EventTicket {
		t.Fatalf("history not bounded to 4 or not newest last: %+v", ev.Events)
	}
	// paging, as /api/events documents it: the first Limit events after Since, oldest first
	first := ev.Events[0].Seq
	page := ask(&central.GetEvents{Since: first, Limit: 2}).(*central.Events)
	if len(page.Events) != 2 || page.Events[0].Seq != first+1 || page.Events[1].Seq != first+2 {
		t.Fatalf("events after %d, limit 2: %+v (want %d and %d)", first, page.Events, first+1, first+2)
	}
	snap := ask(&central.GetSnapshot{}).(*central.Snapshot)
	if snap.Totals.Tickets != 1 || snap.Totals.ByState[messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED] != 1 {
		t.Fatalf("snapshot %+v", snap.Totals)
	}
	// an operator command on an unknown charge point says so
	if r := ask(&central.KnockOut{CPID: "CP-404", KO: true}).(*central.OperatorResult); r.Err == "" {
		t.Fatal("KO of an unknown charge point accepted")
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := central.Props(central.Config{}); err == nil {
		t.Fatal("a Central without store and bridge accepted")
	}
}

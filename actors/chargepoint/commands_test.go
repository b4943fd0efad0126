package chargepoint_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// Old commands replayed to an engine (e.g. started with a new consumer group
// that reads central.commands from the beginning): a START_SUPPLY past its
// age limit, or for a session Central already closed, never runs — each is
// one clear log line — while a fresh one does. The engine runs on a real
// bridge and broker; the records it reads are what Central would have sent.
func TestEngineIgnoresExpiredAndClosedCommands(t *testing.T) {
	h := testkit.New(t)
	props, err := chargepoint.Props(chargepoint.Config{CPID: "CP-001", Bridge: h.Bridge, SupplyDuration: time.Minute,
		Group: "engine-fresh-group", Logger: h.Logger, Stats: h.Stats})
	if err != nil {
		t.Fatal(err)
	}
	engine := h.Sys.Root.Spawn(props)
	send := func(cmd *messages.Command) {
		cmd.CpId = "CP-001"
		h.Sys.Root.Send(h.Bridge, &bridge.Publish{Topic: bridge.TopicCommands, Key: "CP-001", Msg: cmd})
	}
	start := func(sid string, sent, expires time.Time) *messages.Command {
		return &messages.Command{CommandId: "C-" + sid, SentAt: timestamppb.New(sent), ExpiresAt: timestamppb.New(expires),
			Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{SessionId: sid, RequestId: "R-" + sid, DriverId: "alice"}}}
	}
	now := time.Now()
	// a start Central sent 50 s ago, valid for 5 s
	send(start("S-EXPIRED", now.Add(-50*time.Second), now.Add(-45*time.Second)))
	// a supply Central closed before the engine heard of its start (the
	// stop overtook it, or the start is replayed after the stop)
	send(&messages.Command{CommandId: "C-STOP", SentAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(time.Minute)),
		Kind: &messages.Command_StopSupply{StopSupply: &messages.StopSupply{SessionId: "S-CLOSED"}}})
	send(start("S-CLOSED", now, now.Add(time.Minute)))
	// then a fresh start: once it runs, the ones before it were handled
	send(start("S-FRESH", now, now.Add(time.Minute)))

	testkit.Eventually(t, 10*time.Second, func() bool {
		st := h.Ask(engine, &chargepoint.GetState{}).(*chargepoint.State)
		return st.SessionID == "S-FRESH"
	}, func() string { return "the fresh start did not run" })
	if n := len(h.Logs.Lines("INFO", "Ignored an expired START_SUPPLY command", "session_id=S-EXPIRED")); n != 1 {
		t.Errorf("want one line for the expired start, got %d", n)
	}
	if n := len(h.Logs.Lines("INFO", "Ignored a START_SUPPLY command for session S-CLOSED")); n != 1 {
		t.Errorf("want one line for the start of a closed session, got %d", n)
	}
	for _, sid := range []string{"S-EXPIRED", "S-CLOSED"} {
		if got := h.Logs.Lines("Supplying", "session_id="+sid); len(got) != 0 {
			t.Errorf("the engine ran %s: %q", sid, got)
		}
	}
	// invariant: the one supply that started ends once; nothing else started
	h.Ask(engine, &chargepoint.Shutdown{})
	testkit.Eventually(t, 10*time.Second, func() bool {
		rs := h.Rec.Get()
		return len(rs.Ended["S-FRESH"]) == 1
	}, func() string { return "the fresh supply did not end" })
	rs := h.Rec.Get()
	if len(rs.Started) != 1 || rs.Started["S-FRESH"] != 1 || len(rs.Ended) != 1 {
		t.Fatalf("starts %v, ends %v: want only S-FRESH, once", rs.Started, len(rs.Ended))
	}
}

package network_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// Replays: the exact bytes of a sealed record written again to the same
// topic under the same key open, like the original. These tests show what
// such a copy can do.

// openSealedOrNil opens a sealed record of cpID on topic with the
// harness's keys: its message, or nil when it does not open.
func openSealedOrNil(h *testkit.Harness, topic, cpID string, value []byte) proto.Message {
	env := new(messages.Envelope)
	if err := proto.Unmarshal(value, env); err != nil || len(env.GetSealed()) == 0 {
		return nil
	}
	k, err := h.Keys.Opener(env.GetKeyId(), cpID)
	if err != nil {
		return nil
	}
	plain, err := k.Open(nil, env.GetSealed(), seal.AppendAAD(nil, topic, int32(env.GetType()), env.GetKeyId(), cpID))
	if err != nil {
		return nil
	}
	clear, err := proto.Marshal(&messages.Envelope{Type: env.GetType(), SchemaVersion: env.GetSchemaVersion(), Payload: plain})
	if err != nil {
		return nil
	}
	msg, _, err := bridge.Decode(clear)
	if err != nil {
		return nil
	}
	return msg
}

// sealedRecordWhere reads topic from its start, as anyone who can reach the
// broker could, and returns the first sealed record of key whose message
// match accepts.
func sealedRecordWhere(t *testing.T, h *testkit.Harness, topic, key string, match func(proto.Message) bool) []byte {
	t.Helper()
	return testutil.RecordWhere(t, h.Broker.Addr(), topic, "such sealed record of "+key, func(k string, v []byte) bool {
		return k == key && match(openSealedOrNil(h, topic, key, v))
	})
}

// engineState asks cpID's engine for its state.
func engineState(t *testing.T, h *testkit.Harness, n *network.Network, cpID string) messages.ChargePointState {
	t.Helper()
	res, err := h.Sys.Root.RequestFuture(n.Engine(cpID), &chargepoint.GetState{}, 2*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(*chargepoint.State).State
}

func isCommand(pick func(*messages.Command) bool) func(proto.Message) bool {
	return func(m proto.Message) bool {
		cmd, ok := m.(*messages.Command)
		return ok && pick(cmd)
	}
}

// An operator's STOP, lifted later and copied back onto central.commands,
// must not stop the charge point again: before, the engine obeyed it and
// ended the supply of the driver then charging (a ticket STOPPED_BY_CENTRAL
// that no operator ordered). Central's orders carry the time they were
// sent (sealed): an engine no longer carries out an order older than the
// last one it carried out.
func TestReplayedStopOrderDoesNotOverturnTheResume(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	cfg.SupplyDuration = 3 * time.Second
	n := startNet(t, h, cfg)

	if r, err := n.Panel().Stop(ctx2s(t), "CP-001"); err != nil || r.Affected != 1 {
		t.Fatalf("stop: %+v %v", r, err)
	}
	testkit.Eventually(t, wait, func() bool {
		return engineState(t, h, n, "CP-001") == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
	}, func() string { return "the engine did not stop" })
	stop := sealedRecordWhere(t, h, bridge.TopicCommands, "CP-001", isCommand(func(c *messages.Command) bool { return c.GetStop() != nil }))
	if r, err := n.Panel().Resume(ctx2s(t), "CP-001"); err != nil || r.Affected != 1 {
		t.Fatalf("resume: %+v %v", r, err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)

	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001"}})
	sid := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING).Session.SessionID
	produceBytes(t, h, bridge.TopicCommands, "CP-001", stop)

	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetSessionId() != sid || tk.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("the replayed STOP ended alice's supply: ticket %s, %s", tk.GetSessionId(), tk.GetReason())
	}
	if lines := h.Logs.Lines("CP-001", "Ignored a STOP command"); len(lines) != 1 || !strings.Contains(lines[0], "INFO") {
		t.Errorf("want one INFO line about the replayed STOP, got:\n%s", strings.Join(lines, "\n"))
	}
	if st := engineState(t, h, n, "CP-001"); st == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED {
		t.Fatal("the engine is STOPPED after the replay")
	}
}

func isMessage[M proto.Message](pick func(M) bool) func(proto.Message) bool {
	return func(m proto.Message) bool {
		x, ok := m.(M)
		return ok && pick(x)
	}
}

// The records of a supply that has its ticket, copied back onto their
// topics (its start, a reading, its end) with an old STOPPED status of the
// charge point: each opens, and none has an effect. Central ticketed the
// session once and ignores what comes after its end; the status only
// feeds Central's note of the engine's own state, which the monitor's next
// liveness report overwrites, and the panel does not show.
func TestReplayedRecordsOfAnEndedSupplyChangeNothing(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)
	if r, err := n.Panel().Stop(ctx2s(t), "CP-001"); err != nil || r.Affected != 1 {
		t.Fatalf("stop: %+v %v", r, err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED)
	stopped := sealedRecordWhere(t, h, bridge.TopicStatus, "CP-001", isMessage(func(s *messages.StatusChange) bool {
		return s.GetState() == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
	}))
	if r, err := n.Panel().Resume(ctx2s(t), "CP-001"); err != nil || r.Affected != 1 {
		t.Fatalf("resume: %+v %v", r, err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001"}})
	sid := waitTickets(t, h, n, "alice", 1)[0].GetSessionId()

	replays := map[string][]byte{
		bridge.TopicStatus: sealedRecordWhere(t, h, bridge.TopicStatus, "CP-001", isMessage(func(s *messages.SupplyStarted) bool { return s.GetSessionId() == sid })),
		bridge.TopicTelemetry: sealedRecordWhere(t, h, bridge.TopicTelemetry, "CP-001", isMessage(func(r *messages.Telemetry) bool {
			return r.GetSessionId() == sid && r.GetKwh() > 0
		})),
		bridge.TopicSessionEnd: sealedRecordWhere(t, h, bridge.TopicSessionEnd, "CP-001", isMessage(func(e *messages.SupplyEnded) bool { return e.GetSessionId() == sid })),
	}
	for topic, v := range replays {
		produceBytes(t, h, topic, "CP-001", v)
	}
	produceBytes(t, h, bridge.TopicStatus, "CP-001", stopped)
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Ended[sid]) == 2 },
		func() string { return "the replayed end is not on Kafka" })
	// Central reads each charge point's records in order: once bob's
	// supply at CP-001 has its ticket, it has handled the copies before it.
	addDriver(t, n, network.Driver{ID: "bob", Requests: []string{"CP-001"}})
	waitTickets(t, h, n, "bob", 1)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)

	if ts := h.Rec.Get().Tickets[sid]; len(ts) != 1 {
		t.Fatalf("alice's supply has %d tickets after the replay", len(ts))
	}
	if got := h.Stats.Tickets.Load(); got != 2 {
		t.Fatalf("Central counted %d tickets, want alice's and bob's", got)
	}
	if v := view(t, n, "CP-001"); v.Session != nil {
		t.Fatalf("CP-001 shows a session after the replay: %+v", v.Session)
	}
	if st := engineState(t, h, n, "CP-001"); st != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
		t.Fatalf("CP-001's engine is %s", st)
	}
	if got := refusals(h, "CP-001"); len(got) != 0 {
		t.Fatalf("a replay is no refusal (it opens): %q", got)
	}
	// alice is not busy again: a new request of hers is served.
	request(h, "R-alice-again", "alice", "CP-002")
	testkit.Eventually(t, wait, func() bool { return len(ticketsOf(h, "alice")) == 2 || deniedRequest(h, "R-alice-again") != nil },
		func() string { return "alice's new request was neither served nor denied" })
	if d := deniedRequest(h, "R-alice-again"); d != nil {
		t.Fatalf("alice's new request was denied: %s (%s)", d.GetReason(), d.GetDetail())
	}
	h.Rec.ForgetRepeatedEnd(sid)
}

func deniedRequest(h *testkit.Harness, reqID string) *messages.ChargeDenied {
	for _, d := range h.Rec.Get().Denied {
		if d.GetRequestId() == reqID {
			return d
		}
	}
	return nil
}

// A reading of the running supply copied back onto cp.telemetry took the
// panel's figures (and the driver's) back to that earlier reading until
// the next one came. Central keeps a supply's energy from going back.
func TestReplayedReadingDoesNotTakeTheSupplyBack(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001")
	cfg.SupplyDuration = 20 * time.Second
	cfg.TelemetryInterval = 400 * time.Millisecond
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	sid := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING).Session.SessionID
	first := sealedRecordWhere(t, h, bridge.TopicTelemetry, "CP-001", isMessage(func(r *messages.Telemetry) bool {
		return r.GetSessionId() == sid && r.GetKwh() > 0
	}))
	firstKWh := openSealedOrNil(h, bridge.TopicTelemetry, "CP-001", first).(*messages.Telemetry).GetKwh()
	var shown float64
	testkit.Eventually(t, wait, func() bool {
		if s := view(t, n, "CP-001").Session; s != nil {
			shown = s.KWh
		}
		return shown > firstKWh
	}, func() string { return "the panel never showed a later reading" })

	produceBytes(t, h, bridge.TopicTelemetry, "CP-001", first)
	// Until Central has handled the copy, the energy on the panel must not
	// go back (the code before showed the copy until the next reading).
	lowest := shown
	testkit.Eventually(t, wait, func() bool {
		if s := view(t, n, "CP-001").Session; s != nil {
			lowest = min(lowest, s.KWh)
		}
		return lowest < shown || len(h.Logs.Lines("DEBUG", "Ignored a reading of CP-001 older than the one shown")) > 0
	}, func() string { return "the copy was neither shown nor ignored" })
	if lowest < shown {
		t.Fatalf("the replayed reading took the panel back from %.4f to %.4f kWh", shown, lowest)
	}
	if got := refusals(h, "CP-001"); len(got) != 0 {
		t.Fatalf("a replay is no refusal (it opens): %q", got)
	}
}

package network_test

import (
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
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
	c, err := sarama.NewConsumer([]string{h.Broker.Addr()}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan []byte, 1)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = pc.Close() }()
		go func() {
			for m := range pc.Messages() {
				if string(m.Key) == key && match(openSealedOrNil(h, topic, key, m.Value)) {
					select {
					case found <- m.Value:
					default:
					}
					return
				}
			}
		}()
	}
	select {
	case v := <-found:
		return v
	case <-time.After(wait):
		t.Fatalf("no such record of %s on %s", key, topic)
	}
	return nil
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

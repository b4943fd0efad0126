package central_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// A supply this Central runs whose end another Central of the group got
// (it had the partition for a moment: after a Kafka node's crash one
// Central formed a generation alone and took every partition, while the
// others joined again) is ended here by that Central's ticket on
// driver.tickets. Before, the end was consumed and ticketed there, never
// delivered again here, and the supply was shown running for good (seen:
// 2 supplies still shown running 30 s after the drivers stopped).
func TestSharedCentralEndsASupplyAnotherCentralTicketed(t *testing.T) {
	sys, br, c, logs := sharedCentralWithLogs(t, time.Minute)
	ours := cpIn(t, 1, 6)
	sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: 1, MemberID: "m1",
		Partitions: map[string][]int32{bridge.TopicStatus: {0, 1}}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "owns partitions [0 1] of cp.status")) == 1 },
		func() string { return "no assignment:\n" + logs.String() })
	readBackMarks(t, sys, c, br) // it has read the group's registry
	res, err := sys.Root.RequestFuture(c, &messages.RegisterChargePoint{CpId: ours, Secret: "s"}, wait).Result()
	if err != nil || !res.(*messages.RegistrationResult).GetAccepted() {
		t.Fatalf("register %s: %v %v", ours, res, err)
	}
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicDriverRequests, "alice", 0, 0, &messages.ChargeRequest{
		RequestId: "R-1", DriverId: "alice", CpId: ours, RequestedAt: timestamppb.New(time.Now().Add(time.Second))}, nil))
	testkit.Eventually(t, wait, func() bool { return len(br.Published(bridge.TopicCommands)) == 1 },
		func() string { return fmt.Sprintf("commands %v", br.Published(bridge.TopicCommands)) })
	sid := br.Published(bridge.TopicCommands)[0].(*messages.Command).GetStartSupply().GetSessionId()
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicStatus, ours, 1, 0, &messages.SupplyStarted{
		SessionId: sid, RequestId: "R-1", DriverId: "alice", CpId: ours, StartedAt: timestamppb.Now(), Kw: 22}, nil))
	shown := func() *central.SessionView {
		res, err := sys.Root.RequestFuture(c, &central.GetSnapshot{}, wait).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range res.(*central.Snapshot).ChargePoints {
			if cp.ID == ours {
				return cp.Session
			}
		}
		return nil
	}
	testkit.Eventually(t, wait, func() bool { return shown() != nil }, func() string { return "the supply is not shown running" })

	// Another Central ticketed it (its end went there).
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicTickets, "alice", 0, 0, &messages.Ticket{
		TicketId: "T-" + sid, SessionId: sid, RequestId: "R-1", DriverId: "alice", CpId: ours, Kwh: 1.1, Eur: 0.33,
		StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(), Reason: messages.EndReason_END_REASON_COMPLETED}, nil))
	testkit.Eventually(t, wait, func() bool { return shown() == nil },
		func() string { return fmt.Sprintf("%s still shows supply %s running after its ticket", ours, sid) })
	for _, m := range br.Published(bridge.TopicTickets) {
		t.Fatalf("this Central ticketed the supply again: %v", m)
	}
	// The driver is free again: a new request of hers is served.
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicDriverRequests, "alice", 0, 0, &messages.ChargeRequest{
		RequestId: "R-2", DriverId: "alice", CpId: ours, RequestedAt: timestamppb.New(time.Now().Add(time.Second))}, nil))
	testkit.Eventually(t, wait, func() bool { return len(br.Published(bridge.TopicCommands)) == 2 },
		func() string {
			return fmt.Sprintf("no start for the driver's next request: %v", br.Published(bridge.TopicDriverUpdates))
		})
}

// sharedCentralWithLogs spawns a Central of a shared group (at 10.0.0.1:8090) on an
// in-memory store, a probe standing in for its bridge.
func sharedCentralWithLogs(t *testing.T, liveness time.Duration) (*actor.ActorSystem, *testkit.Probe, *actor.PID, *testkit.LogBuffer) {
	t.Helper()
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	props, err := central.Props(central.Config{Store: st, Bridge: br.PID, Shared: true, Address: "10.0.0.1:8090",
		LivenessTimeout: liveness, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return sys, br, sys.Root.Spawn(props), logs
}

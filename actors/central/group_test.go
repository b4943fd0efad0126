package central_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// cpIn returns a charge point id whose key falls in partition p of n.
func cpIn(t *testing.T, p, n int32) string {
	t.Helper()
	for i := 1; i < 10000; i++ {
		id := fmt.Sprintf("CP-%03d", i)
		if bridge.PartitionOf(id, n) == p {
			return id
		}
	}
	t.Fatalf("no id in partition %d", p)
	return ""
}

// A Central of a shared group serves only the charge points of its
// partitions: before its first assignment it answers monitors "waiting";
// then it registers its own, passes another Central's on to it (the
// monitor stays the sender and gets the owner's answer), answers only the
// requests of its charge points made after it got their partition, and
// drops without DISCONNECTED the charge points of a partition it loses.
func TestSharedCentralServesItsPartitionsOnly(t *testing.T) {
	sys, br, c, logs := sharedCentralWithLogs(t, time.Second)
	ask := func(msg any) any {
		t.Helper()
		res, err := sys.Root.RequestFuture(c, msg, wait).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	ours, theirs := cpIn(t, 1, 6), cpIn(t, 4, 6)

	testkit.Eventually(t, wait, func() bool {
		for _, m := range br.Got() {
			if s, ok := m.(*bridge.Subscribe); ok && slices.Equal(s.Topics, []string{bridge.TopicStatus, bridge.TopicTelemetry, bridge.TopicSessionEnd}) {
				return true
			}
		}
		return false
	}, func() string { return "no shared subscription of the cp.* topics" })
	if r := ask(&messages.RegisterChargePoint{CpId: ours, Secret: "s"}).(*messages.RegistrationResult); !r.GetWaiting() {
		t.Fatalf("before its first assignment: %v, want waiting", r)
	}

	sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: 1, MemberID: "m1",
		Partitions: map[string][]int32{bridge.TopicStatus: {0, 1}}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "owns partitions [0 1] of cp.status")) == 1 },
		func() string { return "no INFO line of the assignment:\n" + logs.String() })
	readBackMarks(t, sys, c, br)
	testkit.Eventually(t, wait, func() bool {
		for _, m := range br.Published(bridge.TopicCentralMembers) {
			if r := m.(*messages.CentralMember); r.GetAddress() == "10.0.0.1:8090" && slices.Equal(r.GetPartitions(), []int32{0, 1}) {
				return true
			}
		}
		return false
	}, func() string { return "its partitions not published on central.members" })
	if r := ask(&messages.RegisterChargePoint{CpId: ours, Secret: "s"}).(*messages.RegistrationResult); !r.GetAccepted() {
		t.Fatalf("its own charge point: %v", r)
	}
	if r := ask(&messages.RegisterChargePoint{CpId: theirs, Secret: "s"}).(*messages.RegistrationResult); !r.GetWaiting() {
		t.Fatalf("a charge point no known Central owns: %v, want waiting", r)
	}

	// Another Central (here a stand-in in this process) owns partition 4.
	owner, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		if f, ok := ctx.Message().(*messages.CentralForward); ok && f.GetRegister() != nil {
			ctx.Respond(&messages.RegistrationResult{CpId: f.GetRegister().GetCpId(), Accepted: true, CentralInstance: "other"})
		}
	}), central.ActorName)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(owner)
	at := timestamppb.Now()
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicCentralMembers, "central/other", 0, 0, &messages.CentralMember{
		Group: "central", Address: sys.Address(), Instance: "other", Generation: 1, Partitions: []int32{2, 3, 4, 5}, At: at}, nil))
	if r := ask(&messages.RegisterChargePoint{CpId: theirs, Secret: "s"}).(*messages.RegistrationResult); !r.GetAccepted() || r.GetCentralInstance() != "other" {
		t.Fatalf("a charge point of another Central: %v, want the owner's answer", r)
	}

	// Requests: only its own charge points', made after it got the partition.
	request := func(id, cp string, at time.Time) {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicDriverRequests, "alice", 0, 0, &messages.ChargeRequest{
			RequestId: id, DriverId: "alice", CpId: cp, RequestedAt: timestamppb.New(at)}, nil))
	}
	request("R-before", ours, time.Now().Add(-2*time.Second))
	request("R-theirs", theirs, time.Now())
	request("R-ours", ours, time.Now())
	testkit.Eventually(t, wait, func() bool { return len(br.Published(bridge.TopicCommands)) == 1 },
		func() string { return fmt.Sprintf("commands %v", br.Published(bridge.TopicCommands)) })
	if cmd := br.Published(bridge.TopicCommands)[0].(*messages.Command); cmd.GetStartSupply().GetRequestId() != "R-ours" {
		t.Fatalf("started %v, want R-ours only", cmd)
	}
	for _, m := range br.Published(bridge.TopicDriverUpdates) {
		if d, ok := m.(*messages.ChargeDenied); ok {
			t.Fatalf("answered a request of another Central or of before its assignment: %v", d)
		}
	}

	// Partition 1 goes to another Central: its charge point is dropped, quietly.
	sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: 2, MemberID: "m1",
		Partitions: map[string][]int32{bridge.TopicStatus: {0}}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
	testkit.Eventually(t, wait, func() bool { return len(ask(&central.GetSnapshot{}).(*central.Snapshot).ChargePoints) == 0 },
		func() string { return "the charge point of the lost partition is still shown" })
	if got := logs.Lines(ours + " DISCONNECTED"); len(got) > 0 {
		t.Fatalf("a lost partition's charge point went DISCONNECTED: %q", got)
	}
	cl := ask(&central.GetCluster{}).(*central.Cluster)
	if len(cl.Members) != 2 || !cl.Central.Shared {
		t.Fatalf("cluster %+v, want this Central and the other", cl)
	}
}

package central_test

import (
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

// sharedCentral spawns a Central of shared group "central" at 10.0.0.1:8090
// (open mode, a bridge probe) and assigns it partitions of 6.
func sharedCentral(t *testing.T, partitions ...int32) (*actor.ActorSystem, *actor.PID, *testkit.Probe) {
	t.Helper()
	sys, logger, _ := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	props, err := central.Props(central.Config{Store: st, Bridge: br.PID, Shared: true, Address: "10.0.0.1:8090",
		LivenessTimeout: time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c := sys.Root.Spawn(props)
	sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: 1, MemberID: "m1",
		Partitions: map[string][]int32{bridge.TopicStatus: partitions}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
	return sys, c, br
}

// readBackMarks delivers to Central c the marks it published on
// central.chargepoints, as the topic would: it has read the group's
// registry up to its start.
func readBackMarks(t *testing.T, sys *actor.ActorSystem, c *actor.PID, br *testkit.Probe) {
	t.Helper()
	var marks []*messages.CentralChargePoint
	testkit.Eventually(t, wait, func() bool {
		marks = marks[:0]
		for _, m := range br.Published(bridge.TopicCentralChargePoints) {
			if r := m.(*messages.CentralChargePoint); r.GetMark() != "" {
				marks = append(marks, r)
			}
		}
		return len(marks) == 6
	}, func() string { return "Central did not publish a mark in each of the 6 partitions" })
	for _, m := range marks {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicCentralChargePoints, "mark", 0, 0, m, nil))
	}
}

// A starting Central of a shared group (open mode) answers "waiting" to a
// charge point it does not know until it has read the group's registry up
// to its start (its marks back): then a monitor with another secret than
// the one the charge point joined with at another Central is rejected, and
// a new charge point joins.
func TestSharedCentralReadsTheRegistryBeforeItPinsASecret(t *testing.T) {
	sys, c, br := sharedCentral(t, 0, 1, 2, 3, 4, 5)
	register := func(id, secret string) *messages.RegistrationResult {
		t.Helper()
		res, err := sys.Root.RequestFuture(c, &messages.RegisterChargePoint{CpId: id, Secret: secret}, wait).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res.(*messages.RegistrationResult)
	}
	testkit.Eventually(t, wait, func() bool { return register("CP-001", "forged").GetWaiting() },
		func() string { return "an unknown charge point not answered waiting before the registry is read" })

	hash, err := store.HashSecret("real")
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicCentralChargePoints, "CP-001", 0, 0, &messages.CentralChargePoint{
		CpId: "CP-001", Location: "Alicante", PriceEurPerKwh: 0.3, Kw: 22, SecretHash: hash, RegisteredAt: timestamppb.Now(),
		At: timestamppb.Now(), Issuer: "10.0.0.2:8090", Group: "central"}, nil))
	readBackMarks(t, sys, c, br)
	if r := register("CP-001", "forged"); r.GetAccepted() || r.GetWaiting() {
		t.Fatalf("a monitor with another secret than the group's: %v, want rejected", r)
	}
	if r := register("CP-001", "real"); !r.GetAccepted() {
		t.Fatalf("the charge point's own monitor: %v, want accepted", r)
	}
	if r := register("CP-002", "new"); !r.GetAccepted() {
		t.Fatalf("a new charge point once the registry is read: %v, want accepted", r)
	}
}

package central_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// A Central that has just got a partition leaves alone a request for a
// charge point of it that it has not heard of yet: the Central that had
// the partition until this rebalance may have answered it already, and
// the charge point's monitor reaches its new owner within a liveness
// timeout. Before, the new owner denied it as not registered while the
// old owner accepted it (a returned Central of three on Kafka: "requests
// answered twice, differently"). Once a liveness timeout has passed, a
// request for a charge point nobody registered is denied as before.
func TestSharedCentralLeavesAloneUnknownChargePointsOfAPartitionJustGained(t *testing.T) {
	const liveness = 2 * time.Second
	sys, br, c, logs := sharedCentralWithLogs(t, liveness)
	known, unknown := cpIn(t, 0, 6), cpIn(t, 1, 6)
	sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: 1, MemberID: "m1",
		Partitions: map[string][]int32{bridge.TopicStatus: {0, 1}}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "owns partitions [0 1] of cp.status")) == 1 },
		func() string { return "no assignment:\n" + logs.String() })
	readBackMarks(t, sys, c, br) // it has read the group's registry
	gained := time.Now()
	res, err := sys.Root.RequestFuture(c, &messages.RegisterChargePoint{CpId: known, Secret: "s"}, wait).Result()
	if err != nil || !res.(*messages.RegistrationResult).GetAccepted() {
		t.Fatalf("register %s: %v %v", known, res, err)
	}
	request := func(id, cp, driver string) {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicDriverRequests, driver, 0, 0, &messages.ChargeRequest{
			RequestId: id, DriverId: driver, CpId: cp, RequestedAt: timestamppb.New(time.Now().Add(time.Second))}, nil))
	}
	denials := func() []*messages.ChargeDenied {
		var out []*messages.ChargeDenied
		for _, m := range br.Published(bridge.TopicDriverUpdates) {
			if d, ok := m.(*messages.ChargeDenied); ok {
				out = append(out, d)
			}
		}
		return out
	}
	request("R-unknown", unknown, "alice")
	request("R-known", known, "bob") // handled after R-unknown: a marker
	testkit.Eventually(t, wait, func() bool { return len(br.Published(bridge.TopicCommands)) == 1 },
		func() string { return fmt.Sprintf("no start for R-known: %v", br.Published(bridge.TopicCommands)) })
	if d := denials(); len(d) > 0 && time.Since(gained) < liveness {
		t.Fatalf("denied a request for a charge point of a partition just gained: %v", d)
	}
	n := 0
	testkit.Eventually(t, 3*liveness, func() bool {
		n++
		request(fmt.Sprintf("R-later-%d", n), unknown, "carol")
		for _, d := range denials() {
			if d.GetReason() == messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT {
				return true
			}
		}
		return false
	}, func() string {
		return "a charge point nobody registered is not denied once a liveness timeout has passed"
	})
}

// The same for a charge point this Central knows from its store (it owned
// it before) but whose monitor has not reached it since it got the
// partition back: left alone, not denied as disconnected.
func TestSharedCentralLeavesAloneChargePointsLoadedFromItsStore(t *testing.T) {
	sys, br, c, logs := sharedCentralWithLogs(t, time.Minute)
	back, alive := cpIn(t, 0, 6), cpIn(t, 1, 6)
	assign := func(gen int32, parts ...int32) {
		t.Helper()
		sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: gen, MemberID: "m1",
			Partitions: map[string][]int32{bridge.TopicStatus: parts}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
		testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", fmt.Sprintf("generation=%d", gen))) == 1 },
			func() string { return "no assignment:\n" + logs.String() })
	}
	register := func(id string) {
		t.Helper()
		res, err := sys.Root.RequestFuture(c, &messages.RegisterChargePoint{CpId: id, Secret: "s"}, wait).Result()
		if err != nil || !res.(*messages.RegistrationResult).GetAccepted() {
			t.Fatalf("register %s: %v %v", id, res, err)
		}
	}
	assign(1, 0, 1)
	readBackMarks(t, sys, c, br) // it has read the group's registry
	register(back)
	assign(2, 1) // back's partition goes to another Central
	assign(3, 0, 1)
	register(alive) // a marker the Central serves
	for _, r := range []struct{ id, cp, driver string }{{"R-back", back, "alice"}, {"R-alive", alive, "bob"}} {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicDriverRequests, r.driver, 0, 0, &messages.ChargeRequest{
			RequestId: r.id, DriverId: r.driver, CpId: r.cp, RequestedAt: timestamppb.New(time.Now().Add(time.Second))}, nil))
	}
	testkit.Eventually(t, wait, func() bool { return len(br.Published(bridge.TopicCommands)) == 1 },
		func() string { return fmt.Sprintf("no start for R-alive: %v", br.Published(bridge.TopicCommands)) })
	for _, m := range br.Published(bridge.TopicDriverUpdates) {
		if d, ok := m.(*messages.ChargeDenied); ok {
			t.Fatalf("answered a request for a charge point loaded from the store, before its monitor came: %v", d)
		}
	}
}

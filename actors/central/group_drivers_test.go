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

// A Central of a shared group denies a driver that another Central serves
// (its record on central.drivers), serves it once that supply's ticket is
// read, says at once whom it serves, does not say a driver free whose
// charge point went to another Central, and answers a record that names
// one of its charge points and a supply it does not hold (e.g. of a killed
// Central's start that never began) with a record that the driver is free.
func TestSharedCentralKnowsTheDriversOtherCentralsServe(t *testing.T) {
	sys, c, br := sharedCentral(t, 0, 1)
	ours, theirs := cpIn(t, 1, 6), cpIn(t, 4, 6)
	readBackMarks(t, sys, c, br)
	testkit.Eventually(t, wait, func() bool {
		res, err := sys.Root.RequestFuture(c, &messages.RegisterChargePoint{CpId: ours, Secret: "s"}, wait).Result()
		return err == nil && res.(*messages.RegistrationResult).GetAccepted()
	}, func() string { return "its own charge point not accepted" })
	record := func(driver, session, cp string) {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicCentralDrivers, driver, 0, 0, &messages.CentralDriver{
			DriverId: driver, SessionId: session, CpId: cp, At: timestamppb.Now(), Issuer: "10.0.0.2:8090", Group: "central"}, nil))
	}
	request := func(id, driver string) {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicDriverRequests, driver, 0, 0, &messages.ChargeRequest{
			RequestId: id, DriverId: driver, CpId: ours, RequestedAt: timestamppb.Now()}, nil))
	}
	answer := func(id string) string {
		for _, m := range br.Published(bridge.TopicDriverUpdates) {
			if d, ok := m.(*messages.ChargeDenied); ok && d.GetRequestId() == id {
				return d.GetReason().String()
			}
		}
		for _, m := range br.Published(bridge.TopicCommands) {
			if cmd := m.(*messages.Command); cmd.GetStartSupply().GetRequestId() == id {
				return "started"
			}
		}
		return ""
	}
	waitAnswer := func(id, want string) {
		t.Helper()
		testkit.Eventually(t, wait, func() bool { return answer(id) == want },
			func() string { return fmt.Sprintf("%s: %q, want %q", id, answer(id), want) })
	}

	// bob is supplied at another Central's charge point.
	record("bob", "S-bob", theirs)
	request("R-bob", "bob")
	waitAnswer("R-bob", "DENY_REASON_DRIVER_BUSY")
	sys.Root.Send(c, bridge.NewDelivery(bridge.TopicTickets, "bob", 0, 0, &messages.Ticket{
		TicketId: "T-bob", SessionId: "S-bob", DriverId: "bob", CpId: theirs}, nil))
	request("R-bob-2", "bob")
	waitAnswer("R-bob-2", "started")
	testkit.Eventually(t, wait, func() bool {
		for _, m := range br.Published(bridge.TopicCentralDrivers) {
			if r := m.(*messages.CentralDriver); r.GetDriverId() == "bob" && r.GetCpId() == ours && r.GetSessionId() != "" {
				return true
			}
		}
		return false
	}, func() string { return "bob's supply here not published on central.drivers" })

	// bob's charge point goes to another Central, which takes his supply
	// over: this one does not say he is free.
	sys.Root.Send(c, &bridge.Assigned{Topic: "cp", Group: "central", Generation: 2, MemberID: "m1",
		Partitions: map[string][]int32{bridge.TopicStatus: {0}}, PartitionCounts: map[string]int32{bridge.TopicStatus: 6}})
	// A stale record of carol at a charge point of this Central: freed.
	record("carol", "S-never-began", cpIn(t, 0, 6))
	freed := func(driver string) bool {
		for _, m := range br.Published(bridge.TopicCentralDrivers) {
			if r := m.(*messages.CentralDriver); r.GetDriverId() == driver && r.GetSessionId() == "" && r.GetIssuer() == "10.0.0.1:8090" {
				return true
			}
		}
		return false
	}
	testkit.Eventually(t, 5*time.Second, func() bool { return freed("carol") },
		func() string { return "carol's stale record at this Central's charge point not answered as free" })
	if freed("bob") {
		t.Fatal("bob said free by the Central that lost his charge point in a rebalance")
	}
}

package network_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// wait bounds the polls of these tests: generous, since a poll returns as
// soon as it holds and a loaded machine (-race, other tests, builds) once
// made 10 s too short.
const wait = 30 * time.Second

// fastConfig is the rules' network at test speed.
func fastConfig(h *testkit.Harness) network.Config {
	return network.Config{
		Bridge: h.Bridge, Store: h.Store, Logger: h.Logger, Stats: h.Stats,
		TelemetryInterval: 50 * time.Millisecond, HealthInterval: 50 * time.Millisecond, HealthTimeout: 40 * time.Millisecond,
		LivenessTimeout: 400 * time.Millisecond, DriverPause: 100 * time.Millisecond, SupplyDuration: 400 * time.Millisecond,
		StartTimeout: 3 * time.Second, ReplyTimeout: 5 * time.Second,
		Budget: supervision.Budget{MaxRestarts: 3, Window: 10 * time.Second, Backoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond},
	}
}

func cps(ids ...string) []network.ChargePoint {
	out := make([]network.ChargePoint, len(ids))
	for i, id := range ids {
		out[i] = network.ChargePoint{ID: id}
	}
	return out
}

// startNet starts a network and waits until every charge point is
// ACTIVATED. At the end of the test it shuts the network down and checks
// the invariant on what Kafka carried.
func startNet(t *testing.T, h *testkit.Harness, cfg network.Config) *network.Network {
	t.Helper()
	slow(t)
	drivers := cfg.Drivers
	cfg.Drivers = nil
	n, err := network.Start(h.Sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, h, n) })
	for _, id := range n.ChargePointIDs() {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	// Drivers join once the charge points are up, so that what they are
	// told does not depend on who started first.
	for _, d := range drivers {
		addDriver(t, n, d)
	}
	return n
}

func addDriver(t *testing.T, n *network.Network, d network.Driver) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := n.AddDriver(ctx, d); err != nil {
		t.Fatal(err)
	}
}

func ctx2s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// request publishes a charge request as a driver would.
func request(h *testkit.Harness, reqID, driverID, cpID string) {
	h.Sys.Root.Send(h.Bridge, &bridge.Publish{Topic: bridge.TopicDriverRequests, Key: driverID,
		Msg: &messages.ChargeRequest{RequestId: reqID, DriverId: driverID, CpId: cpID}})
}

// denial waits for the denial of a request and returns it.
func denial(t *testing.T, h *testkit.Harness, reqID string) *messages.ChargeDenied {
	t.Helper()
	var d *messages.ChargeDenied
	testkit.Eventually(t, wait, func() bool {
		for _, x := range h.Rec.Get().Denied {
			if x.GetRequestId() == reqID {
				d = x
				return true
			}
		}
		return false
	}, func() string { return "no denial for request " + reqID })
	return d
}

func slow(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a network on the embedded broker")
	}
}

func shutdown(t *testing.T, h *testkit.Harness, n *network.Network) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	h.Rec.CheckInvariant(wait, h.Stats)
}

func view(t *testing.T, n *network.Network, id string) central.ChargePointView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := n.Panel().Snapshot(ctx)
	if err != nil {
		return central.ChargePointView{}
	}
	for _, v := range s.ChargePoints {
		if v.ID == id {
			return v
		}
	}
	return central.ChargePointView{}
}

func waitState(t *testing.T, n *network.Network, id string, want messages.ChargePointState) central.ChargePointView {
	t.Helper()
	var v central.ChargePointView
	testkit.Eventually(t, wait, func() bool {
		v = view(t, n, id)
		return v.State == want
	}, func() string {
		return fmt.Sprintf("%s is %s (%s), want %s", id, central.StateName(v.State), v.Reason, central.StateName(want))
	})
	return v
}

func driverStatus(h *testkit.Harness, n *network.Network, id string) *driver.Status {
	h.T.Helper()
	return h.Ask(n.Driver(id), &driver.GetStatus{}).(*driver.Status)
}

func waitTickets(t *testing.T, h *testkit.Harness, n *network.Network, id string, count int) []*messages.Ticket {
	t.Helper()
	var s *driver.Status
	testkit.Eventually(t, wait, func() bool {
		s = driverStatus(h, n, id)
		return len(s.Tickets) >= count
	}, func() string { return fmt.Sprintf("%s has %d tickets, want %d", id, len(s.Tickets), count) })
	return s.Tickets
}

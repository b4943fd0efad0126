package driverdesk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/messages"
)

const wait = 15 * time.Second

// startNetwork runs Central and the charge points on the embedded broker at
// test speed and waits until each is ACTIVATED.
func startNetwork(t *testing.T, h *testkit.Harness, supply time.Duration, ids ...string) *network.Network {
	t.Helper()
	cfg := network.Config{
		Bridge: h.Bridge, Store: h.Store, Logger: h.Logger, Stats: h.Stats,
		TelemetryInterval: 50 * time.Millisecond, HealthInterval: 50 * time.Millisecond, HealthTimeout: 40 * time.Millisecond,
		LivenessTimeout: 400 * time.Millisecond, SupplyDuration: supply,
		StartTimeout: 3 * time.Second, ReplyTimeout: 5 * time.Second,
		Budget: supervision.Budget{MaxRestarts: 3, Window: 10 * time.Second, Backoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond},
	}
	for _, id := range ids {
		cfg.ChargePoints = append(cfg.ChargePoints, network.ChargePoint{ID: id, Location: "Alicante"})
	}
	n, err := network.Start(h.Sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	testkit.Eventually(t, wait, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		snap, err := n.Panel().Snapshot(ctx)
		if err != nil || len(snap.ChargePoints) != len(ids) {
			return false
		}
		for _, v := range snap.ChargePoints {
			if v.State != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
				return false
			}
		}
		return true
	}, func() string { return "the charge points did not all become ACTIVATED" })
	return n
}

func startDesk(t *testing.T, h *testkit.Harness) *driverdesk.Desk {
	t.Helper()
	d, err := driverdesk.Start(h.Sys, driverdesk.Config{Bridge: h.Bridge, Logger: h.Logger, ReplyTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Stop)
	return d
}

// watchUntil reads the driver's updates until done says the request with
// this id got where the test wants; it returns every state the request
// was seen in, in order.
func watchUntil(t *testing.T, updates <-chan driverdesk.Update, requestID string, done func(driverdesk.Request) bool) []driverdesk.Request {
	t.Helper()
	var seen []driverdesk.Request
	deadline := time.After(wait)
	for {
		select {
		case u, ok := <-updates:
			if !ok {
				t.Fatalf("the watch ended; seen %+v", seen)
			}
			if u.Request == nil || u.Request.RequestID != requestID {
				continue
			}
			seen = append(seen, *u.Request)
			if done(*u.Request) {
				return seen
			}
		case <-deadline:
			t.Fatalf("request %s did not get there within %v; seen %+v", requestID, wait, seen)
		}
	}
}

// A request made at the desk travels as a driver's does: Central accepts
// it, the engine supplies, live kWh and EUR rise, one ticket ends it.
func TestADeskRequestIsSuppliedAndTicketed(t *testing.T) {
	h := testkit.New(t)
	startNetwork(t, h, 600*time.Millisecond, "CP-001")
	desk := startDesk(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	updates, err := desk.Watch(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	req, err := desk.Request(ctx, "alice", "CP-001")
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != driverdesk.StatusRequested || req.CPID != "CP-001" || req.DriverID != "alice" {
		t.Fatalf("the request as sent: %+v", req)
	}
	seen := watchUntil(t, updates, req.RequestID, func(r driverdesk.Request) bool { return r.Status == driverdesk.StatusTicketed })
	for _, r := range seen { // the figures for the closing note
		if r.Status != driverdesk.StatusRequested {
			t.Logf("%s %v after the request", r.Status, r.UpdatedAt.Sub(req.RequestedAt).Round(time.Millisecond))
			break
		}
	}
	var steps []string
	var maxKWh float64
	for _, r := range seen {
		if len(steps) == 0 || steps[len(steps)-1] != r.Status {
			steps = append(steps, r.Status)
		}
		maxKWh = max(maxKWh, r.KWh)
	}
	got := strings.Join(steps, " ")
	if !strings.HasPrefix(got, "requested accepted supplying") || !strings.HasSuffix(got, "ticketed") {
		t.Errorf("steps %q, want requested accepted supplying ... ticketed", got)
	}
	last := seen[len(seen)-1]
	if last.Ticket == nil || last.Ticket.GetCpId() != "CP-001" || last.Ticket.GetDriverId() != "alice" || last.Ticket.GetKwh() <= 0 || last.Reason != "completed" {
		t.Errorf("the ticket: %+v (reason %q)", last.Ticket, last.Reason)
	}
	if maxKWh <= 0 {
		t.Errorf("no live kWh was seen: %+v", seen)
	}
	// Central saved exactly one ticket for the supply.
	tk, err := h.Store.Ticket(ctx, last.SessionID)
	if err != nil || tk.GetRequestId() != req.RequestID {
		t.Errorf("Central's ticket of the session: %+v, %v", tk, err)
	}
	list, err := desk.Requests(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].Status != driverdesk.StatusTicketed {
		t.Errorf("Requests: %+v, %v", list, err)
	}
}

// Central's denials reach the desk with their reason, exactly as a driver
// process hears them.
func TestADeskRequestIsDeniedWithCentralsReason(t *testing.T) {
	h := testkit.New(t)
	n := startNetwork(t, h, 10*time.Second, "CP-001", "CP-002")
	desk := startDesk(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if res, err := n.Panel().Stop(ctx, "CP-002"); err != nil || res.Err != "" {
		t.Fatalf("stop CP-002: %+v %v", res, err)
	}
	updates, err := desk.Watch(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	for cp, want := range map[string]string{"CP-099": "unknown charge point", "CP-002": "stopped"} {
		req, err := desk.Request(ctx, "bob", cp)
		if err != nil {
			t.Fatal(err)
		}
		seen := watchUntil(t, updates, req.RequestID, func(r driverdesk.Request) bool { return !r.UnderWay() })
		last := seen[len(seen)-1]
		if last.Status != driverdesk.StatusDenied || !strings.HasPrefix(last.Reason, want) {
			t.Errorf("request for %s ended %s %q, want denied %q", cp, last.Status, last.Reason, want)
		}
	}
}

// The desk follows at most MaxDrivers drivers, and says so.
func TestTheDeskBoundsTheDriversItFollows(t *testing.T) {
	h := testkit.New(t)
	desk, err := driverdesk.Start(h.Sys, driverdesk.Config{Bridge: h.Bridge, MaxDrivers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desk.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for i := 1; i <= 2; i++ {
		if _, err := desk.Watch(ctx, fmt.Sprintf("driver-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := desk.Request(ctx, "driver-3", "CP-001"); err == nil || !strings.Contains(err.Error(), "as many drivers") {
		t.Fatalf("a third driver: %v", err)
	}
	if _, err := desk.Request(ctx, "driver-1", ""); err == nil {
		t.Fatal("a request without a charge point must be refused")
	}
}

// With no Central to answer, a request is shown unanswered after the reply
// timeout, saying so, instead of waiting for ever.
func TestARequestNobodyAnswersIsShownUnanswered(t *testing.T) {
	h := testkit.New(t)
	desk, err := driverdesk.Start(h.Sys, driverdesk.Config{Bridge: h.Bridge, ReplyTimeout: 300 * time.Millisecond, Logger: h.Logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desk.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	updates, err := desk.Watch(ctx, "erin")
	if err != nil {
		t.Fatal(err)
	}
	req, err := desk.Request(ctx, "erin", "CP-001")
	if err != nil {
		t.Fatal(err)
	}
	seen := watchUntil(t, updates, req.RequestID, func(r driverdesk.Request) bool { return !r.UnderWay() })
	last := seen[len(seen)-1]
	if last.Status != driverdesk.StatusUnanswered || !strings.Contains(last.Reason, "did not answer within 300ms") {
		t.Errorf("a request nobody answers ended %s %q", last.Status, last.Reason)
	}
	// A second one while Central stays silent: shown the same, but no second WARN.
	again, err := desk.Request(ctx, "erin", "CP-002")
	if err != nil {
		t.Fatal(err)
	}
	watchUntil(t, updates, again.RequestID, func(r driverdesk.Request) bool { return !r.UnderWay() })
	if warns := h.Logs.Lines("WARN", "did not answer"); len(warns) != 1 {
		t.Errorf("%d WARN lines for two unanswered requests, want 1: %q", len(warns), warns)
	}
}

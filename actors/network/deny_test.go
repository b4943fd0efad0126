package network_test

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

func wantDenied(t *testing.T, h *testkit.Harness, reqID string, want messages.DenyReason) {
	t.Helper()
	d := denial(t, h, reqID)
	if d.GetReason() != want || d.GetDetail() == "" {
		t.Fatalf("request %s: denied %v (%q), want %v with a detail", reqID, d.GetReason(), d.GetDetail(), want)
	}
}

func TestDenyUnknownChargePoint(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	startNet(t, h, cfg)
	request(h, "r1", "alice", "CP-099")
	wantDenied(t, h, "r1", messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT)
}

func TestDenyInvalidRequest(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	startNet(t, h, cfg)
	request(h, "r1", "alice", "")
	wantDenied(t, h, "r1", messages.DenyReason_DENY_REASON_INVALID_REQUEST)
}

func TestDenyBusyAndDriverBusy(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	cfg.SupplyDuration = time.Minute
	n := startNet(t, h, cfg)
	request(h, "a1", "alice", "CP-001")
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	request(h, "b1", "bob", "CP-001")
	wantDenied(t, h, "b1", messages.DenyReason_DENY_REASON_BUSY)
	request(h, "a2", "alice", "CP-002")
	wantDenied(t, h, "a2", messages.DenyReason_DENY_REASON_DRIVER_BUSY)
}

func TestDenyStopped(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	if r, err := n.Panel().Stop(ctx2s(t), "CP-001"); err != nil || r.Affected != 1 {
		t.Fatalf("stop: %+v %v", r, err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_STOPPED)
	request(h, "r1", "alice", "CP-001")
	wantDenied(t, h, "r1", messages.DenyReason_DENY_REASON_STOPPED)
}

func TestDenyFaulty(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	if err := n.SetKO("CP-001", true); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_FAULT)
	request(h, "r1", "alice", "CP-001")
	wantDenied(t, h, "r1", messages.DenyReason_DENY_REASON_FAULT)
}

func TestDenyDisconnected(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.ChargePoints = cps("CP-001")
	n := startNet(t, h, cfg)
	if err := n.StopMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED)
	request(h, "r1", "alice", "CP-001")
	wantDenied(t, h, "r1", messages.DenyReason_DENY_REASON_DISCONNECTED)
}

// An engine that answers its monitor but never confirms a start: Central
// denies with ENGINE_REFUSED after its start timeout, and tells the engine
// to stop in case the start reaches it later.
func TestDenyEngineRefused(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	cfg.StartTimeout = 300 * time.Millisecond
	n := startNet(t, h, cfg)
	mute := h.Sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*messages.HealthCheck); ok {
			c.Respond(&messages.HealthAnswer{CpId: m.GetCpId(), Seq: m.GetSeq(), Ok: true,
				EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED})
		}
	}))
	props, err := monitor.Props(monitor.Config{CPID: "CP-050", Secret: "s", Engine: mute, Central: n.Central(),
		HealthInterval: 50 * time.Millisecond, Logger: h.Logger})
	if err != nil {
		t.Fatal(err)
	}
	mon := h.Sys.Root.Spawn(props)
	t.Cleanup(func() { h.Sys.Root.Stop(mon) })
	waitState(t, n, "CP-050", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	request(h, "r1", "alice", "CP-050")
	wantDenied(t, h, "r1", messages.DenyReason_DENY_REASON_ENGINE_REFUSED)
	// the charge point is free again and alice is not busy any more
	request(h, "r2", "alice", "CP-050")
	wantDenied(t, h, "r2", messages.DenyReason_DENY_REASON_ENGINE_REFUSED)
}

// An engine that says no: Central denies with ENGINE_REFUSED and the
// engine's reason.
func TestDenyWhenTheEngineRejectsTheStart(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	n := startNet(t, h, cfg)
	br := h.Bridge
	refuser := h.Sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			c.Send(br, &bridge.Subscribe{Topic: bridge.TopicCommands, Group: "refuser", Key: "CP-051", Subscriber: c.Self()})
		case *messages.HealthCheck:
			c.Respond(&messages.HealthAnswer{CpId: m.GetCpId(), Seq: m.GetSeq(), Ok: true,
				EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED})
		case *bridge.Delivery:
			defer m.Done()
			if cmd, ok := m.Msg.(*messages.Command); ok && cmd.GetStartSupply() != nil {
				c.Send(br, &bridge.Publish{Topic: bridge.TopicStatus, Key: "CP-051", Msg: &messages.CommandRejected{
					CommandId: cmd.GetCommandId(), CpId: "CP-051", SessionId: cmd.GetStartSupply().GetSessionId(), Reason: "test refusal"}})
			}
		}
	}))
	t.Cleanup(func() { h.Sys.Root.Stop(refuser) })
	props, err := monitor.Props(monitor.Config{CPID: "CP-051", Secret: "s", Engine: refuser, Central: n.Central(),
		HealthInterval: 50 * time.Millisecond, Logger: h.Logger})
	if err != nil {
		t.Fatal(err)
	}
	mon := h.Sys.Root.Spawn(props)
	t.Cleanup(func() { h.Sys.Root.Stop(mon) })
	waitState(t, n, "CP-051", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	request(h, "r1", "alice", "CP-051")
	d := denial(t, h, "r1")
	if d.GetReason() != messages.DenyReason_DENY_REASON_ENGINE_REFUSED || !strings.Contains(d.GetDetail(), "test refusal") {
		t.Fatalf("denial %v", d)
	}
}

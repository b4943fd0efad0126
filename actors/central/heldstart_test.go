package central_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// answersTo lists what Central told the driver of request requestID: its
// denials and acceptances.
func (r *centralRig) answersTo(requestID string) (denied []*messages.ChargeDenied, accepted []*messages.ChargeAccepted) {
	for _, m := range r.bridge.Published(bridge.TopicDriverUpdates) {
		switch x := m.(type) {
		case *messages.ChargeDenied:
			if x.GetRequestId() == requestID {
				denied = append(denied, x)
			}
		case *messages.ChargeAccepted:
			if x.GetRequestId() == requestID {
				accepted = append(accepted, x)
			}
		}
	}
	return denied, accepted
}

// requestStart has alice ask for CP-001 and returns the session of the
// START_SUPPLY Central sends for it.
func (r *centralRig) requestStart(requestID string) string {
	r.t.Helper()
	r.deliver(bridge.TopicDriverRequests, &messages.ChargeRequest{RequestId: requestID, DriverId: "alice", CpId: "CP-001", RequestedAt: timestamppb.Now()})
	var sid string
	testkit.Eventually(r.t, wait, func() bool {
		for _, m := range r.bridge.Published(bridge.TopicCommands) {
			if s := m.(*messages.Command).GetStartSupply(); s.GetRequestId() == requestID {
				sid = s.GetSessionId()
			}
		}
		return sid != ""
	}, func() string { return "no start command" })
	return sid
}

// silence cuts the monitor off until Central shows CP-001 DISCONNECTED.
func (r *centralRig) silence() {
	r.t.Helper()
	r.monitorSilent.Store(true)
	testkit.Eventually(r.t, wait, func() bool {
		return r.snapshotOf("CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED
	}, func() string { return "CP-001 never DISCONNECTED" })
}

// A network partition: CP-001 goes DISCONNECTED just after Central sent its
// engine a START, the partition heals within the START's validity and the
// engine carries it out. The request gets exactly one answer (the supply,
// ticketed normally), never "denied" and then "supplied".
func TestCentralAnswersOnceAStartItsDisconnectedEngineCarriesOut(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: 20 * time.Second})
	var engineRuns atomic.Value
	engineRuns.Store("")
	r.connect(func() string { return engineRuns.Load().(string) })

	sid := r.requestStart("R1")
	r.silence()
	// the partition heals: the monitor registers again, the engine reads the START
	r.fromMonitor(&messages.RegisterChargePoint{CpId: "CP-001", Secret: "s", Kw: 22, PriceEurPerKwh: 0.3})
	r.monitorSilent.Store(false)
	testkit.Eventually(t, wait, func() bool {
		return r.snapshotOf("CP-001").State == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
	}, func() string { return "CP-001 never back" })
	started := time.Now()
	engineRuns.Store(sid)
	r.deliver(bridge.TopicStatus, &messages.SupplyStarted{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kw: 22, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started)})
	testkit.Eventually(t, wait, func() bool {
		_, accepted := r.answersTo("R1")
		d, _ := r.answersTo("R1")
		return len(accepted)+len(d) > 0 && r.snapshotOf("CP-001").State != messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED
	}, func() string { return "R1 never answered" })
	// the engine ends the supply: stopped by Central if it was told to, else completed
	reason := messages.EndReason_END_REASON_COMPLETED
	for _, m := range r.bridge.Published(bridge.TopicCommands) {
		if m.(*messages.Command).GetStopSupply().GetSessionId() == sid {
			reason = m.(*messages.Command).GetStopSupply().GetReason()
		}
	}
	engineRuns.Store("")
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kwh: 0.5, Eur: 0.15, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started), EndedAt: timestamppb.Now(), Reason: reason})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string { return "no ticket" })

	denied, accepted := r.answersTo("R1")
	if len(denied) > 0 {
		t.Fatalf("request R1 answered twice: denied %v, then supplied and ticketed %v", denied, r.tickets())
	}
	if len(denied)+len(accepted) != 1 {
		t.Fatalf("request R1 answered %d times: denied %v, accepted %v", len(denied)+len(accepted), denied, accepted)
	}
	if len(accepted) != 1 || r.tickets()[0].GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("want the supply run and ticketed normally: accepted %v, ticket %v", accepted, r.tickets()[0])
	}
}

// The partition lasts: the START expires unstarted. The request is denied
// once, as disconnected, only then, and alice is free to ask again.
func TestCentralDeniesAStartOfADisconnectedChargePointOnceItExpires(t *testing.T) {
	const startTimeout = 2 * time.Second
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: startTimeout})
	r.connect(func() string { return "" })

	sent := time.Now()
	r.requestStart("R1")
	r.silence()
	if denied, _ := r.answersTo("R1"); len(denied) != 0 {
		t.Fatalf("R1 denied while its START could still be carried out: %v", denied)
	}
	// alice hears why her answer takes longer (her reply timeout starts again)
	testkit.Eventually(t, wait, func() bool {
		for _, m := range r.bridge.Published(bridge.TopicDriverUpdates) {
			if n, ok := m.(*messages.DriverNotice); ok && n.GetDriverId() == "alice" && n.GetCpId() == "CP-001" &&
				strings.Contains(n.GetText(), "CP-001 lost contact with Central while starting your supply") {
				return true
			}
		}
		return false
	}, func() string { return "alice was not told that her start is held" })
	testkit.Eventually(t, wait, func() bool { d, _ := r.answersTo("R1"); return len(d) > 0 }, func() string { return "R1 never denied" })
	// (a timer may fire a few ms early; denying at the disconnect takes under 1 s)
	if waited := time.Since(sent); waited < startTimeout*3/4 {
		t.Fatalf("R1 denied %v after its START was sent, long before it expired (%v)", waited, startTimeout)
	}
	denied, accepted := r.answersTo("R1")
	if len(denied) != 1 || len(accepted) != 0 || denied[0].GetReason() != messages.DenyReason_DENY_REASON_DISCONNECTED {
		t.Fatalf("want one DISCONNECTED denial: denied %v, accepted %v", denied, accepted)
	}
	// alice is no longer busy: her next request is judged on CP-001's state
	r.deliver(bridge.TopicDriverRequests, &messages.ChargeRequest{RequestId: "R2", DriverId: "alice", CpId: "CP-001", RequestedAt: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool { d, _ := r.answersTo("R2"); return len(d) == 1 }, func() string { return "R2 not answered" })
	if d, _ := r.answersTo("R2"); d[0].GetReason() != messages.DenyReason_DENY_REASON_DISCONNECTED {
		t.Fatalf("R2: %v, want DISCONNECTED (alice must not stay busy)", d[0])
	}
}

// The engine carries out the START while its monitor is still silent: the
// request is answered once (accepted), and the supply, which Central cannot
// watch, ends at once with a ticket.
func TestCentralEndsAHeldStartConfirmedWhileStillDisconnected(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: 20 * time.Second})
	r.connect(func() string { return "" })

	sid := r.requestStart("R1")
	r.silence()
	started := time.Now()
	r.deliver(bridge.TopicStatus, &messages.SupplyStarted{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kw: 22, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started)})
	var stop *messages.StopSupply
	testkit.Eventually(t, wait, func() bool {
		for _, m := range r.bridge.Published(bridge.TopicCommands) {
			if s := m.(*messages.Command).GetStopSupply(); s.GetSessionId() == sid {
				stop = s
			}
		}
		return stop != nil
	}, func() string { return "the supply of a DISCONNECTED charge point was not stopped" })
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(started), EndedAt: timestamppb.Now(), Reason: stop.GetReason()})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string { return "no ticket" })

	denied, accepted := r.answersTo("R1")
	if len(denied) != 0 || len(accepted) != 1 {
		t.Fatalf("want R1 answered once, accepted: denied %v, accepted %v", denied, accepted)
	}
	if tk := r.tickets()[0]; tk.GetReason() != messages.EndReason_END_REASON_MONITOR_LOST {
		t.Fatalf("ticket %v, want MONITOR_LOST", tk)
	}
}

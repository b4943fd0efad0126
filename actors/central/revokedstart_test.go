package central_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

// keyAction asks Central to revoke or rotate CP-001's keys.
func (r *centralRig) keyAction(msg any) {
	r.t.Helper()
	res, err := r.sys.Root.RequestFuture(r.central, msg, wait).Result()
	if err != nil {
		r.t.Fatal(err)
	}
	if or := res.(*central.OperatorResult); or.Err != "" {
		r.t.Fatalf("%T: %s", msg, or.Err)
	}
}

// stopped says whether Central told CP-001's engine to stop session sid.
func (r *centralRig) stopped(sid string) bool {
	for _, m := range r.bridge.Published(bridge.TopicCommands) {
		if m.(*messages.Command).GetStopSupply().GetSessionId() == sid {
			return true
		}
	}
	return false
}

func describe[T any](xs []T) string {
	if len(xs) == 0 {
		return "none"
	}
	return fmt.Sprint(xs)
}

// CP-001 goes DISCONNECTED just after Central sent its engine a START (the
// start is held), and the operator revokes its keys. The engine, cut off,
// may run the START unseen and cannot say: when the START expires with no
// word and no new key, the request is answered once, as a running supply
// at a revocation is (accepted, ticketed); the engine's own end, sealed
// with a new key later, is no second answer.
func TestCentralTicketsAHeldStartWhoseKeysAreRevoked(t *testing.T) {
	const startTimeout = 2 * time.Second
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: startTimeout, Keys: seal.NewKeyring()})
	r.connect(func() string { return "" })

	sent := time.Now()
	sid := r.requestStart("R1")
	r.silence()
	r.keyAction(&central.RevokeKey{CPID: "CP-001"})
	if d, _ := r.answersTo("R1"); len(d) != 0 {
		t.Fatalf("R1 denied at the revocation, though its engine may run it: %v", d)
	}
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string {
		d, a := r.answersTo("R1")
		return "no ticket: denied " + describe(d) + ", accepted " + describe(a)
	})
	if waited := time.Since(sent); waited < startTimeout*3/4 {
		t.Fatalf("R1 ticketed %v after its START, long before it expired (%v)", waited, startTimeout)
	}
	if tk := r.tickets()[0]; tk.GetSessionId() != sid || tk.GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL {
		t.Fatalf("ticket %v, want session %s stopped by Central", tk, sid)
	}
	if !r.stopped(sid) {
		t.Fatal("the engine was not told to stop the supply it may run")
	}

	// the engine heard of the revocation late, ended the supply, and its end
	// comes with a new key
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kwh: 0.01, Eur: 0.003, PriceEurPerKwh: 0.3, StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(),
		Reason: messages.EndReason_END_REASON_STOPPED_BY_CENTRAL})
	// alice is free: her next request is judged on CP-001's state
	r.deliver(bridge.TopicDriverRequests, &messages.ChargeRequest{RequestId: "R2", DriverId: "alice", CpId: "CP-001", RequestedAt: timestamppb.Now()})
	testkit.Eventually(t, wait, func() bool { d, _ := r.answersTo("R2"); return len(d) == 1 }, func() string { return "R2 not answered" })
	if d, _ := r.answersTo("R2"); d[0].GetReason() == messages.DenyReason_DENY_REASON_DRIVER_BUSY {
		t.Fatalf("R2: %v (alice must not stay busy)", d[0])
	}
	denied, accepted := r.answersTo("R1")
	if len(denied) != 0 || len(accepted) != 1 {
		t.Fatalf("want R1 answered once, accepted: denied %v, accepted %v", denied, accepted)
	}
	if n := len(r.tickets()); n != 1 {
		t.Fatalf("%d tickets for one supply: %v", n, r.tickets())
	}
}

// The keys of CP-001 are revoked while its engine starts a supply, then a
// new key is issued: the engine's end, held until it had the new key,
// answers the request (accepted, ticketed from the engine's figures), never
// "denied" first.
func TestCentralTicketsARevokedStartFromItsEnginesEnd(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: 20 * time.Second, Keys: seal.NewKeyring()})
	r.connect(func() string { return "" })

	sid := r.requestStart("R1")
	r.keyAction(&central.RevokeKey{CPID: "CP-001"})
	r.keyAction(&central.RotateKey{CPID: "CP-001"})
	if !r.stopped(sid) {
		t.Fatal("the engine was not told to stop the supply it may run")
	}
	r.deliver(bridge.TopicSessionEnd, &messages.SupplyEnded{SessionId: sid, RequestId: "R1", DriverId: "alice", CpId: "CP-001",
		Kwh: 0.02, Eur: 0.006, PriceEurPerKwh: 0.3, StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(),
		Reason: messages.EndReason_END_REASON_STOPPED_BY_CENTRAL})
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string { return "no ticket" })
	if tk := r.tickets()[0]; tk.GetSessionId() != sid || tk.GetKwh() != 0.02 {
		t.Fatalf("ticket %v, want the engine's figures for %s", tk, sid)
	}
	denied, accepted := r.answersTo("R1")
	if len(denied) != 0 || len(accepted) != 1 {
		t.Fatalf("want R1 answered once, accepted: denied %v, accepted %v", denied, accepted)
	}
}

// The keys of CP-001 are revoked just as Central sends a START, and its
// engine holds a new key before the START expires, with no supply to
// report: it never ran the START (it no longer opens it). The request is
// denied once, when the START expires, and nothing is ticketed.
func TestCentralDeniesARevokedStartItsRekeyedEngineNeverRan(t *testing.T) {
	const startTimeout = 2 * time.Second
	keys := seal.NewKeyring()
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: startTimeout, Keys: keys})
	r.connect(func() string { return "" })

	r.requestStart("R1")
	r.keyAction(&central.RevokeKey{CPID: "CP-001"})
	r.keyAction(&central.RotateKey{CPID: "CP-001"})
	k, ok := keys.Staged("CP-001")
	if !ok {
		t.Fatal("no key staged by the rotation")
	}
	keys.Install(k) // the engine holds the new key (one keyring in one process)
	testkit.Eventually(t, wait, func() bool { d, _ := r.answersTo("R1"); return len(d) > 0 }, func() string { return "R1 never denied" })
	denied, accepted := r.answersTo("R1")
	if len(denied) != 1 || len(accepted) != 0 || denied[0].GetReason() != messages.DenyReason_DENY_REASON_DISCONNECTED {
		t.Fatalf("want one DISCONNECTED denial: denied %v, accepted %v", denied, accepted)
	}
	if tk := r.tickets(); len(tk) != 0 {
		t.Fatalf("a ticket for a supply that never ran: %v", tk)
	}
}

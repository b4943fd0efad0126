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

// CP-001 goes DISCONNECTED just after Central sent its engine a START (the
// start is held), and the operator revokes its keys. The engine, cut off,
// may run the START unseen: the revocation ends it as a running supply,
// with one answer (accepted) and one ticket; the engine's own end, sealed
// with a new key later, is no second answer.
func TestCentralTicketsAHeldStartWhoseKeysAreRevoked(t *testing.T) {
	r := newCentralRig(t, central.Config{LivenessTimeout: 600 * time.Millisecond, StartTimeout: 20 * time.Second, Keys: seal.NewKeyring()})
	r.connect(func() string { return "" })

	sid := r.requestStart("R1")
	r.silence()
	res, err := r.sys.Root.RequestFuture(r.central, &central.RevokeKey{CPID: "CP-001"}, wait).Result()
	if err != nil {
		t.Fatal(err)
	}
	if or := res.(*central.OperatorResult); or.Err != "" {
		t.Fatalf("revoke: %s", or.Err)
	}
	testkit.Eventually(t, wait, func() bool { return len(r.tickets()) == 1 }, func() string {
		d, a := r.answersTo("R1")
		return "no ticket at the revocation: denied " + describe(d) + ", accepted " + describe(a)
	})
	if tk := r.tickets()[0]; tk.GetSessionId() != sid || tk.GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL {
		t.Fatalf("ticket %v, want session %s stopped by Central", tk, sid)
	}
	var stopped bool
	for _, m := range r.bridge.Published(bridge.TopicCommands) {
		stopped = stopped || m.(*messages.Command).GetStopSupply().GetSessionId() == sid
	}
	if !stopped {
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

func describe[T any](xs []T) string {
	if len(xs) == 0 {
		return "none"
	}
	return fmt.Sprint(xs)
}

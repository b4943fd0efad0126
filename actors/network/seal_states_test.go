package network_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// captureSealed returns the first record of key on topic, which must be
// sealed: what anyone who can read Kafka can copy.
func captureSealed(t *testing.T, h *testkit.Harness, topic, key string) []byte {
	t.Helper()
	v := testutil.FirstRecord(t, h.Broker.Addr(), topic, key)
	env := new(messages.Envelope)
	if err := proto.Unmarshal(v, env); err != nil || len(env.GetSealed()) == 0 || len(env.GetPayload()) != 0 {
		t.Fatalf("the record of %s on %s is not sealed: %v %v", key, topic, env, err)
	}
	return v
}

// produceBytes writes value as is under key, with a plain producer.
func produceBytes(t *testing.T, h *testkit.Harness, topic, key string, value []byte) {
	t.Helper()
	testutil.ProduceRecord(t, h.Broker.Addr(), topic, key, value)
}

// sealWith seals msg for cpID on topic with a key of the test's own.
func sealWith(t *testing.T, k *seal.Key, topic string, msg proto.Message) []byte {
	t.Helper()
	typ, err := bridge.TypeOf(msg)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	env := &messages.Envelope{Type: typ, SchemaVersion: bridge.SchemaVersion, ProducedAt: timestamppb.Now(), KeyId: k.ID, CpId: k.CPID,
		Sealed: k.Seal(nil, plain, seal.AppendAAD(nil, topic, int32(typ), k.ID, k.CPID))}
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// oneRefusal waits for the one WARN about cpID's refused record and checks
// that it says why.
func oneRefusal(t *testing.T, h *testkit.Harness, cpID, why string) {
	t.Helper()
	testkit.Eventually(t, wait, func() bool { return len(refusals(h, cpID)) > 0 }, func() string { return "no refusal for " + cpID })
	lines := refusals(h, cpID)
	if len(lines) != 1 || !strings.Contains(lines[0], why) {
		t.Fatalf("want one refusal of %s saying %q, got:\n%s", cpID, why, strings.Join(lines, "\n"))
	}
}

// Records that do not open are each refused with one WARN, and their
// charge point shows why: tampered, moved to another topic, replayed to
// another charge point, sealed with a key Central never issued
// (ENCRYPTION_ERROR); sealed with a revoked key (REVOKED stays, no error).
func TestRefusedRecordsShowTheirChargePointsState(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002", "CP-003", "CP-004", "CP-005")
	n := startNet(t, h, cfg)
	encErr := messages.ChargePointState_CHARGE_POINT_STATE_ENCRYPTION_ERROR

	// Tampered: one bit of CP-001's own status record flipped.
	rec := captureSealed(t, h, bridge.TopicStatus, "CP-001")
	tampered := append([]byte(nil), rec...)
	tampered[len(tampered)-1] ^= 0x01
	produceBytes(t, h, bridge.TopicStatus, "CP-001", tampered)
	oneRefusal(t, h, "CP-001", "tampered")
	waitState(t, n, "CP-001", encErr)

	// Moved: CP-005's status record put on its supply-end topic.
	produceBytes(t, h, bridge.TopicSessionEnd, "CP-005", captureSealed(t, h, bridge.TopicStatus, "CP-005"))
	oneRefusal(t, h, "CP-005", "tampered, or moved")
	waitState(t, n, "CP-005", encErr)

	// Replayed to another charge point: CP-002's record under CP-003's key.
	produceBytes(t, h, bridge.TopicStatus, "CP-003", captureSealed(t, h, bridge.TopicStatus, "CP-002"))
	oneRefusal(t, h, "CP-003", "another charge point")
	waitState(t, n, "CP-003", encErr)

	// A wrong key: sealed properly, with a key Central never issued.
	wrong, err := seal.NewKey("CP-004")
	if err != nil {
		t.Fatal(err)
	}
	produceBytes(t, h, bridge.TopicSessionEnd, "CP-004", sealWith(t, wrong, bridge.TopicSessionEnd,
		&messages.SupplyEnded{SessionId: "x", DriverId: "alice", CpId: "CP-004", Kwh: 50}))
	oneRefusal(t, h, "CP-004", "unknown key id")
	waitState(t, n, "CP-004", encErr)

	// Revoked: CP-002's keys revoked, then its own old record comes again.
	old := captureSealed(t, h, bridge.TopicStatus, "CP-002")
	if res, err := n.Panel().(central.KeyOperator).RevokeKey(ctx2s(t), "CP-002"); err != nil || res.Err != "" {
		t.Fatalf("revoke: %v %+v", err, res)
	}
	v := waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_REVOKED)
	if !strings.Contains(v.Reason, "revoked") {
		t.Errorf("REVOKED reason %q", v.Reason)
	}
	produceBytes(t, h, bridge.TopicStatus, "CP-002", old)
	oneRefusal(t, h, "CP-002", "key is revoked")
	if got := view(t, n, "CP-002"); got.State != messages.ChargePointState_CHARGE_POINT_STATE_REVOKED {
		t.Fatalf("CP-002 after a record under its revoked key: %s", central.StateName(got.State))
	}
	if e := events(t, n, central.EventEncryptionError, "CP-002"); len(e) != 0 {
		t.Fatalf("a record under a revoked key counted as an encryption error: %v", e)
	}
	// A request for a refused charge point is denied with the reason.
	request(h, "r-enc", "dave", "CP-004")
	if d := denial(t, h, "r-enc"); !strings.Contains(d.GetDetail(), "do not open") {
		t.Fatalf("denial at an ENCRYPTION_ERROR charge point: %v", d)
	}
	request(h, "r-rev", "erin", "CP-002")
	if d := denial(t, h, "r-rev"); d.GetReason() != messages.DenyReason_DENY_REASON_DISCONNECTED {
		t.Fatalf("denial at a REVOKED charge point: %v", d)
	}
}

// A revocation mid-supply ends the supply with its ticket at once; the
// charge point stays REVOKED through its monitor's heartbeats until a new
// key is issued, then serves again; the engine's own end, held while it had
// no key, is a duplicate and makes no second ticket.
func TestRevocationMidSupplyTicketsAndHoldsUntilANewKey(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001")
	cfg.SupplyDuration = time.Minute
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	sid := v.Session.SessionID
	testkit.Eventually(t, wait, func() bool { s := view(t, n, "CP-001").Session; return s != nil && s.KWh > 0 },
		func() string { return "no energy delivered" })
	keys := n.Panel().(central.KeyOperator)
	if res, err := keys.RevokeKey(ctx2s(t), "CP-001"); err != nil || res.Err != "" {
		t.Fatalf("revoke: %v %+v", err, res)
	}
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetSessionId() != sid || tk.GetKwh() <= 0 || tk.GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL {
		t.Fatalf("ticket at the revocation: %v", tk)
	}
	// Several liveness rounds: still REVOKED, nothing refused as an error.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if st := view(t, n, "CP-001").State; st != messages.ChargePointState_CHARGE_POINT_STATE_REVOKED {
			t.Fatalf("CP-001 is %s after its revocation", central.StateName(st))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res, err := keys.RotateKey(ctx2s(t), "CP-001"); err != nil || res.Err != "" {
		t.Fatalf("rotate: %v %+v", err, res)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	// The engine's own end, held while it had no key, arrives and is not a second ticket.
	testkit.Eventually(t, wait, func() bool { return len(h.Rec.Get().Ended[sid]) > 0 },
		func() string { return "the engine's end never came after the new key" })
	addDriver(t, n, network.Driver{ID: "bob", Requests: []string{"CP-001"}})
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	if ts := h.Rec.Get().Tickets[sid]; len(ts) != 1 {
		t.Fatalf("%d tickets for the revoked supply", len(ts))
	}
	if lines := h.Logs.Lines("| ERROR |"); len(lines) > 0 {
		t.Fatalf("ERROR lines: %q", lines)
	}
}

// A key revocation holds: not a heartbeat, nor a restart of the monitor,
// the engine or Central (which reads the revocation back from its store)
// brings the charge point back; only a new key does.
func TestKeyRevocationHoldsAcrossRestarts(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)
	keys := n.Panel().(central.KeyOperator)
	if res, err := keys.RevokeKey(ctx2s(t), "CP-001"); err != nil || res.Err != "" {
		t.Fatalf("revoke: %v %+v", err, res)
	}
	revoked := messages.ChargePointState_CHARGE_POINT_STATE_REVOKED
	waitState(t, n, "CP-001", revoked)
	if err := n.StopMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	if err := n.StartMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	if err := n.CrashEngine("CP-001", "restart under a revoked key"); err != nil {
		t.Fatal(err)
	}
	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if st := view(t, n, "CP-001").State; st != revoked {
			t.Fatalf("CP-001 is %s after the restarts, want REVOKED", central.StateName(st))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res, err := keys.RotateKey(ctx2s(t), "CP-001"); err != nil || res.Err != "" {
		t.Fatalf("rotate: %v %+v", err, res)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	addDriver(t, n, network.Driver{ID: "alice", Requests: []string{"CP-001"}})
	if tk := waitTickets(t, h, n, "alice", 1)[0]; tk.GetCpId() != "CP-001" || tk.GetKwh() <= 0 {
		t.Fatalf("after the new key: %v", tk)
	}
}

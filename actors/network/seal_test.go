package network_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// sealedHarness is a harness whose bridge seals the charge points' topics,
// and the network config that hands Central and the engines its keyring.
// EVSIM_TEST_SEAL_OFF=1 runs the same tests with encryption off: that is
// how the forgery tests were shown to fail on the code before keys (each
// forgery is then accepted).
func sealedHarness(t *testing.T) (*testkit.Harness, network.Config) {
	t.Helper()
	var h *testkit.Harness
	if os.Getenv("EVSIM_TEST_SEAL_OFF") != "" {
		h = testkit.New(t)
	} else {
		h = testkit.NewSealed(t)
	}
	cfg := fastConfig(h)
	cfg.Keys = h.Keys
	return h, cfg
}

// forge writes a record as anyone who can reach the broker could: a plain
// sarama producer, a clear envelope, the charge point's id as its key.
func forge(t *testing.T, h *testkit.Harness, topic, key string, msg proto.Message) {
	t.Helper()
	value, err := bridge.Encode(msg, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	produceBytes(t, h, topic, key, value)
}

// refusals are the bridge's WARN lines about records of cpID that did not open.
func refusals(h *testkit.Harness, cpID string) []string {
	return h.Logs.Lines("WARN", "Refused a record for "+cpID)
}

// awaitRefusalOr waits until the forged record was refused, or until
// accepted says it was taken (the code before keys): either way the
// forgery has been handled when it returns.
func awaitRefusalOr(t *testing.T, h *testkit.Harness, cpID string, accepted func() bool) {
	t.Helper()
	testkit.Eventually(t, wait, func() bool { return len(refusals(h, cpID)) > 0 || accepted() },
		func() string { return "the forged record was neither refused nor taken" })
}

// checkRefusedOnce: one WARN naming topic, partition, offset and key id,
// and the charge point shows ENCRYPTION_ERROR.
func checkRefusedOnce(t *testing.T, h *testkit.Harness, n *network.Network, cpID, topic string) {
	t.Helper()
	lines := refusals(h, cpID)
	if len(lines) != 1 {
		t.Fatalf("%d refusal WARN lines for %s, want 1:\n%s", len(lines), cpID, strings.Join(lines, "\n"))
	}
	for _, f := range []string{"topic=" + topic, "partition=", "offset=", "key_id="} {
		if !strings.Contains(lines[0], f) {
			t.Errorf("the refusal line lacks %s: %s", f, lines[0])
		}
	}
	v := waitState(t, n, cpID, messages.ChargePointState_CHARGE_POINT_STATE_ENCRYPTION_ERROR)
	if !strings.Contains(v.Reason, "did not open") {
		t.Errorf("ENCRYPTION_ERROR reason %q does not say why", v.Reason)
	}
}

// networkGoesOn: another charge point still serves a driver to a ticket.
func networkGoesOn(t *testing.T, h *testkit.Harness, n *network.Network, cpID, driverID string) {
	t.Helper()
	addDriver(t, n, network.Driver{ID: driverID, Requests: []string{cpID}})
	tk := waitTickets(t, h, n, driverID, 1)[0]
	if tk.GetCpId() != cpID || tk.GetKwh() <= 0 {
		t.Fatalf("after the forgery: ticket %v", tk)
	}
}

func ticketsOver(h *testkit.Harness, kwh float64) []string {
	var out []string
	for sid, ts := range h.Rec.Get().Tickets {
		for _, tk := range ts {
			if tk.GetKwh() >= kwh {
				out = append(out, fmt.Sprintf("%s: %.2f kWh for %s", sid, tk.GetKwh(), tk.GetDriverId()))
			}
		}
	}
	return out
}

// The first forgery: a SupplyEnded of 999 kWh that no engine sent
// gave its driver a ticket. Sealed, it is refused.
func TestForgedSupplyEndGivesNoTicket(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)

	forge(t, h, bridge.TopicSessionEnd, "CP-001", &messages.SupplyEnded{
		SessionId: "forged-1", DriverId: "alice", CpId: "CP-001", Kwh: 999, Eur: 299.7, PriceEurPerKwh: 0.3,
		StartedAt: timestamppb.New(time.Now().Add(-time.Hour)), EndedAt: timestamppb.Now(),
		Reason: messages.EndReason_END_REASON_COMPLETED})
	awaitRefusalOr(t, h, "CP-001", func() bool { return len(ticketsOver(h, 999)) > 0 })
	if got := ticketsOver(h, 999); len(got) > 0 {
		t.Fatalf("a forged supply end was ticketed: %v", got)
	}
	checkRefusedOnce(t, h, n, "CP-001", bridge.TopicSessionEnd)
	networkGoesOn(t, h, n, "CP-002", "bob")
	if got := ticketsOver(h, 999); len(got) > 0 {
		t.Fatalf("a forged supply end was ticketed: %v", got)
	}
}

// The second: a SupplyEnded of 0.01 kWh for a real running session closed
// it while the engine went on. Sealed, the session runs on and its real
// end makes the one ticket.
func TestForgedEndOfARunningSupplyIsRefused(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	cfg.SupplyDuration = 3 * time.Second
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)
	sid := v.Session.SessionID

	forge(t, h, bridge.TopicSessionEnd, "CP-001", &messages.SupplyEnded{
		SessionId: sid, DriverId: "alice", CpId: "CP-001", Kwh: 0.01, Eur: 0.003, PriceEurPerKwh: 0.3,
		StartedAt: timestamppb.New(v.Session.StartedAt), EndedAt: timestamppb.Now(), Reason: messages.EndReason_END_REASON_COMPLETED})
	awaitRefusalOr(t, h, "CP-001", func() bool { return len(h.Rec.Get().Tickets[sid]) > 0 })
	if ts := h.Rec.Get().Tickets[sid]; len(ts) > 0 {
		t.Fatalf("the forged end closed the running supply: ticket of %.2f kWh", ts[0].GetKwh())
	}
	checkRefusedOnce(t, h, n, "CP-001", bridge.TopicSessionEnd)
	tk := waitTickets(t, h, n, "alice", 1)[0]
	if tk.GetSessionId() != sid || tk.GetKwh() <= 0.01 || tk.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("the real supply's ticket: %v", tk)
	}
	networkGoesOn(t, h, n, "CP-002", "bob")
}

// The third: telemetry for an idle charge point made Central take up a
// supply that never ends.
func TestForgedTelemetryStartsNoSupply(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)

	supplyingMallory := func() bool {
		v := view(t, n, "CP-001")
		return v.Session != nil && v.Session.DriverID == "mallory"
	}
	for i := range 3 {
		forge(t, h, bridge.TopicTelemetry, "CP-001", &messages.Telemetry{
			SessionId: "ghost", DriverId: "mallory", CpId: "CP-001", Kw: 22, Kwh: float64(i + 1), Eur: 0.3 * float64(i+1),
			At: timestamppb.Now(), Seq: uint64(i + 1)})
	}
	awaitRefusalOr(t, h, "CP-001", supplyingMallory)
	checkRefusedOnce(t, h, n, "CP-001", bridge.TopicTelemetry)
	if supplyingMallory() || len(events(t, n, "started", "CP-001")) > 0 {
		t.Fatal("Central took up a supply from forged telemetry")
	}
	networkGoesOn(t, h, n, "CP-002", "bob")
}

// The fourth: a START_SUPPLY on central.commands made an engine supply
// "mallory". Sealed, the engine's bridge refuses it.
func TestForgedStartCommandIsRefusedByTheEngine(t *testing.T) {
	h, cfg := sealedHarness(t)
	cfg.ChargePoints = cps("CP-001", "CP-002")
	n := startNet(t, h, cfg)

	now := time.Now()
	forge(t, h, bridge.TopicCommands, "CP-001", &messages.Command{
		CommandId: "C-forged", CpId: "CP-001", SentAt: timestamppb.New(now), ExpiresAt: timestamppb.New(now.Add(time.Minute)),
		Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{SessionId: "evil", DriverId: "mallory", MaxSeconds: 600}}})
	engineSupplies := func() bool { return h.Rec.Get().Started["evil"] > 0 || len(h.Logs.Lines("Supplying mallory")) > 0 }
	awaitRefusalOr(t, h, "CP-001", engineSupplies)
	if engineSupplies() {
		t.Fatal("the engine obeyed a forged START_SUPPLY")
	}
	lines := refusals(h, "CP-001")
	if len(lines) != 1 || !strings.Contains(lines[0], "topic="+bridge.TopicCommands) {
		t.Fatalf("want one refusal on %s, got:\n%s", bridge.TopicCommands, strings.Join(lines, "\n"))
	}
	networkGoesOn(t, h, n, "CP-002", "bob")
	if engineSupplies() {
		t.Fatal("the engine obeyed a forged START_SUPPLY")
	}
}

package network_test

import (
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/messages"
)

// Flow steps 1-5: registration, request, authorisation, start, telemetry,
// end, ticket, back to ACTIVATED.
func TestSupplyFlowFromRequestToTicket(t *testing.T) {
	h := testkit.New(t)
	cfg := fastConfig(h)
	// This test wants the supply to complete: with the 40 ms health timeout
	// and 400 ms liveness timeout a CPU-starved machine can read the engine
	// or the monitor as dead and end the supply (FAULT, monitor lost).
	// Fault detection has tests of its own (resilience_test.go).
	cfg.HealthInterval, cfg.HealthTimeout, cfg.LivenessTimeout = 200*time.Millisecond, 200*time.Millisecond, 2*time.Second
	cfg.ChargePoints = cps("CP-001")
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)

	tickets := waitTickets(t, h, n, "alice", 1)
	tk := tickets[0]
	if tk.GetCpId() != "CP-001" || tk.GetReason() != messages.EndReason_END_REASON_COMPLETED || tk.GetKwh() <= 0 ||
		tk.GetEur() <= 0 || !tk.GetEndedAt().AsTime().After(tk.GetStartedAt().AsTime()) {
		t.Fatalf("unexpected ticket %v", tk)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	// the recorder reads driver.updates on its own; wait until it has every step
	steps := []string{"DriverNotice", "ChargeAccepted", "SupplyStarted", "Telemetry", "SupplyEnded"}
	var got string
	testkit.Eventually(t, wait, func() bool {
		got = strings.Join(h.Rec.Get().Updates["alice"], " ")
		for _, step := range steps {
			if !strings.Contains(got, step) {
				return false
			}
		}
		return true
	}, func() string { return "alice did not see every step: " + got })
	for _, line := range []string{"Registered new CP: CP-001", "Sent START_SUPPLY to CP-001 for alice", "Ticket for alice at CP-001:"} {
		if len(h.Logs.Lines(line)) == 0 {
			t.Errorf("no log line %q", line)
		}
	}
}

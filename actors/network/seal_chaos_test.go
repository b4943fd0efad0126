package network_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// A chaos run with encryption on: while three drivers work through their
// lists, engines crash, engines are knocked out and repaired, monitors go
// and come back, the broker goes away and returns, and keys are rotated
// and revoked then re-issued, at random (seeded, printed). At the end every
// supply that started has exactly one ticket and ended once (see
// checkChaosInvariant for the one exception a revocation makes), no record
// was refused but those in flight under a revoked key, and no ERROR was
// logged.
func TestChaosWithEncryptionKeepsTheInvariant(t *testing.T) {
	h, cfg := sealedHarness(t)
	ids := []string{"CP-001", "CP-002", "CP-003", "CP-004", "CP-005"}
	cfg.ChargePoints = cps(ids...)
	cfg.SupplyDuration = 400 * time.Millisecond
	cfg.DriverPause = 50 * time.Millisecond
	for i, d := range []string{"alice", "bob", "charlie"} {
		var reqs []string
		for j := range 12 {
			reqs = append(reqs, ids[(i+j)%len(ids)])
		}
		cfg.Drivers = append(cfg.Drivers, network.Driver{ID: d, Requests: reqs})
	}
	n := startChaosNet(t, h, cfg)
	seed := time.Now().UnixNano()
	t.Logf("chaos seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	keys := n.Panel().(central.KeyOperator)
	var did []string
	until := time.Now().Add(10 * time.Second)
	for time.Now().Before(until) {
		id := ids[rng.IntN(len(ids))]
		switch rng.IntN(6) {
		case 0:
			_ = n.CrashEngine(id, "chaos")
			did = append(did, "crash "+id)
		case 1:
			_, _ = n.Panel().KnockOut(ctx2s(t), id, true)
			time.Sleep(300 * time.Millisecond)
			_, _ = n.Panel().KnockOut(ctx2s(t), id, false)
			did = append(did, "ko "+id)
		case 2:
			if err := n.StopMonitor(ctx2s(t), id); err == nil {
				time.Sleep(600 * time.Millisecond)
				_ = n.StartMonitor(ctx2s(t), id)
			}
			did = append(did, "monitor "+id)
		case 3:
			h.StopBroker()
			time.Sleep(500 * time.Millisecond)
			h.StartBroker()
			did = append(did, "broker")
		case 4:
			_, _ = keys.RotateKey(ctx2s(t), id)
			did = append(did, "rotate "+id)
		case 5:
			_, _ = keys.RevokeKey(ctx2s(t), id)
			time.Sleep(300 * time.Millisecond)
			_, _ = keys.RotateKey(ctx2s(t), id)
			did = append(did, "revoke+rotate "+id)
		}
		time.Sleep(time.Duration(100+rng.IntN(300)) * time.Millisecond)
	}
	t.Logf("chaos: %s", strings.Join(did, ", "))
	for _, d := range []string{"alice", "bob", "charlie"} {
		var s *driver.Status
		testkit.Eventually(t, 60*time.Second, func() bool {
			s = driverStatus(h, n, d)
			return s.Finished
		}, func() string { return fmt.Sprintf("%s stuck: %+v", d, s) })
	}
	if got := len(h.Rec.Get().Tickets); got < 3 {
		t.Errorf("only %d tickets in the chaos run", got)
	}
	// Records in flight when their key was revoked are refused (that is
	// what a revocation is); nothing else may be.
	for _, l := range h.Logs.Lines("Refused a record") {
		if !strings.Contains(l, "key is revoked") {
			t.Errorf("a record refused in a run without forgeries: %s", l)
		}
	}
	if lines := h.Logs.Lines("| ERROR |"); len(lines) > 0 {
		t.Errorf("ERROR lines: %q", lines)
	}
}

// startChaosNet is startNet with checkChaosInvariant after the shutdown,
// on what an auditor's recorder saw.
func startChaosNet(t *testing.T, h *testkit.Harness, cfg network.Config) *network.Network {
	t.Helper()
	audit := h.StartAuditRecorder()
	drivers := cfg.Drivers
	cfg.Drivers = nil
	n, err := network.Start(h.Sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		checkChaosInvariant(t, h, audit)
	})
	for _, id := range n.ChargePointIDs() {
		waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	}
	for _, d := range drivers {
		addDriver(t, n, d)
	}
	return n
}

// checkChaosInvariant is the recorder's invariant with one exception that
// a revocation makes: an engine's end sealed just before its key was
// revoked is refused (in flight under a revoked key), so its supply has no
// readable end; Central ended that supply itself at the revocation, with
// one ticket. Such a supply is accepted when its one ticket says Central
// stopped it and a supply end of its charge point was refused as revoked.
// rec is an auditor's recorder (Harness.StartAuditRecorder): it reads with
// every key, so records in flight at a revocation are counted, whether the
// network's recorder had read them before it or not.
func checkChaosInvariant(t *testing.T, h *testkit.Harness, rec *testkit.Recorder) {
	t.Helper()
	rs := rec.CheckInvariantWith(wait, h.Stats, func(sid string, rs *testkit.Records) bool {
		ts := rs.Tickets[sid]
		if len(ts) != 1 || len(rs.Ended[sid]) != 0 || ts[0].GetReason() != messages.EndReason_END_REASON_STOPPED_BY_CENTRAL {
			return false
		}
		return len(h.Logs.Lines("Refused a record for "+ts[0].GetCpId()+" on "+bridge.TopicSessionEnd, "key is revoked")) > 0
	})
	t.Logf("chaos: %d supplies, %d tickets", len(rs.Started), len(rs.Tickets))
}

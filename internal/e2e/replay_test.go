package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An engine that starts with a new consumer group (and an empty journal)
// reads central.commands from the beginning: the START_SUPPLY of a supply
// that ended and was ticketed long ago must not run again as a ghost supply
// that Central does not show. It is ignored, in one line, as expired.
func TestEngineWithANewGroupIgnoresOldCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about 30 s")
	}
	one := startOneChargePoint(t, "--supply-duration", "2s")
	h := one.harness
	h.start("driver")
	var started time.Time
	h.eventually(30*time.Second, "CP-001 supplying alice", func() (bool, string) {
		cps := chargePoints(one.http)
		if s := cps["CP-001"].Session; s != nil && s.StartedAt != nil {
			started = *s.StartedAt
		}
		return !started.IsZero(), describe(cps)
	})
	h.eventually(30*time.Second, "alice's ticket", func() (bool, string) {
		return strings.Contains(h.log("driver", 0), "Ticket for alice at CP-001"), ""
	})
	if code := h.stop("engine", 15*time.Second); code != 0 {
		t.Fatalf("engine exited %d", code)
	}
	// The scenario: the start command is older than its limit (Central's
	// 5 s start timeout) when the new engine reads it.
	time.Sleep(time.Until(started.Add(6 * time.Second)))
	h.add("engine-fresh", one.env, one.engineArgs(filepath.Join(h.dir, "engine-fresh.json"), "--group", "engine-fresh")...)
	h.start("engine-fresh")
	h.eventually(30*time.Second, "the new engine ignores the old start", func() (bool, string) {
		return strings.Contains(h.log("engine-fresh", 0), "Ignored an expired START_SUPPLY command"), ""
	})
	h.eventually(30*time.Second, "CP-001 ACTIVATED with the new engine", func() (bool, string) {
		cps := chargePoints(one.http)
		return cps["CP-001"].State == "ACTIVATED", describe(cps)
	})
	for _, n := range []string{"driver", "monitor", "engine-fresh", "central"} {
		if code := h.stop(n, 15*time.Second); code != 0 {
			t.Errorf("%s exited %d", n, code)
		}
	}
	fresh := h.log("engine-fresh", -1)
	if strings.Contains(fresh, "| Supplying ") {
		t.Errorf("the new engine ran an old start again:\n%s", fresh)
	}
	if n := strings.Count(fresh, "Ignored an expired START_SUPPLY command"); n != 1 {
		t.Errorf("want one line for the one old start, got %d", n)
	}
	// invariant: one supply started, one ticket made, one delivered
	if n := strings.Count(h.log("engine", -1), "| Supplying "); n != 1 {
		t.Errorf("the engine started %d supplies for one request", n)
	}
	if n := strings.Count(h.log("central", -1), "| Central | Ticket for alice"); n != 1 {
		t.Errorf("Central made %d tickets for one supply", n)
	}
	if n := strings.Count(h.log("driver", -1), "Ticket for alice at CP-001"); n != 1 {
		t.Errorf("the driver got %d tickets for one supply", n)
	}
}

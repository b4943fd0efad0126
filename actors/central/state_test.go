package central

import (
	"fmt"
	"testing"

	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// The rules' table, one row per case.
func TestDeriveFollowsTheRulesTable(t *testing.T) {
	const (
		act  = messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
		sup  = messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING
		stop = messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
		flt  = messages.ChargePointState_CHARGE_POINT_STATE_FAULT
		disc = messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED
	)
	cases := []struct {
		name                          string
		alive, ok, stopped, supplying bool
		want                          messages.ChargePointState
	}{
		{"alive, OK, idle", true, true, false, false, act},
		{"alive, OK, supplying", true, true, false, true, sup},
		{"alive, OK, stopped by order", true, true, true, false, stop},
		{"alive, OK, stop order beats a supply still ending", true, true, true, true, stop},
		{"alive, KO or silent", true, false, false, false, flt},
		{"alive, KO while supplying", true, false, false, true, flt},
		{"alive, KO while stopped", true, false, true, false, flt},
		{"dead, OK", false, true, false, false, disc},
		{"dead, KO", false, false, false, false, disc},
		{"dead, supplying", false, true, false, true, disc},
		{"dead, stopped", false, true, true, false, disc},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := Derive(Facts{Alive: c.alive, EngineOK: c.ok, Stopped: c.stopped, Supplying: c.supplying, Fault: "engine reports KO"})
			if got != c.want || why == "" {
				t.Fatalf("Derive = %s (%q), want %s", StateName(got), why, StateName(c.want))
			}
		})
	}
}

// Waiting is not a fault, and a refused registration is its own state.
func TestDeriveShowsWaitingAndRejectedWithTheirReasons(t *testing.T) {
	cases := []struct {
		name       string
		f          Facts
		want       messages.ChargePointState
		wantReason string
	}{
		{"engine waiting for Kafka", Facts{Alive: true, EngineOK: true, Waiting: "waiting for Kafka"},
			messages.ChargePointState_CHARGE_POINT_STATE_WAITING, "not available yet: engine waiting for Kafka"},
		{"a KO beats waiting", Facts{Alive: true, EngineOK: false, Fault: "engine reports KO", Waiting: "waiting for Kafka"},
			messages.ChargePointState_CHARGE_POINT_STATE_FAULT, "engine reports KO"},
		{"no monitor alive, the last registration refused", Facts{EngineOK: true, Rejected: "wrong secret"},
			messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, "registration rejected: wrong secret"},
		{"a monitor alive: a refused second one changes nothing", Facts{Alive: true, EngineOK: true, Rejected: "another monitor"},
			messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED, "ready"},
	}
	for _, c := range cases {
		got, why := Derive(c.f)
		if got != c.want || why != c.wantReason {
			t.Errorf("%s: Derive = %s (%q), want %s (%q)", c.name, StateName(got), why, StateName(c.want), c.wantReason)
		}
	}
}

func TestEveryStateButActivatedDeniesWithAReason(t *testing.T) {
	for s, want := range map[messages.ChargePointState]messages.DenyReason{
		messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED:    messages.DenyReason_DENY_REASON_UNSPECIFIED,
		messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING:    messages.DenyReason_DENY_REASON_BUSY,
		messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:      messages.DenyReason_DENY_REASON_STOPPED,
		messages.ChargePointState_CHARGE_POINT_STATE_FAULT:        messages.DenyReason_DENY_REASON_FAULT,
		messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED: messages.DenyReason_DENY_REASON_DISCONNECTED,
		messages.ChargePointState_CHARGE_POINT_STATE_WAITING:      messages.DenyReason_DENY_REASON_NOT_AVAILABLE,
		messages.ChargePointState_CHARGE_POINT_STATE_REJECTED:     messages.DenyReason_DENY_REASON_DISCONNECTED,
	} {
		got, detail := denyFor(s, "CP-001", "engine reports KO")
		if got != want || (want != messages.DenyReason_DENY_REASON_UNSPECIFIED && detail == "") {
			t.Errorf("%s: %v %q, want %v", StateName(s), got, detail, want)
		}
	}
	for r := range messages.DenyReason_name {
		if r != 0 && DenyText(messages.DenyReason(r)) == "unspecified" {
			t.Errorf("deny reason %v has no text", messages.DenyReason(r))
		}
	}
}

func TestRecentForgetsTheOldest(t *testing.T) {
	r := newRecent(2)
	r.add("a")
	r.add("b")
	r.add("a")
	r.add("c")
	if r.has("a") || !r.has("b") || !r.has("c") {
		t.Fatalf("recent = %v", r.order)
	}
}

// In a network of 50,000 charge points every one may have a supply open:
// each start is counted once, however many other starts come between
// Central's own and the engine's report of it.
func TestStartsAreCountedOnceInALargeNetwork(t *testing.T) {
	const cps = 50_000
	c := &Central{cfg: Config{ExpectedChargePoints: cps, Stats: stats.New()}}
	c.counted = newRecent(c.cfg.recentSize())
	for i := 0; i < cps; i++ {
		c.countStart(fmt.Sprintf("S-%d", i)) // Central starts them all
	}
	for i := 0; i < cps; i++ {
		c.countStart(fmt.Sprintf("S-%d", i)) // then each engine reports its own
	}
	if got := c.cfg.Stats.SuppliesStarted.Load(); got != cps {
		t.Fatalf("%d starts counted for %d supplies", got, cps)
	}
}

// The ordered list of charge points is kept between calls but always
// matches them: one added, or one gone and another come.
func TestSortedIDsFollowTheChargePoints(t *testing.T) {
	c := &Central{cps: map[string]*cpEntry{"CP-2": {}, "CP-1": {}}}
	check := func(want ...string) {
		t.Helper()
		if got := fmt.Sprint(c.sortedIDs()); got != fmt.Sprint(want) {
			t.Fatalf("sortedIDs = %s, want %v", got, want)
		}
	}
	check("CP-1", "CP-2")
	check("CP-1", "CP-2")
	c.cps["CP-0"] = &cpEntry{}
	check("CP-0", "CP-1", "CP-2")
	delete(c.cps, "CP-1")
	c.cps["CP-3"] = &cpEntry{}
	check("CP-0", "CP-2", "CP-3")
}

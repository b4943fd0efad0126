package network_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// tokensIssued counts the tokens the Registry issued to id (its audit log).
func (r *liveRegistry) tokensIssued(id string) int {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	recs, err := r.log.Read(0, 10000)
	if err != nil {
		r.t.Fatal(err)
	}
	n := 0
	for _, rec := range recs {
		if rec.Action == "token.issue" && rec.Target == id && rec.Outcome == audit.OutcomeOK {
			n++
		}
	}
	return n
}

// A monitor renews its token before it expires and presents it to Central,
// which keeps the registration (and the running supply) through many
// token lives. When the Registry is away and the token expires without
// renewal, Central ends the registration: REJECTED with the reason, one
// WARN, the running supply ends with exactly one ticket. A new token
// brings the charge point back.
func TestMonitorRenewsItsTokenAndCentralEndsAnExpiredOne(t *testing.T) {
	h := testkit.New(t)
	r := &liveRegistry{t: t, h: h, dir: t.TempDir(), creds: map[string]string{}, ttl: 2 * time.Second}
	r.open()
	t.Cleanup(r.close)
	r.register("CP-001", false)
	cfg := fastConfig(h)
	cfg.SupplyDuration = time.Minute
	cfg.Tokens = &registry.VerifierOptions{Leeway: 200 * time.Millisecond} // the clock-skew allowance past exp
	cfg.ChargePoints = []network.ChargePoint{r.site("CP-001")}
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)

	// Three token lives: still supplying, no WARN, the token renewed.
	issued := r.tokensIssued("CP-001")
	for deadline := time.Now().Add(3 * r.ttl); time.Now().Before(deadline); {
		if v := view(t, n, "CP-001"); v.State != messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING {
			t.Fatalf("while its monitor renews its token, CP-001 is %s (%s)", central.StateName(v.State), v.Reason)
		}
		time.Sleep(20 * time.Millisecond) // polling the panel
	}
	if renewed := r.tokensIssued("CP-001") - issued; renewed < 3 {
		t.Errorf("%d tokens renewed in three token lives, want 3 or more", renewed)
	}
	if got := h.Logs.Lines("WARN", "CP-001"); len(got) != 0 {
		t.Fatalf("WARN lines while the token is renewed: %q", got)
	}
	if len(driverStatus(h, n, "alice").Tickets) != 0 {
		t.Fatal("the supply ended while its charge point renewed its token")
	}

	// The Registry goes away: the token expires without renewal.
	r.close()
	// REJECTED, first because its token expired, then (its monitor asking
	// again without one) because it cannot get one.
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_REJECTED)
	if !strings.Contains(v.Reason, "token expired") && !strings.Contains(v.Reason, "no token: its monitor cannot get one from the Registry") {
		t.Errorf("reason %q, want that its token expired, or that it cannot get one", v.Reason)
	}
	tickets := waitTickets(t, h, n, "alice", 1)
	if len(tickets) != 1 || tickets[0].GetCpId() != "CP-001" {
		t.Fatalf("tickets = %v", tickets)
	}
	// The monitor keeps asking (without a token now): still one WARN for the expiry.
	asksAgain(t, h, "CP-001", 2)
	if got := h.Logs.Lines("WARN", "CP-001 REJECTED: its token expired"); len(got) != 1 {
		t.Errorf("want one WARN for the expiry, got %q", got)
	}
	if got := h.Logs.Lines("WARN", "Cannot renew the token of CP-001"); len(got) != 1 {
		t.Errorf("want one WARN from the monitor that it cannot renew, got %q", got)
	}
	if got := len(driverStatus(h, n, "alice").Tickets); got != 1 {
		t.Errorf("alice has %d tickets for the one supply", got)
	}

	r.open() // back: a new token, the charge point with it
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// A monitor that cannot get a token (a wrong credential, a Registry that
// does not answer) registers without one and says why: Central refuses it
// with that reason, shown on the panel, one WARN on each side however
// often it asks again.
func TestAMonitorWithoutATokenIsShownOnThePanel(t *testing.T) {
	h := testkit.New(t)
	r := startRegistry(t, h)
	r.register("CP-001", false)
	r.register("CP-002", false)
	r.register("CP-003", false)
	r.creds["CP-001"] = "cpc_not-its-credential"
	var away atomic.Bool // CP-002's Registry does not answer while set
	away.Store(true)
	down := func(ctx context.Context) (string, time.Time, error) {
		if away.Load() {
			return "", time.Time{}, errors.New("the Registry at https://registry:8443: connection refused")
		}
		return r.tokens("CP-002")(ctx)
	}
	cfg := fastConfig(h)
	cfg.Tokens = &registry.VerifierOptions{}
	cfg.ChargePoints = []network.ChargePoint{r.site("CP-001"), {ID: "CP-002", Token: down}, r.site("CP-003")}
	slow(t)
	n, err := network.Start(h.Sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, h, n) })

	waitState(t, n, "CP-003", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	for id, want := range map[string]string{
		"CP-001": "no token: its monitor cannot get one from the Registry: wrong credential",
		"CP-002": "no token: its monitor cannot get one from the Registry: the Registry at https://registry:8443: connection refused",
	} {
		v := waitState(t, n, id, messages.ChargePointState_CHARGE_POINT_STATE_REJECTED)
		if !strings.HasSuffix(v.Reason, want) {
			t.Errorf("%s: reason %q, want %q", id, v.Reason, want)
		}
	}
	for _, id := range []string{"CP-001", "CP-002"} {
		asksAgain(t, h, id, 2)
	}
	for _, id := range []string{"CP-001", "CP-002"} {
		if got := h.Logs.Lines("WARN", "Rejected registration of "+id+": no token"); len(got) != 1 {
			t.Errorf("Central: want one WARN for %s, got %q", id, got)
		}
		if got := h.Logs.Lines("WARN", "Cannot get a token for "+id); len(got) != 1 {
			t.Errorf("monitor: want one WARN for %s, got %q", id, got)
		}
		if got := h.Logs.Lines("WARN", "Central rejected the registration of "+id); len(got) != 0 {
			t.Errorf("monitor: Central's refusal of %s repeated what the monitor said: %q", id, got)
		}
	}
	// The Registry answers again: a token, accepted. (CP-001 keeps being
	// refused: its wrong credential soon has the Registry throttle it.)
	away.Store(false)
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// asksAgain waits until Central has refused id's monitor again times more
// (each at DEBUG: the WARN was said once).
func asksAgain(t *testing.T, h *testkit.Harness, id string, times int) {
	t.Helper()
	testkit.Eventually(t, wait, func() bool {
		return len(h.Logs.Lines("DEBUG", "Rejected registration of "+id+" again")) >= times
	}, func() string { return id + "'s monitor did not ask again" })
}

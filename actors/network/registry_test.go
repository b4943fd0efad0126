package network_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/messages"
)

// liveRegistry is a Registry on its data dir that publishes to the
// harness's bridge, and can be restarted; its charge points' credentials
// are what their sites present.
type liveRegistry struct {
	t     *testing.T
	h     *testkit.Harness
	dir   string
	mu    sync.Mutex
	reg   *registry.Registry
	log   *audit.Log
	creds map[string]string
	ttl   time.Duration // of its tokens; 0 = the Registry's default
}

var adminCaller = registry.Caller{Who: "admin", Source: "test"}

func startRegistry(t *testing.T, h *testkit.Harness) *liveRegistry {
	t.Helper()
	r := &liveRegistry{t: t, h: h, dir: t.TempDir(), creds: map[string]string{}}
	r.open()
	t.Cleanup(r.close)
	return r
}

func (r *liveRegistry) open() {
	r.t.Helper()
	log, err := audit.Open(filepath.Join(r.dir, "audit.log"), audit.Options{})
	if err != nil {
		r.t.Fatal(err)
	}
	reg, err := registry.New(registry.Options{
		DataDir: r.dir, AdminToken: "admin-token-0123456789", Audit: log, BcryptCost: bcrypt.MinCost, TokenTTL: r.ttl,
		Logger: logging.Component(r.h.Logger, "Registry"),
		Publish: func(key string, m proto.Message) {
			r.h.Sys.Root.Send(r.h.Bridge, &bridge.Publish{Topic: bridge.TopicRegistry, Key: key, Msg: m})
		},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.reg, r.log = reg, log
	r.mu.Unlock()
}

func (r *liveRegistry) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reg != nil {
		r.reg.Close()
		_ = r.log.Close()
		r.reg = nil
	}
}

func (r *liveRegistry) restart() {
	r.close()
	r.open()
}

func (r *liveRegistry) register(id string, rotate bool) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out, err := r.reg.Register(adminCaller, registry.Registration{ID: id, Location: "Site " + id, PriceEURPerKWh: 0.3, Rotate: rotate})
	if err != nil {
		r.t.Fatal(err)
	}
	r.creds[id] = out.Credential
}

func (r *liveRegistry) registry() *registry.Registry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reg
}

// tokens is the charge point's TokenSource: its credential, exchanged.
func (r *liveRegistry) tokens(id string) monitor.TokenSource {
	return func(context.Context) (string, time.Time, error) {
		r.mu.Lock()
		reg, cred := r.reg, r.creds[id]
		r.mu.Unlock()
		if reg == nil {
			return "", time.Time{}, registry.ErrClosed
		}
		tok, err := reg.IssueToken(registry.Caller{Who: "cp:" + id, Source: "site"}, id, cred)
		return tok.Token, tok.ExpiresAt, err
	}
}

func (r *liveRegistry) site(id string) network.ChargePoint {
	return network.ChargePoint{ID: id, Token: r.tokens(id)}
}

// stays checks that id never shows ACTIVATED or SUPPLYING for d, polling,
// and ends in want.
func stays(t *testing.T, n *network.Network, id string, d time.Duration, want messages.ChargePointState, when string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		v := view(t, n, id)
		if v.State == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED || v.State == messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING {
			t.Fatalf("after %s, %s is back: %s (%s)", when, id, central.StateName(v.State), v.Reason)
		}
		time.Sleep(10 * time.Millisecond) // polling the panel, not waiting for an event
	}
	waitState(t, n, id, want)
}

// Revocation holds across the next heartbeats, a monitor restart, a
// Central restart (a new life reads the registry topic afresh) and a
// Registry restart; only a new registration brings the charge point back.
func TestRevocationHoldsAcrossHeartbeatsAndRestarts(t *testing.T) {
	h := testkit.New(t)
	r := startRegistry(t, h)
	r.register("CP-001", false)
	r.register("CP-002", false)
	cfg := fastConfig(h)
	cfg.Tokens = &registry.VerifierOptions{}
	cfg.ChargePoints = []network.ChargePoint{r.site("CP-001"), r.site("CP-002")}
	n := startNet(t, h, cfg)

	if _, err := r.registry().Revoke(adminCaller, "CP-001"); err != nil {
		t.Fatal(err)
	}
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_REVOKED)
	holdFor := 20 * cfg.HealthInterval // twenty heartbeats, four registration attempts
	stays(t, n, "CP-001", holdFor, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "the next heartbeats")

	if err := n.StopMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	if err := n.StartMonitor(ctx2s(t), "CP-001"); err != nil {
		t.Fatal(err)
	}
	stays(t, n, "CP-001", holdFor, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "a monitor restart")

	if err := n.StopCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	if err := n.StartCentral(ctx2s(t)); err != nil {
		t.Fatal(err)
	}
	stays(t, n, "CP-001", holdFor, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "a Central restart")
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)

	r.restart()
	stays(t, n, "CP-001", holdFor, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, "a Registry restart")
	if got := len(h.Logs.Lines("WARN", "Cannot get a token for CP-001 from the Registry: charge point revoked")); got == 0 {
		t.Error("the monitor never said that the Registry refuses its token")
	}

	r.register("CP-001", true) // a new registration (new credential) brings it back
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
	waitState(t, n, "CP-002", messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED)
}

// Deregistration cuts a running supply: it ends with one ticket, and the
// charge point is UNREGISTERED.
func TestDeregistrationEndsTheRunningSupplyWithItsTicket(t *testing.T) {
	h := testkit.New(t)
	r := startRegistry(t, h)
	r.register("CP-001", false)
	cfg := fastConfig(h)
	cfg.SupplyDuration = time.Minute
	cfg.Tokens = &registry.VerifierOptions{}
	cfg.ChargePoints = []network.ChargePoint{r.site("CP-001")}
	cfg.Drivers = []network.Driver{{ID: "alice", Requests: []string{"CP-001"}}}
	n := startNet(t, h, cfg)
	waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING)

	if err := r.registry().Deregister(adminCaller, "CP-001"); err != nil {
		t.Fatal(err)
	}
	v := waitState(t, n, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED)
	tickets := waitTickets(t, h, n, "alice", 1)
	if len(tickets) != 1 || tickets[0].GetCpId() != "CP-001" {
		t.Fatalf("tickets = %v", tickets)
	}
	if got := h.Logs.Lines("WARN", "CP-001 UNREGISTERED: deregistered from the Registry"); len(got) != 1 {
		t.Fatalf("want one WARN for the deregistration, got %q", got)
	}
	if !strings.Contains(v.Reason, "Registry") {
		t.Fatalf("reason = %q; want the Registry's word", v.Reason)
	}
	// shutdown (cleanup) checks one ticket per supply on what Kafka carried
}

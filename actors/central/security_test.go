package central_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// registryRecords is a Registry whose published records a test hands to
// Central as the bridge would.
type registryRecords struct {
	mu   sync.Mutex
	msgs []proto.Message
	sent int
	reg  *registry.Registry
}

func newRegistry(t testing.TB) *registryRecords {
	t.Helper()
	dir := t.TempDir()
	a, err := audit.Open(filepath.Join(dir, "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &registryRecords{}
	r.reg, err = registry.New(registry.Options{DataDir: dir, AdminToken: "admin-token-0123456789", Audit: a, BcryptCost: bcrypt.MinCost,
		Logger:  logging.Component(logging.Discard(), "Registry"),
		Publish: func(_ string, m proto.Message) { r.mu.Lock(); r.msgs = append(r.msgs, m); r.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.reg.Close(); _ = a.Close() })
	return r
}

// deliver hands Central the records it has not had yet.
func (r *registryRecords) deliver(sys *actor.ActorSystem, c *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ; r.sent < len(r.msgs); r.sent++ {
		sys.Root.Send(c, bridge.NewDelivery(bridge.TopicRegistry, "k", 0, int64(r.sent), r.msgs[r.sent], nil))
	}
}

func (r *registryRecords) token(t *testing.T, id, cred string) string {
	t.Helper()
	tok, err := r.reg.IssueToken(registry.Caller{Who: "cp:" + id}, id, cred)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

var admin = registry.Caller{Who: "admin"}

// spawnCentral starts Central on an in-memory store, with a probe for its
// bridge unless cfg names one.
func spawnCentral(t testing.TB, sys *actor.ActorSystem, cfg central.Config) *actor.PID {
	t.Helper()
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cfg.Store = st
	if cfg.Bridge == nil {
		cfg.Bridge = testkit.NewProbe(t, sys, nil).PID
	}
	props, err := central.Props(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sys.Root.Spawn(props)
}

// Where Central verifies tokens, each way of being refused is a denial
// with its reason, one WARN, and the panel's state; nothing crashes.
func TestCentralVerifiesTheRegistrysTokens(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	reg := newRegistry(t)
	auditLog, err := audit.Open(filepath.Join(t.TempDir(), "central-audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer auditLog.Close()
	c := spawnCentral(t, sys, central.Config{Bridge: br.PID, LivenessTimeout: time.Hour,
		Tokens: &registry.VerifierOptions{}, RegistryGrace: time.Nanosecond, Audit: auditLog, Logger: logger})
	ask := func(msg any) any {
		t.Helper()
		res, err := sys.Root.RequestFuture(c, msg, wait).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	registerWith := func(id, token string) *messages.RegistrationResult {
		t.Helper()
		return ask(&messages.RegisterChargePoint{CpId: id, Token: token, Kw: 22, Secret: "ignored"}).(*messages.RegistrationResult)
	}
	testkit.Eventually(t, wait, func() bool {
		for _, m := range br.Got() {
			if s, ok := m.(*bridge.Subscribe); ok && s.Topic == bridge.TopicRegistry {
				return true
			}
		}
		return false
	}, func() string { return "Central does not read the registry topic" })

	// Before the Registry's key is known: waiting, not a rejection.
	if r := registerWith("CP-001", "x.y.z"); r.GetAccepted() || !r.GetWaiting() {
		t.Fatalf("before the Registry's records: %v", r)
	}
	cred1, _ := reg.reg.Register(admin, registry.Registration{ID: "CP-001", Location: "Alicante", PriceEURPerKWh: 0.35})
	cred2, _ := reg.reg.Register(admin, registry.Registration{ID: "CP-002", Location: "Elche", PriceEURPerKWh: 0.3})
	reg.deliver(sys, c)
	tok1 := reg.token(t, "CP-001", cred1.Credential)

	for _, tc := range []struct{ id, token, reason string }{
		{"CP-001", "", "no token presented"},
		{"CP-001", "not-a-token", "token invalid"},
		{"CP-002", tok1, "token issued to another charge point"},
	} {
		for i := 0; i < 2; i++ {
			if r := registerWith(tc.id, tc.token); r.GetAccepted() || r.GetReason() == "" {
				t.Fatalf("%s with token %.10q: %v", tc.id, tc.token, r)
			}
		}
		if got := logs.Lines("WARN", "Rejected registration of "+tc.id+": "+tc.reason); len(got) != 1 {
			t.Errorf("want one WARN for %q, got %q", tc.reason, got)
		}
	}
	if r := registerWith("CP-001", tok1); !r.GetAccepted() {
		t.Fatalf("a valid token refused: %v", r)
	}
	snap := ask(&central.GetSnapshot{}).(*central.Snapshot)
	if v := snap.ChargePoints[0]; v.Location != "Alicante" || v.PriceEURPerKWh != 0.35 {
		t.Fatalf("location and price are not the Registry's: %+v", v)
	}
	// Liveness is bound to the monitor that registered: another sender is told to register.
	if a := ask(&messages.Liveness{CpId: "CP-001", Seq: 1}).(*messages.LivenessAck); a.GetKnown() {
		t.Fatal("liveness from another process accepted")
	}

	// A revocation reaches Central as a record: REVOKED at once, one WARN.
	if _, err := reg.reg.Revoke(admin, "CP-001"); err != nil {
		t.Fatal(err)
	}
	reg.deliver(sys, c)
	waitView(t, sys, c, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_REVOKED)
	if r := registerWith("CP-001", tok1); r.GetAccepted() || r.GetReason() != "revoked in the Registry" {
		t.Fatalf("the revoked token: %v", r)
	}
	if got := logs.Lines("WARN", "CP-001"); len(got) != 3 { // 2 rejections above + REVOKED
		t.Errorf("want one WARN for the revocation, got %q", got)
	}
	// Deregistration: UNREGISTERED; an id the Registry never knew: UNREGISTERED too.
	if err := reg.reg.Deregister(admin, "CP-001"); err != nil {
		t.Fatal(err)
	}
	reg.deliver(sys, c)
	waitView(t, sys, c, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED)
	if r := registerWith("CP-404", tok1); r.GetAccepted() || r.GetReason() != "token issued to another charge point" {
		t.Fatalf("an unknown id: %v", r)
	}
	// Only a new registration brings it back.
	again, _ := reg.reg.Register(admin, registry.Registration{ID: "CP-001", Location: "Alicante", PriceEURPerKWh: 0.35})
	reg.deliver(sys, c)
	if r := registerWith("CP-001", tok1); r.GetAccepted() {
		t.Fatalf("a token of its earlier life accepted: %v", r)
	}
	if r := registerWith("CP-001", reg.token(t, "CP-001", again.Credential)); !r.GetAccepted() {
		t.Fatalf("after a new registration: %v", r)
	}
	_ = cred2
	recs, _ := auditLog.Read(0, 100)
	var denied, ok int
	for _, r := range recs {
		switch {
		case r.Action == "register" && r.Outcome == audit.OutcomeDenied:
			denied++
		case r.Action == "register" && r.Outcome == audit.OutcomeOK:
			ok++
		}
	}
	if ok != 2 || denied < 8 {
		t.Fatalf("audit: %d accepted, %d denied registrations; want 2 and 8 or more", ok, denied)
	}
}

func waitView(t *testing.T, sys *actor.ActorSystem, c *actor.PID, id string, want messages.ChargePointState) {
	t.Helper()
	var got central.ChargePointView
	testkit.Eventually(t, wait, func() bool {
		res, err := sys.Root.RequestFuture(c, &central.GetSnapshot{}, wait).Result()
		if err != nil {
			return false
		}
		for _, v := range res.(*central.Snapshot).ChargePoints {
			if v.ID == id {
				got = v
			}
		}
		return got.State == want
	}, func() string {
		return fmt.Sprintf("%s is %s (%s), want %s", id, central.StateName(got.State), got.Reason, central.StateName(want))
	})
}

// Where tokens are verified, liveness and fault reports count only with the
// id of the accepted registration: a message that borrows the monitor's
// address (the same sender PID) but not its registration is not believed.
func TestLivenessAndFaultsNeedTheRegistrationsID(t *testing.T) {
	sys, logger, _ := testkit.NewSystem(t)
	reg := newRegistry(t)
	out, err := reg.reg.Register(admin, registry.Registration{ID: "CP-001", Location: "A", PriceEURPerKWh: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	c := spawnCentral(t, sys, central.Config{LivenessTimeout: time.Hour,
		Tokens: &registry.VerifierOptions{Initial: reg.reg.Records}, Logger: logger})
	// One sender for everything: the monitor's address.
	answers := make(chan proto.Message, 4)
	mon := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *messages.RegisterChargePoint, *messages.Liveness, *messages.FaultReport:
			ctx.Request(c, m)
		case *messages.RegistrationResult, *messages.LivenessAck:
			answers <- m.(proto.Message)
		}
	}))
	send := func(m proto.Message) proto.Message {
		t.Helper()
		sys.Root.Send(mon, m)
		select {
		case a := <-answers:
			return a
		case <-time.After(wait):
			t.Fatalf("no answer to %T", m)
			return nil
		}
	}
	res := send(&messages.RegisterChargePoint{CpId: "CP-001", Token: reg.token(t, "CP-001", out.Credential)}).(*messages.RegistrationResult)
	if !res.GetAccepted() || len(res.GetRegistrationId()) != 32 {
		t.Fatalf("registration: %v", res)
	}
	if a := send(&messages.Liveness{CpId: "CP-001", Seq: 1}).(*messages.LivenessAck); a.GetKnown() {
		t.Fatal("a liveness without the registration's id was believed")
	}
	// The charge point lost its registration to that attempt? No: it is
	// still registered; the genuine monitor goes on.
	if a := send(&messages.Liveness{CpId: "CP-001", Seq: 2, RegistrationId: res.GetRegistrationId()}).(*messages.LivenessAck); !a.GetKnown() {
		t.Fatal("the genuine liveness was refused")
	}
	sys.Root.Send(mon, &messages.FaultReport{CpId: "CP-001", Faulty: true, Detail: "forged"})
	// In order after the report, from the same sender: once answered, the report was handled.
	send(&messages.Liveness{CpId: "CP-001", Seq: 3, EngineOk: true, RegistrationId: res.GetRegistrationId()})
	snap, _ := sys.Root.RequestFuture(c, &central.GetSnapshot{}, wait).Result()
	if v := snap.(*central.Snapshot).ChargePoints[0]; v.State != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
		t.Fatalf("after a fault report without the registration's id, CP-001 is %s (%s)", central.StateName(v.State), v.Reason)
	}
	sys.Root.Send(mon, &messages.FaultReport{CpId: "CP-001", Faulty: true, Detail: "engine KO", RegistrationId: res.GetRegistrationId()})
	waitView(t, sys, c, "CP-001", messages.ChargePointState_CHARGE_POINT_STATE_FAULT)
}

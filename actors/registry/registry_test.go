package registry

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

func TestRegisterOnceThenConflictUnlessRotated(t *testing.T) {
	f := newFixture(t, "")
	cred := f.register(t, "CP-001")
	if !strings.HasPrefix(cred, credentialPrefix) || len(cred) < 40 {
		t.Fatalf("credential %q is not a long random credential", cred)
	}
	_, err := f.reg.Register(admin, Registration{ID: "CP-001", Location: "Elsewhere", PriceEURPerKWh: 0.4})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second register = %v; want ErrExists", err)
	}
	rot, err := f.reg.Register(admin, Registration{ID: "CP-001", Location: "Elsewhere", PriceEURPerKWh: 0.4, Rotate: true})
	if err != nil || !rot.Rotated || rot.Credential == cred {
		t.Fatalf("rotate = %+v, %v", rot, err)
	}
	if _, err := f.reg.IssueToken(admin, "CP-001", cred); !errors.Is(err, ErrBadCredential) {
		t.Fatalf("old credential after rotation = %v; want ErrBadCredential", err)
	}
	f.token(t, "CP-001", rot.Credential)
}

func TestCredentialsAreStoredOnlyHashed(t *testing.T) {
	f := newFixture(t, "")
	cred := f.register(t, "CP-001")
	b, err := os.ReadFile(filepath.Join(f.dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), cred) || strings.Contains(string(b), strings.TrimPrefix(cred, credentialPrefix)) {
		t.Fatal("the state file holds the credential in clear")
	}
	views, _, err := f.reg.List("", 10)
	if err != nil || len(views) != 1 || views[0].State != "registered" {
		t.Fatalf("list = %+v, %v", views, err)
	}
}

func TestBadRegistrationsAreRefusedWithTheField(t *testing.T) {
	f := newFixture(t, "")
	for _, g := range []Registration{
		{ID: "", Location: "A", PriceEURPerKWh: 0.3},
		{ID: "CP 1", Location: "A", PriceEURPerKWh: 0.3},
		{ID: "CP-1", Location: " ", PriceEURPerKWh: 0.3},
		{ID: "CP-1", Location: "A\x00", PriceEURPerKWh: 0.3},
		{ID: "CP-1", Location: "A", PriceEURPerKWh: -0.1},
		{ID: "CP-1", Location: "A", PriceEURPerKWh: 1e9},
	} {
		if _, err := f.reg.Register(admin, g); !errors.Is(err, ErrInvalid) {
			t.Errorf("register %+v = %v; want ErrInvalid", g, err)
		}
	}
}

func TestATokenVerifiesOfflineWithTheKeyAndRecordsFromTheTopic(t *testing.T) {
	f := newFixture(t, "")
	cred := f.register(t, "CP-001")
	tok := f.token(t, "CP-001", cred)
	v := f.verifier()
	c, err := v.Verify("CP-001", tok)
	if err != nil || c.Subject != "CP-001" || c.TokenVersion != 1 {
		t.Fatalf("verify = %+v, %v", c, err)
	}
	if _, err := v.Verify("CP-002", tok); !errors.Is(err, ErrTokenOtherCP) {
		t.Fatalf("another CP's token = %v; want ErrTokenOtherCP", err)
	}
	f.clock.add(6 * time.Minute)
	if _, err := v.Verify("CP-001", tok); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token = %v; want ErrTokenExpired", err)
	}
}

func TestAVerifierWithoutTheRegistrysKeyRefuses(t *testing.T) {
	f := newFixture(t, "")
	tok := f.token(t, "CP-001", f.register(t, "CP-001"))
	if _, err := NewVerifier(VerifierOptions{}).Verify("CP-001", tok); !errors.Is(err, ErrNoRegistryKey) {
		t.Fatalf("verify without key = %v", err)
	}
	// A Central pinned to another key ignores the keys on the topic.
	other := newFixture(t, "")
	pinned := NewVerifier(VerifierOptions{TrustedKeys: []ed25519.PublicKey{other.reg.PublicKey()}})
	f.topic.feed(pinned)
	if _, err := pinned.Verify("CP-001", tok); !errors.Is(err, ErrTokenUnknownKey) {
		t.Fatalf("token of another key = %v; want ErrTokenUnknownKey", err)
	}
}

func TestWrongCredentialAndUnknownIDAnswerTheSame(t *testing.T) {
	f := newFixture(t, "")
	f.register(t, "CP-001")
	c := Caller{Who: "cp", Source: "10.0.0.1:1"}
	_, e1 := f.reg.IssueToken(c, "CP-001", "cpc_wrong")
	_, e2 := f.reg.IssueToken(c, "CP-404", "cpc_wrong")
	if !errors.Is(e1, ErrBadCredential) || !errors.Is(e2, ErrBadCredential) || e1.Error() != e2.Error() {
		t.Fatalf("wrong credential = %v, unknown id = %v; want the same ErrBadCredential", e1, e2)
	}
}

// Guessing is throttled per id and source, then per source across ids,
// and the lockout ends.
func TestRepeatedFailuresAreThrottled(t *testing.T) {
	f := newFixture(t, "")
	cred := f.register(t, "CP-001")
	c := Caller{Who: "cp", Source: "10.0.0.1:1"}
	for i := 0; i < 5; i++ {
		if _, err := f.reg.IssueToken(c, "CP-001", "cpc_guess"); !errors.Is(err, ErrBadCredential) {
			t.Fatalf("guess %d = %v", i, err)
		}
	}
	_, err := f.reg.IssueToken(c, "CP-001", cred)
	var th *ThrottledError
	if !errors.As(err, &th) || th.RetryAfter <= 0 {
		t.Fatalf("after 5 failures, even the right credential = %v; want throttled", err)
	}
	// Another source is not blocked by this one's guessing.
	f.token(t, "CP-001", cred)
	f.clock.add(61 * time.Second)
	if _, err := f.reg.IssueToken(c, "CP-001", cred); err != nil {
		t.Fatalf("after the lockout = %v", err)
	}
	// Spraying many ids from one source hits the source's limit.
	spray := Caller{Who: "cp", Source: "10.0.0.9:1"}
	for i := 0; i < 20; i++ {
		_, _ = f.reg.IssueToken(spray, "CP-X"+string(rune('A'+i)), "cpc_guess")
	}
	if _, err := f.reg.IssueToken(spray, "CP-NEW", "cpc_guess"); !errors.As(err, &th) {
		t.Fatalf("after 20 failures across ids = %v; want throttled", err)
	}
	if err := f.reg.CheckAdmin(Caller{Source: "10.0.0.2:1"}, testAdmin); err != nil {
		t.Fatalf("admin = %v", err)
	}
	for i := 0; i < 5; i++ {
		_ = f.reg.CheckAdmin(Caller{Source: "10.0.0.3:1"}, "wrong")
	}
	if err := f.reg.CheckAdmin(Caller{Source: "10.0.0.3:2"}, testAdmin); !errors.As(err, &th) {
		t.Fatalf("admin after 5 wrong tokens = %v; want throttled", err)
	}
}

// Revocation: every token refused at once, no new token, and it holds
// across a restart of the Registry and a fresh Verifier; only a new
// registration (rotation) brings the charge point back, with new tokens.
func TestRevocationHoldsUntilANewRegistration(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, dir)
	cred := f.register(t, "CP-001")
	tok := f.token(t, "CP-001", cred)
	v := f.verifier()
	if _, err := v.Verify("CP-001", tok); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Revoke(admin, "CP-001"); err != nil {
		t.Fatal(err)
	}
	f.topic.feed(v)
	if _, err := v.Verify("CP-001", tok); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("token after revoke = %v; want ErrTokenRevoked", err)
	}
	if err := v.StillValid("CP-001", 1); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("StillValid after revoke = %v", err)
	}
	if _, err := f.reg.IssueToken(admin, "CP-001", cred); !errors.Is(err, ErrRevoked) {
		t.Fatalf("new token after revoke = %v; want ErrRevoked", err)
	}
	f.close()

	g := newFixture(t, dir) // the Registry restarts on its data dir
	fresh := g.verifier()   // a Central that starts reads the republished records
	if _, err := fresh.Verify("CP-001", tok); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("after a registry restart = %v; want ErrTokenRevoked", err)
	}
	if _, err := g.reg.IssueToken(admin, "CP-001", cred); !errors.Is(err, ErrRevoked) {
		t.Fatalf("new token after restart = %v; want ErrRevoked", err)
	}
	// A replayed older record cannot undo the revocation.
	f.topic.mu.Lock()
	for _, m := range f.topic.msgs[:2] {
		fresh.Apply(m)
	}
	f.topic.mu.Unlock()
	if _, err := fresh.Verify("CP-001", tok); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("after replaying an old record = %v; want ErrTokenRevoked", err)
	}
	rot, err := g.reg.Register(admin, Registration{ID: "CP-001", Location: "Alicante", PriceEURPerKWh: 0.3, Rotate: true})
	if err != nil {
		t.Fatal(err)
	}
	g.topic.feed(fresh)
	if _, err := fresh.Verify("CP-001", tok); !errors.Is(err, ErrTokenStale) {
		t.Fatalf("the pre-revocation token after re-registration = %v; want ErrTokenStale", err)
	}
	if _, err := fresh.Verify("CP-001", g.token(t, "CP-001", rot.Credential)); err != nil {
		t.Fatalf("a new token after re-registration = %v", err)
	}
}

func TestDeregisteredIsUnregisteredAndANewLifeHasNewVersions(t *testing.T) {
	f := newFixture(t, "")
	cred := f.register(t, "CP-001")
	tok := f.token(t, "CP-001", cred)
	if err := f.reg.Deregister(admin, "CP-001"); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Deregister(admin, "CP-001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second deregister = %v; want ErrNotFound", err)
	}
	v := f.verifier()
	if _, err := v.Verify("CP-001", tok); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("after deregister = %v; want ErrUnregistered", err)
	}
	if _, err := f.reg.IssueToken(admin, "CP-001", cred); !errors.Is(err, ErrBadCredential) {
		t.Fatalf("token after deregister = %v", err)
	}
	if views, _, _ := f.reg.List("", 10); len(views) != 0 {
		t.Fatalf("list after deregister = %+v", views)
	}
	f.register(t, "CP-001") // 201 again, not 409
	f.topic.feed(v)
	if _, err := v.Verify("CP-001", tok); !errors.Is(err, ErrTokenStale) {
		t.Fatalf("a token of its earlier life = %v; want ErrTokenStale", err)
	}
}

func TestRecordsAreWhatTheTopicHolds(t *testing.T) {
	f := newFixture(t, "")
	tok := f.token(t, "CP-001", f.register(t, "CP-001"))
	if _, err := f.reg.Revoke(admin, "CP-001"); err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(VerifierOptions{Initial: f.reg.Records})
	if _, err := v.Verify("CP-001", tok); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("a verifier from Records = %v; want ErrTokenRevoked", err)
	}
}

func TestListPages(t *testing.T) {
	f := newFixture(t, "")
	for _, id := range []string{"CP-003", "CP-001", "CP-002"} {
		f.register(t, id)
	}
	page, next, err := f.reg.List("", 2)
	if err != nil || len(page) != 2 || page[0].ID != "CP-001" || next != "CP-002" {
		t.Fatalf("page 1 = %+v next %q, %v", page, next, err)
	}
	page, next, _ = f.reg.List(next, 2)
	if len(page) != 1 || page[0].ID != "CP-003" || next != "" {
		t.Fatalf("page 2 = %+v next %q", page, next)
	}
}

func TestEverySecurityEventIsAudited(t *testing.T) {
	f := newFixture(t, "")
	cred := f.register(t, "CP-001")
	f.token(t, "CP-001", cred)
	_, _ = f.reg.IssueToken(Caller{Who: "cp", Source: "10.0.0.1:1", RequestID: "r-9"}, "CP-001", "cpc_bad")
	_, _ = f.reg.Revoke(admin, "CP-001")
	_ = f.reg.Deregister(admin, "CP-001")
	_ = f.reg.CheckAdmin(Caller{Source: "10.0.0.5:1"}, "nope")
	recs, err := f.audit.Read(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+":"+r.Outcome)
	}
	want := "register:ok token.issue:ok auth.fail:denied revoke:ok deregister:ok admin.auth.fail:denied"
	if strings.Join(actions, " ") != want {
		t.Fatalf("audit = %v; want %s", actions, want)
	}
	if recs[2].Source != "10.0.0.1:1" || recs[2].RequestID != "r-9" {
		t.Fatalf("failure record lacks source or request id: %+v", recs[2])
	}
	if n, err := audit.VerifyFile(f.audit.Path()); err != nil || n != len(recs) {
		t.Fatalf("audit verify = %d, %v", n, err)
	}
}

func TestRegisterAllSavesOnceAndRotatesKnownOnes(t *testing.T) {
	f := newFixture(t, "")
	old := f.register(t, "CP-001")
	out, err := f.reg.RegisterAll(admin, []Registration{
		{ID: "CP-001", Location: "A", PriceEURPerKWh: 0.3, Rotate: true},
		{ID: "CP-002", Location: "B", PriceEURPerKWh: 0.3, Rotate: true},
	})
	if err != nil || len(out) != 2 || out[0].Credential == old || out[0].View.TokenVersion != 2 || out[1].View.TokenVersion != 1 {
		t.Fatalf("register all = %+v, %v", out, err)
	}
	v := f.verifier()
	if _, err := v.Verify("CP-002", f.token(t, "CP-002", out[1].Credential)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.RegisterAll(admin, []Registration{{ID: "CP-003", Location: "C", PriceEURPerKWh: 0.3}, {ID: "CP-001", Location: "A", PriceEURPerKWh: 0.3}}); !errors.Is(err, ErrExists) {
		t.Fatalf("a conflict = %v; want ErrExists", err)
	}
	if _, err := f.reg.Get("CP-003"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused batch applied CP-003: %v", err)
	}
}

// Guesses from very many sources cannot grow the counters without bound.
func TestFailureCountersStayBounded(t *testing.T) {
	const maxCounters = 200
	f := newFixtureWith(t, "", func(o *Options) { o.Throttle.MaxCounters = maxCounters })
	for i := 0; i < maxCounters+300; i++ {
		_, _ = f.reg.IssueToken(Caller{Source: fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255)}, "CP-X", "cpc_guess")
	}
	var n int
	if err := f.reg.do(func(st *state) { n = len(st.failures) }); err != nil {
		t.Fatal(err)
	}
	if n > maxCounters+1 {
		t.Fatalf("%d failure counters kept; want at most %d", n, maxCounters+1)
	}
}

// Two Registries write to one topic (e.g. two evsim runs on one Kafka, each
// with its own): a Central pinned to its Registry's key takes only that
// Registry's records, so the other's revocation or rotation of the same id
// does not reject its charge point.
func TestAPinnedVerifierIgnoresAnotherRegistrysRecords(t *testing.T) {
	ours, other := newFixture(t, ""), newFixture(t, "")
	tok := ours.token(t, "CP-001", ours.register(t, "CP-001"))
	other.register(t, "CP-001")
	if _, err := other.reg.Revoke(Caller{Who: "admin"}, "CP-001"); err != nil {
		t.Fatal(err)
	}
	pinned := NewVerifier(VerifierOptions{TrustedKeys: []ed25519.PublicKey{ours.reg.PublicKey()}, Now: ours.clock.now})
	ours.topic.feed(pinned)
	other.topic.feed(pinned) // the other Registry's records come later, with higher versions
	if _, err := pinned.Verify("CP-001", tok); err != nil {
		t.Fatalf("our token after another Registry revoked the same id: %v", err)
	}
	if id, ok := pinned.Identity("CP-001"); !ok || id.GetState() != messages.IdentityState_IDENTITY_STATE_REGISTERED {
		t.Fatalf("identity = %v, %v; want ours, registered", id, ok)
	}
}

// A token counts as expired for a holder admitted with it exactly when
// Verify would refuse it: after exp plus the clock-skew leeway.
func TestExpiredByAllowsTheLeeway(t *testing.T) {
	exp := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	v := NewVerifier(VerifierOptions{Leeway: 5 * time.Second})
	for _, tc := range []struct {
		after time.Duration
		want  bool
	}{{-time.Second, false}, {0, false}, {4999 * time.Millisecond, false}, {5 * time.Second, true}, {time.Minute, true}} {
		if got := v.ExpiredBy(exp, exp.Add(tc.after)); got != tc.want {
			t.Errorf("%v after exp: expired %v, want %v", tc.after, got, tc.want)
		}
	}
}

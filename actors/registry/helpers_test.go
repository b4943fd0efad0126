package registry

import (
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/audit"
)

const testAdmin = "admin-token-for-tests-0123"

// topic records what a Registry publishes, in order, like the compacted
// topic a Central reads.
type topic struct {
	mu   sync.Mutex
	msgs []proto.Message
}

func (tp *topic) publish(_ string, m proto.Message) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.msgs = append(tp.msgs, m)
}

// feed applies every record so far to v.
func (tp *topic) feed(v *Verifier) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for _, m := range tp.msgs {
		v.Apply(m)
	}
}

// clock is a settable time for expiry and throttle tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func quietLogger() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

type fixture struct {
	dir   string
	reg   *Registry
	topic *topic
	clock *clock
	audit *audit.Log
}

func newFixture(t testing.TB, dir string) *fixture {
	t.Helper()
	return newFixtureWith(t, dir, nil)
}

// newFixtureWith is newFixture with edit applied to the options.
func newFixtureWith(t testing.TB, dir string, edit func(*Options)) *fixture {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	f := &fixture{dir: dir, topic: &topic{}, clock: &clock{t: time.Now()}}
	var err error
	f.audit, err = audit.Open(filepath.Join(dir, "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		DataDir: dir, AdminToken: testAdmin, Audit: f.audit, BcryptCost: bcrypt.MinCost,
		Publish: f.topic.publish, Now: f.clock.now, Logger: quietLogger(),
	}
	if edit != nil {
		edit(&o)
	}
	f.reg, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.close)
	return f
}

func (f *fixture) close() {
	f.reg.Close()
	_ = f.audit.Close()
}

func (f *fixture) verifier() *Verifier {
	v := NewVerifier(VerifierOptions{Now: f.clock.now})
	f.topic.feed(v)
	return v
}

var admin = Caller{Who: "admin", Source: "127.0.0.1:5000", RequestID: "req-1"}

func (f *fixture) register(t testing.TB, id string) string {
	t.Helper()
	out, err := f.reg.Register(admin, Registration{ID: id, Location: "Alicante", PriceEURPerKWh: 0.3})
	if err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
	return out.Credential
}

func (f *fixture) token(t testing.TB, id, credential string) string {
	t.Helper()
	tok, err := f.reg.IssueToken(Caller{Who: "cp:" + id, Source: "127.0.0.1:6000"}, id, credential)
	if err != nil {
		t.Fatalf("token for %s: %v", id, err)
	}
	return tok.Token
}

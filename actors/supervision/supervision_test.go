package supervision

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) lines(parts ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range strings.Split(l.b.String(), "\n") {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// crasher panics on Crash and counts its incarnations.
type crasher struct{ starts chan<- struct{} }

func (c *crasher) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.starts <- struct{}{}
	case *Crash:
		panic(m.Reason)
	}
}

func TestBudgetDelayDoublesUpToTheCap(t *testing.T) {
	b := Budget{MaxRestarts: 5, Window: time.Minute, Backoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond}
	var got []time.Duration
	for n := 1; n <= 5; n++ {
		got = append(got, b.delay(n))
	}
	want := []time.Duration{100, 200, 400, 500, 500}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v", got)
		}
	}
	if err := (Budget{Backoff: time.Second, MaxBackoff: time.Millisecond}).Validate(); err == nil {
		t.Fatal("MaxBackoff below Backoff accepted")
	}
}

// Each failure is one WARN line naming the actor, the reason and the attempt;
// the stack is at DEBUG only; after the budget the child is stopped for good
// and OnGiveUp runs; every failure runs OnFailure first.
func TestRestartWithinBudgetThenGiveUp(t *testing.T) {
	buf := &logBuf{}
	off := false
	logger, _ := logging.New(logging.Options{Level: "debug", Out: buf, Color: &off})
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logger, "protoactor")
	}))
	defer sys.Shutdown()
	run := stats.New()
	starts := make(chan struct{}, 16)
	gaveUp := make(chan any, 1)
	failures := make(chan any, 16)
	child := Child{
		Name: "engine", Display: "Engine CP-001", IDKey: "cp_id", ID: "CP-001",
		Props:     actor.PropsFromProducer(func() actor.Actor { return &crasher{starts: starts} }, actor.WithReceiverMiddleware(CaptureStack)),
		OnGiveUp:  func(_ actor.Context, _ *actor.PID, reason any) { gaveUp <- reason },
		OnFailure: func(_ actor.Context, _ *actor.PID, reason any) { failures <- reason },
	}
	props, err := Props(Config{Display: "Site CP-001", Logger: logger, Stats: run, Children: []Child{child},
		Budget: Budget{MaxRestarts: 2, Window: time.Minute, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	sup := sys.Root.Spawn(props)
	<-starts
	res, _ := sys.Root.RequestFuture(sup, &Lookup{Name: "engine"}, time.Second).Result()
	pid := res.(*Found).PID
	for i := 1; i <= 2; i++ {
		sys.Root.Send(pid, &Crash{Reason: "boom"})
		<-starts // restarted
	}
	lines := buf.lines("WARN", "Engine CP-001 failed: boom; restarting in", "cp_id=CP-001")
	if len(lines) != 2 || !strings.Contains(lines[0], "(attempt 1 of 2)") || !strings.Contains(lines[1], "(attempt 2 of 2)") ||
		!strings.Contains(lines[1], "restarting in 20ms") {
		t.Fatalf("restart lines:\n%s", strings.Join(lines, "\n"))
	}
	sys.Root.Send(pid, &Crash{Reason: "boom"})
	select {
	case r := <-gaveUp:
		if p, ok := r.(*Panic); !ok || p.Error() != "boom" {
			t.Fatalf("gave up with %v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not give up")
	}
	if len(failures) != 3 {
		t.Errorf("OnFailure ran %d times, want 3", len(failures))
	}
	if got := buf.lines("WARN", "Engine CP-001 failed: boom (failure 3 within 1m0s, budget 2): stopped for good"); len(got) != 1 {
		t.Fatalf("give-up line: %q", buf.lines("WARN"))
	}
	if len(buf.lines("WARN", "goroutine")) != 0 || len(buf.lines("INFO", "Recovering")) != 0 {
		t.Fatal("a stack or protoactor's own line reached WARN/INFO")
	}
	if len(buf.lines("DEBUG", "Stack of the failure of Engine CP-001")) != 3 {
		t.Fatal("stacks not at DEBUG")
	}
	if run.Restarts.Load() != 2 {
		t.Fatalf("restarts %d", run.Restarts.Load())
	}
	eventually(t, func() bool {
		res, _ := sys.Root.RequestFuture(sup, &Lookup{Name: "engine"}, time.Second).Result()
		return res.(*Found).PID == nil
	}, "child still listed after it was stopped")
	// a stopped child can be started again by name
	res, _ = sys.Root.RequestFuture(sup, &Spawn{Child: child}, time.Second).Result()
	if s := res.(*Spawned); s.Err != nil {
		t.Fatal(s.Err)
	}
	<-starts
	res, _ = sys.Root.RequestFuture(sup, &StopChild{Name: "engine"}, time.Second).Result()
	if s := res.(*ChildStopped); !s.Found {
		t.Fatal("stop child")
	}
}

package central_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// holdCentral keeps Central from running (a test middleware blocks on it),
// as a Central that is seconds behind its mailbox at scale.
type holdCentral struct{}

// centralMailbox notes when a check tick and a liveness reach Central's
// mailbox (MessagePosted runs before the push: the test waits for the push
// of the tick through the liveness posted after it).
type centralMailbox struct {
	mu        sync.Mutex
	lastTick  time.Time
	livePosts atomic.Int32
}

func (m *centralMailbox) MailboxStarted()     {}
func (m *centralMailbox) MessageReceived(any) {}
func (m *centralMailbox) MailboxEmpty()       {}
func (m *centralMailbox) MessagePosted(msg any) {
	if env, ok := msg.(*actor.MessageEnvelope); ok {
		msg = env.Message
	}
	switch msg.(type) {
	case *messages.Liveness:
		m.livePosts.Add(1)
	default:
		if fmt.Sprintf("%T", msg) == "*central.checkTick" {
			m.mu.Lock()
			m.lastTick = time.Now()
			m.mu.Unlock()
		}
	}
}

func (m *centralMailbox) tickSince(t time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastTick.After(t)
}

// A Central that was itself not scheduled for longer than the liveness
// timeout must not mark DISCONNECTED a monitor whose sign of life waits in
// its mailbox behind the check tick (at scale: hundreds of false
// DISCONNECTED lines in one second while Central caught up with its mailbox;
// the process as a whole was never stalled, so the stall meter saw nothing).
func TestALateCentralIsNotFooledByItsOwnQueue(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const timeout = 300 * time.Millisecond
	props, err := central.Props(central.Config{Store: st, Bridge: br.PID, LivenessTimeout: timeout, Logger: logger, Stats: stats.New()})
	if err != nil {
		t.Fatal(err)
	}
	mb := &centralMailbox{}
	release := make(chan struct{})
	held := make(chan struct{})
	props.Configure(actor.WithMailbox(actor.Unbounded(mb)), actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(*holdCentral); ok {
				close(held)
				<-release
				return
			}
			next(c, env)
		}
	}))
	c := sys.Root.Spawn(props)
	// The monitor: asks Central what the test tells it to, and keeps the answers.
	answers := make(chan any, 16)
	mon := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *messages.RegisterChargePoint, *messages.Liveness:
			ctx.Request(c, m)
		case *messages.RegistrationResult, *messages.LivenessAck:
			answers <- m
		}
	}))
	answer := func() any {
		t.Helper()
		select {
		case a := <-answers:
			return a
		case <-time.After(wait):
			t.Fatal("Central did not answer the monitor")
			return nil
		}
	}
	sys.Root.Send(mon, &messages.RegisterChargePoint{CpId: "CP-001", Secret: "s", Kw: 22, PriceEurPerKwh: 0.3})
	if r, ok := answer().(*messages.RegistrationResult); !ok || !r.GetAccepted() {
		t.Fatalf("registration: %v", r)
	}
	sys.Root.Send(mon, &messages.Liveness{CpId: "CP-001", Seq: 1, EngineOk: true})
	if a, ok := answer().(*messages.LivenessAck); !ok || !a.GetKnown() {
		t.Fatalf("liveness: %v", a)
	}
	lastSign := time.Now()
	sys.Root.Send(c, &holdCentral{})
	<-held
	// Central does not run for more than the liveness timeout; a tick comes
	// then, and the monitor's next sign of life right behind it.
	testkit.Eventually(t, wait, func() bool { return mb.tickSince(lastSign.Add(timeout)) },
		func() string { return "no check tick reached Central's mailbox after the timeout" })
	sys.Root.Send(mon, &messages.Liveness{CpId: "CP-001", Seq: 2, EngineOk: true})
	testkit.Eventually(t, wait, func() bool { return mb.livePosts.Load() >= 2 },
		func() string { return "the sign of life never reached Central's mailbox" })
	close(release)
	if a, ok := answer().(*messages.LivenessAck); !ok || !a.GetKnown() {
		t.Errorf("the monitor was told to register again: %v", a)
	}
	// A few more sweeps.
	for seq := uint64(3); seq < 6; seq++ {
		sys.Root.Send(mon, &messages.Liveness{CpId: "CP-001", Seq: seq, EngineOk: true})
		answer()
	}
	if got := logs.Lines("WARN", "DISCONNECTED"); len(got) != 0 {
		t.Errorf("a monitor whose sign of life waited in Central's mailbox was marked DISCONNECTED: %q", got)
	}
}

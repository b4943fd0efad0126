package monitor_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/messages"
)

// holdMonitor keeps the monitor from running (a test middleware blocks on
// it) as a worker pool busy at scale does.
type holdMonitor struct{}

// answerNow tells the test engine to answer the check it held.
type answerNow struct{}

// lateRound is the shared state of one round of TestALateMonitorIsNotFooledByItsOwnQueue.
type lateRound struct {
	armed        atomic.Bool // the next health check is held
	holdPosted   atomic.Bool // the hold reached the monitor's mailbox
	timeoutQueue atomic.Bool // the check's timeout reached it, after the hold
	invalid      atomic.Bool // the timeout came first: the round proves nothing
	release      chan struct{}
	answered     chan struct{}
}

// posted watches the monitor's mailbox (MessagePosted runs before the push,
// so the engine answers only on a later wheel turn).
type posted struct{ r *lateRound }

func (p posted) MailboxStarted()     {}
func (p posted) MessageReceived(any) {}
func (p posted) MailboxEmpty()       {}
func (p posted) MessagePosted(m any) {
	if env, ok := m.(*actor.MessageEnvelope); ok {
		m = env.Message
	}
	switch m.(type) {
	case *holdMonitor:
		p.r.holdPosted.Store(true)
	default:
		if p.r.armed.Load() && fmt.Sprintf("%T", m) == "*monitor.healthTimeout" && !p.r.timeoutQueue.Load() {
			if !p.r.holdPosted.Load() {
				p.r.invalid.Store(true)
			}
			p.r.timeoutQueue.Store(true)
		}
	}
}

// A monitor that was itself not scheduled while its check timed out must
// not call the engine silent when the engine answered as soon as it was
// asked: the answer sits in the mailbox behind the timeout (at 50,000 charge
// points the worker pool ran seconds late and monitors reported false FAULTs,
// though the process was never stalled as a whole).
func TestALateMonitorIsNotFooledByItsOwnQueue(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	central := testkit.NewProbe(t, sys, centralReply(true))
	r := &lateRound{}
	var checks atomic.Int32
	engine := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *messages.HealthCheck:
			checks.Add(1)
			if !r.armed.Load() || r.holdPosted.Load() {
				c.Respond(&messages.HealthAnswer{CpId: m.GetCpId(), Seq: m.GetSeq(), Ok: true, Status: messages.HealthStatus_HEALTH_STATUS_OK})
				return
			}
			c.Send(c.Sender(), &holdMonitor{}) // the monitor stops running now
			// Answer at once as the monitor sees it (it is held), but on a
			// later turn of the wheel than its timeout, which is then
			// long overdue: the monitor was not scheduled for twice the timeout.
			timer.New(c).After(2*interval, &lateAnswer{check: m, to: c.Sender()})
		case *lateAnswer:
			if !r.timeoutQueue.Load() {
				timer.New(c).After(10*time.Millisecond, m) // its timeout is not queued yet
				return
			}
			c.Send(m.to, &messages.HealthAnswer{CpId: m.check.GetCpId(), Seq: m.check.GetSeq(), Ok: true, Status: messages.HealthStatus_HEALTH_STATUS_OK})
			close(r.answered)
		}
	}))
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "s", Engine: engine, Central: central.PID,
		HealthInterval: 4 * interval, HealthTimeout: interval, Logger: logger}) // no stall meter: the process never stalls here, only the monitor waits
	if err != nil {
		t.Fatal(err)
	}
	props.Configure(actor.WithMailbox(actor.Unbounded(posted{r})), actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(*holdMonitor); ok {
				<-r.release
				return
			}
			next(c, env)
		}
	}))
	mon := sys.Root.Spawn(props)
	// Past the start: the engine has answered (a first check unanswered is only "not answering yet").
	testkit.Eventually(t, wait, func() bool { return count[*messages.Liveness](central.Got(), nil) > 0 && checks.Load() >= 2 },
		func() string { return "the monitor never told Central it is alive, or never checked its engine twice" })

	for round := 0; ; round++ {
		if round == 5 {
			t.Fatal("in 5 rounds the timeout always reached the monitor before the hold: the machine is too slow for this test")
		}
		r.release, r.answered = make(chan struct{}), make(chan struct{})
		r.holdPosted.Store(false)
		r.timeoutQueue.Store(false)
		r.invalid.Store(false)
		r.armed.Store(true)
		select {
		case <-r.answered: // mailbox: hold, timeout, answer
		case <-time.After(wait):
			t.Fatal("the engine never answered the held check")
		}
		r.armed.Store(false)
		close(r.release)
		if !r.invalid.Load() {
			break
		}
	}
	seen := checks.Load()
	testkit.Eventually(t, wait, func() bool { return checks.Load() >= seen+2 }, func() string { return "no more health checks" })
	if _, err := sys.Root.RequestFuture(mon, &monitor.GetStatus{}, wait).Result(); err != nil {
		t.Fatal(err)
	}
	if n := count(central.Got(), func(f *messages.FaultReport) bool { return f.GetFaulty() }); n != 0 {
		t.Errorf("%d FAULT reports for an engine that answered at once; logs: %q", n, logs.Lines("WARN"))
	}
}

// lateAnswer is the test engine's reminder to answer a held check.
type lateAnswer struct {
	check *messages.HealthCheck
	to    *actor.PID
}

// Package supervision is how our actors fail and come back: a supervisor
// actor that owns named children and restarts a failed child within a budget
// (so many failures in a window, with a doubling back-off), then stops it for
// good and says so. Each failure is one WARN line naming the child, the reason
// and the attempt; the Go stack goes to DEBUG only.
//
// protoactor facts this package is built around: a strategy given with
// actor.WithSupervisor applies to an actor's children, not to the actor
// itself, and actors spawned from the root context fall under the guardian's
// default strategy. So every actor of ours is the child of a Supervisor, and
// the Supervisor is the strategy (protoactor asks the parent actor first when
// it implements actor.SupervisorStrategy). protoactor's
// NewExponentialBackoffStrategy grows linearly and never gives up; ours doubles
// up to a cap and gives up after the budget.
package supervision

import (
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/internal/pool"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
)

// Panic is the failure reason of a panic caught by CaptureStack: the value
// and the Go stack where it happened.
type Panic struct {
	Value any
	Stack []byte
}

func (p *Panic) Error() string  { return fmt.Sprint(p.Value) }
func (p *Panic) String() string { return p.Error() }

// CaptureStack is a receiver middleware that keeps the stack of a panic in
// the failure reason (as *Panic), so the supervisor can log it at DEBUG. Put
// it on every supervised actor's props: actor.WithReceiverMiddleware(CaptureStack).
func CaptureStack(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		defer func() {
			if r := recover(); r != nil {
				if p, ok := r.(*Panic); ok {
					panic(p)
				}
				panic(&Panic{Value: r, Stack: debug.Stack()})
			}
		}()
		next(c, env)
	}
}

// Budget is how much failing a child may do.
type Budget struct {
	// MaxRestarts is how many restarts within Window; one failure more stops the child. Default 5.
	MaxRestarts int
	// Window is the span over which failures are counted. Default 30 s.
	Window time.Duration
	// Backoff is the delay before the first restart; each further failure in
	// the window doubles it. Default 100 ms.
	Backoff time.Duration
	// MaxBackoff caps the delay. Default 5 s.
	MaxBackoff time.Duration
}

// DefaultBudget is 5 restarts in 30 s, starting at 100 ms and doubling up to 5 s.
func DefaultBudget() Budget {
	return Budget{MaxRestarts: 5, Window: 30 * time.Second, Backoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

func (b *Budget) setDefaults() {
	d := DefaultBudget()
	if b.MaxRestarts == 0 {
		b.MaxRestarts = d.MaxRestarts
	}
	if b.Window == 0 {
		b.Window = d.Window
	}
	if b.Backoff == 0 {
		b.Backoff = d.Backoff
	}
	if b.MaxBackoff == 0 {
		b.MaxBackoff = d.MaxBackoff
	}
}

// Validate checks the budget.
func (b Budget) Validate() error {
	switch {
	case b.MaxRestarts < 0:
		return fmt.Errorf("supervision budget: MaxRestarts %d is negative", b.MaxRestarts)
	case b.Window < 0 || b.Backoff < 0 || b.MaxBackoff < 0:
		return fmt.Errorf("supervision budget: negative duration")
	case b.MaxBackoff < b.Backoff:
		return fmt.Errorf("supervision budget: MaxBackoff %v is below Backoff %v", b.MaxBackoff, b.Backoff)
	}
	return nil
}

// delay is the back-off before the n-th restart (1-based).
func (b Budget) delay(n int) time.Duration {
	d := b.Backoff
	for i := 1; i < n && d < b.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, b.MaxBackoff)
}

// Child describes one supervised child.
type Child struct {
	// Name is the actor name under the supervisor (e.g. "engine").
	Name string
	// Display names the child in log lines (e.g. "Engine CP-001").
	Display string
	Props   *actor.Props
	// Fields are added to the supervisor's lines about this child.
	Fields logrus.Fields
	// IDKey and ID are one more such field (e.g. cp_id=CP-001), kept as two
	// strings: a map for each of a hundred thousand children costs more
	// than the lines it is for.
	IDKey, ID string
	// OnGiveUp, when set, runs in the supervisor after the child failed
	// beyond its budget and was stopped (e.g. report the charge point FAULT).
	OnGiveUp func(ctx actor.Context, child *actor.PID, reason any)
	// OnFailure, when set, runs in the supervisor on every failure of the
	// child, before the restart (e.g. tell the monitor its engine crashed).
	OnFailure func(ctx actor.Context, child *actor.PID, reason any)
}

// Config configures a Supervisor.
type Config struct {
	// Display names the supervisor in its own log lines.
	Display string
	Budget  Budget
	Logger  logrus.FieldLogger
	Stats   *stats.Run
	// Children are spawned when the supervisor starts, in order.
	Children []Child
}

// Messages a Supervisor accepts.
type (
	// Spawn adds a child; the answer is *Spawned.
	Spawn struct{ Child Child }
	// Spawned answers Spawn.
	Spawned struct {
		PID *actor.PID
		Err error
	}
	// StopChild stops a child by name (gracefully: it gets *actor.Stopping);
	// the answer is *ChildStopped once it has terminated.
	StopChild struct{ Name string }
	// ChildStopped answers StopChild. Found is false when there was no such child.
	ChildStopped struct {
		Name  string
		Found bool
	}
	// Lookup asks for a child's PID by name; the answer is *Found.
	Lookup struct{ Name string }
	// Found answers Lookup; PID is nil when there is no such child.
	Found struct{ PID *actor.PID }
	// Crash makes the receiving supervised actor panic (tests and chaos):
	// every actor of this module treats it the same way.
	Crash struct{ Reason string }
)

type child struct {
	// spec points at the supervisor's Config.Children (or the Spawn that
	// brought it): a copy per child was one more per charge point.
	spec   *Child
	pid    *actor.PID
	gaveUp bool
}

// Supervisor owns named children and is their strategy. A network has one
// per charge point site: what it keeps is made when it is first needed
// (its log entry on its first line, its waiting list on the first StopChild).
type Supervisor struct {
	cfg      Config
	log      *logrus.Entry
	ctx      actor.Context
	children map[string]*child // by name, the last part of the child's PID id
	waiting  map[string][]*actor.PID
}

// logger is the supervisor's log entry, made on its first line.
func (s *Supervisor) logger() *logrus.Entry {
	if s.log == nil {
		s.log = logging.Component(s.cfg.Logger, s.cfg.Display)
	}
	return s.log
}

// childOf finds a child by its PID: children are spawned by name, so the
// PID id is the supervisor's own id, a slash and the name.
func (s *Supervisor) childOf(who *actor.PID) *child {
	if s.ctx == nil {
		return nil
	}
	name, ok := strings.CutPrefix(who.GetId(), s.ctx.Self().GetId()+"/")
	if !ok {
		return nil
	}
	if c := s.children[name]; c != nil && c.pid.GetId() == who.GetId() {
		return c
	}
	return nil
}

// setDefaults fills the zero fields.
func (c *Config) setDefaults() {
	c.Budget.setDefaults()
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Stats == nil {
		c.Stats = stats.New()
	}
	if c.Display == "" {
		c.Display = "Supervisor"
	}
}

// Props returns the props of a supervisor. Its own failures go to its parent.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Budget.Validate(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &Supervisor{cfg: cfg}
	}), nil
}

var _ actor.SupervisorStrategy = (*Supervisor)(nil)

// Receive implements actor.Actor.
func (s *Supervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.ctx = ctx
		s.children = make(map[string]*child, len(s.cfg.Children))
		for i := range s.cfg.Children {
			if _, err := s.spawn(ctx, &s.cfg.Children[i]); err != nil {
				s.logger().WithError(err).Warnf("Could not start %s", s.cfg.Children[i].Display)
			}
		}
	case *Spawn:
		pid, err := s.spawn(ctx, &m.Child)
		ctx.Respond(&Spawned{PID: pid, Err: err})
	case *StopChild:
		c, ok := s.children[m.Name]
		if !ok {
			ctx.Respond(&ChildStopped{Name: m.Name})
			return
		}
		if ctx.Sender() != nil {
			if s.waiting == nil {
				s.waiting = map[string][]*actor.PID{}
			}
			s.waiting[m.Name] = append(s.waiting[m.Name], ctx.Sender())
		}
		ctx.Stop(c.pid)
	case *Lookup:
		if c, ok := s.children[m.Name]; ok {
			ctx.Respond(&Found{PID: c.pid})
		} else {
			ctx.Respond(&Found{})
		}
	case *actor.Terminated:
		c := s.childOf(m.Who)
		if c == nil {
			return
		}
		delete(s.children, c.spec.Name)
		for _, w := range s.waiting[c.spec.Name] {
			ctx.Send(w, &ChildStopped{Name: c.spec.Name, Found: true})
		}
		delete(s.waiting, c.spec.Name)
	}
}

func (s *Supervisor) spawn(ctx actor.Context, spec *Child) (*actor.PID, error) {
	if old, ok := s.children[spec.Name]; ok {
		return old.pid, fmt.Errorf("%s is already running", spec.Display)
	}
	if spec.Display == "" {
		spec.Display = spec.Name
	}
	// Every supervised actor runs on the system's worker pool, not on a
	// goroutine of its own for each burst of messages. Its mailbox is a
	// linked queue (as the bridge's): protoactor's default ring starts with
	// room for 10 messages and never shrinks, about 200 bytes more per
	// actor at rest, three actors per charge point.
	spec.Props.Configure(actor.WithDispatcher(pool.For(ctx.ActorSystem())), actor.WithMailbox(actor.UnboundedLockfree()))
	pid, err := ctx.SpawnNamed(spec.Props, spec.Name)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Display, err)
	}
	c := &child{spec: spec, pid: pid}
	s.children[spec.Name] = c
	return pid, nil
}

// HandleFailure implements actor.SupervisorStrategy for the children. It
// runs in the supervisor's own mailbox goroutine.
func (s *Supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, who *actor.PID, rs *actor.RestartStatistics, reason any, _ any) {
	display := who.GetId()
	c := s.childOf(who)
	if c != nil {
		display = c.spec.Display
	}
	log := s.logger().WithField("actor", display)
	if c != nil && c.spec.IDKey != "" {
		log = log.WithField(c.spec.IDKey, c.spec.ID)
	}
	if c != nil && c.spec.Fields != nil {
		log = log.WithFields(c.spec.Fields)
	}
	if p, ok := reason.(*Panic); ok {
		log.Debugf("Stack of the failure of %s: %v\n%s", display, p.Value, p.Stack)
	}
	if c != nil && c.spec.OnFailure != nil && s.ctx != nil {
		c.spec.OnFailure(s.ctx, who, reason)
	}
	b := s.cfg.Budget
	rs.Fail()
	n := rs.NumberOfFailures(b.Window)
	if n > b.MaxRestarts {
		log.Warnf("%s failed: %v (failure %d within %v, budget %d): stopped for good",
			display, reason, n, b.Window, b.MaxRestarts)
		sup.StopChildren(who)
		if c != nil && !c.gaveUp {
			c.gaveUp = true
			if c.spec.OnGiveUp != nil && s.ctx != nil {
				c.spec.OnGiveUp(s.ctx, who, reason)
			}
		}
		return
	}
	d := b.delay(n)
	log.Warnf("%s failed: %v; restarting in %v (attempt %d of %d)", display, reason, d, n, b.MaxRestarts)
	s.cfg.Stats.Restarts.Add(1)
	time.AfterFunc(d, func() { sup.RestartChildren(who) })
}

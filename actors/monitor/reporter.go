package monitor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/words"
)

// A node that hosts many charge points (evnode site) has one monitor each,
// all talking to the same Central: when Central is away, each would say so.
// A CentralReporter speaks for them: one WARN when the first of them cannot
// reach Central, one INFO when the last of them reaches it again. A lone
// monitor (no Reporter) says it itself, as before.

// CentralReporter says, for all the monitors of a node, whether Central
// answers. Its methods may be called from any actor.
type CentralReporter interface {
	// Unreachable: Central has not answered monitor cpID for silence; at is
	// " at HOST:PORT" for a Central in another process, or "".
	Unreachable(cpID, at string, silence time.Duration)
	// Reachable: Central answers monitor cpID again.
	Reachable(cpID string)
	// Gone: monitor cpID stops or restarts; it no longer waits for Central.
	Gone(cpID string)
	// Registered: Central accepted monitor cpID's registration.
	Registered(cpID, at string)
	// Unknown: Central did not know cpID (it restarted); it registers again.
	Unknown(cpID, at string)
	// Waiting: Central never answered cpID yet (it may not be up yet).
	Waiting(cpID, at string)
	// CentralWaits: Central answered cpID that it is up but not ready
	// (reason, e.g. "Central is waiting for Kafka").
	CentralWaits(cpID, at, reason string)
}

// ReporterConfig configures a node's reporter actor.
type ReporterConfig struct {
	// ChargePoints is how many the node hosts (named in its lines).
	ChargePoints int
	// Gather is how long the registrations of the node's monitors are
	// gathered into one line after the latest: a liveness interval or two
	// of the monitors (they all re-register within one). Default 1 s.
	Gather time.Duration
	Logger logrus.FieldLogger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// ReporterProps makes the props of a node's reporter actor; NewNodeReporter
// gives its monitors the way to it.
func ReporterProps(cfg ReporterConfig) *actor.Props {
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Gather <= 0 {
		cfg.Gather = time.Second
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &reporter{cfg: cfg, down: map[string]bool{}, gathered: map[string]*gathering{}}
	})
}

// NodeReporter is the CentralReporter of the reporter actor at pid.
type NodeReporter struct {
	root *actor.RootContext
	pid  *actor.PID
}

// NewNodeReporter sends to the reporter actor at pid through root.
func NewNodeReporter(root *actor.RootContext, pid *actor.PID) *NodeReporter {
	return &NodeReporter{root: root, pid: pid}
}

// Unreachable implements CentralReporter.
func (r *NodeReporter) Unreachable(cpID, at string, silence time.Duration) {
	r.root.Send(r.pid, &centralUnreachable{cpID: cpID, at: at, silence: silence})
}

// Reachable implements CentralReporter.
func (r *NodeReporter) Reachable(cpID string) { r.root.Send(r.pid, &centralReachable{cpID: cpID}) }

// Gone implements CentralReporter.
func (r *NodeReporter) Gone(cpID string) { r.root.Send(r.pid, &monitorGone{cpID: cpID}) }

// Registered implements CentralReporter.
func (r *NodeReporter) Registered(cpID, at string) {
	r.root.Send(r.pid, &gathered{kind: kindRegistered, cpID: cpID, at: at})
}

// Waiting implements CentralReporter.
func (r *NodeReporter) Waiting(cpID, at string) { r.root.Send(r.pid, &centralNotUpYet{at: at}) }

// CentralWaits implements CentralReporter.
func (r *NodeReporter) CentralWaits(cpID, at, reason string) {
	r.root.Send(r.pid, &centralNotReady{at: at, reason: reason})
}

// Unknown implements CentralReporter.
func (r *NodeReporter) Unknown(cpID, at string) {
	r.root.Send(r.pid, &gathered{kind: kindUnknown, cpID: cpID, at: at})
}

type centralUnreachable struct {
	cpID, at string
	silence  time.Duration
}

type centralReachable struct{ cpID string }

type monitorGone struct{ cpID string }

type centralNotUpYet struct{ at string }

type centralNotReady struct{ at, reason string }

// reporter is the actor: the set of the node's monitors that cannot reach
// Central, and when it last became non-empty.
type reporter struct {
	cfg   ReporterConfig
	log   *logrus.Entry
	down  map[string]bool
	since time.Time
	most  int    // the most monitors down at once in this outage
	at    string // where Central is, as the first monitor said
	// gathered are the registrations (and Central's "unknown") of the
	// moment, one line each kind once none came for Gather.
	toldWaiting bool // "waiting for Central" is said once per life of the node
	// toldNotReady is the latest "Central is not ready" reason said for
	// the node: each reason is one line, not one per charge point.
	toldNotReady string
	gathered     map[string]*gathering
	lastGathered time.Time
	timers       *timer.Timers
}

// Receive implements actor.Actor.
func (r *reporter) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.log = logging.Component(r.cfg.Logger, "Site node")
		r.timers = timer.New(ctx)
	case *actor.Restarting, *actor.Stopping:
		r.timers.StopAll()
	case *gathered:
		r.gather(msg)
	case *gatherTick:
		r.tellGathered()
	case *centralUnreachable:
		if r.down[msg.cpID] {
			return
		}
		if len(r.down) == 0 {
			r.since, r.most, r.at = r.cfg.Now().Add(-msg.silence), 0, msg.at
			r.log.Warnf("Cannot reach Central%s, retrying (no answer for %v); the %s of this node accept nothing new until it is back",
				msg.at, msg.silence.Round(time.Millisecond), words.Count(r.cfg.ChargePoints, "charge point", "charge points"))
		}
		r.down[msg.cpID] = true
		r.most = max(r.most, len(r.down))
	case *centralReachable:
		if !r.down[msg.cpID] {
			return
		}
		delete(r.down, msg.cpID)
		if len(r.down) == 0 {
			r.log.Infof("Central%s is reachable again after %v; the %s of this node that could not reach it accept work again",
				r.at, r.cfg.Now().Sub(r.since).Round(100*time.Millisecond), words.Count(r.most, "charge point", "charge points"))
		}
	case *centralNotUpYet:
		if !r.toldWaiting {
			r.toldWaiting = true
			r.log.Infof("Waiting for Central%s to answer; the %s of this node accept nothing new until they are registered",
				msg.at, words.Count(r.cfg.ChargePoints, "charge point", "charge points"))
		}
	case *centralNotReady:
		if r.toldNotReady != msg.reason {
			r.toldNotReady = msg.reason
			r.log.Infof("%s%s; the %s of this node register as soon as it is ready",
				msg.reason, msg.at, words.Count(r.cfg.ChargePoints, "charge point", "charge points"))
		}
	case *monitorGone:
		delete(r.down, msg.cpID)
	}
}

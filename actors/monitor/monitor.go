// Package monitor is the charge point's monitor: it registers and
// authenticates its charge point with Central, checks its engine's health
// every interval with a timeout, reports a fault (no answer in time, or a KO
// answer) and the recovery to Central at once, and sends Central a sign of
// life every interval so that Central can tell when the monitor is gone.
//
// It talks to its engine and to Central only by PIDs with protobuf messages,
// so either may live in another process.
package monitor

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stall"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// Config configures one monitor.
type Config struct {
	// CPID is the charge point's id. Required.
	CPID string
	// Location, PriceEURPerKWh and KW describe the charge point to Central.
	// Defaults "unknown", 0.30 and 22.
	Location       string
	PriceEURPerKWh float64
	KW             float64
	// Secret is the charge point's credential, checked by Central in the
	// lab's open mode. Required unless Token is set.
	Secret string
	// Token, when set, gets the Registry's token that the monitor presents
	// when it registers (where Central verifies tokens).
	Token TokenSource
	// Engine and Central are where the engine and Central are (local or remote). Required.
	Engine  *actor.PID
	Central *actor.PID
	// OtherCentrals are more Centrals of one shared group (evnode --central
	// a,b,c): when the one it talks to stays silent for CentralTimeout, the
	// monitor turns to the next, round the list (centrals.go). Default none.
	OtherCentrals []*actor.PID
	// HealthInterval is how often the engine is checked. Default 1 s.
	HealthInterval time.Duration
	// HealthTimeout is how long an answer may take. Default half the interval.
	HealthTimeout time.Duration
	// LivenessInterval is how often Central hears from the monitor. Default HealthInterval.
	LivenessInterval time.Duration
	// CentralTimeout is the silence after which Central counts as unreachable
	// (one WARN line). Default 3 liveness intervals.
	CentralTimeout time.Duration
	// Address is where Central can reach this monitor, empty in one process.
	Address string
	// StartGrace is how long after the monitor starts a silent engine is not
	// yet a fault, unless it answered once before: an engine in another
	// process may still be starting. A KO answer is a fault at once. A
	// Central that never answered yet is one INFO line (not started yet)
	// for the grace, and at least 10 CentralTimeouts. Default 0 (no grace).
	StartGrace time.Duration
	// Stall measures this process's own stalls (stopped, starved of CPU):
	// silence that falls into one is not counted against the engine or
	// Central. nil: every silence counts.
	Stall  *stall.Meter
	Logger logrus.FieldLogger
	Stats  *stats.Run
	Now    func() time.Time

	// Reporter, when set, says for all the monitors of a node that Central
	// cannot be reached and that it is back (reporter.go); nil: the
	// monitor says it itself.
	Reporter CentralReporter
}

func (c *Config) setDefaults() {
	if c.Location == "" {
		c.Location = "unknown"
	}
	if c.PriceEURPerKWh == 0 {
		c.PriceEURPerKWh = 0.30
	}
	if c.KW == 0 {
		c.KW = 22
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = time.Second
	}
	if c.HealthTimeout == 0 {
		c.HealthTimeout = c.HealthInterval / 2
	}
	if c.LivenessInterval == 0 {
		c.LivenessInterval = c.HealthInterval
	}
	if c.CentralTimeout == 0 {
		c.CentralTimeout = 3 * c.LivenessInterval
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Stats == nil {
		c.Stats = stats.New()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate checks the configuration (after defaults).
func (c *Config) Validate() error {
	switch {
	case c.CPID == "":
		return errors.New("monitor config: CPID is empty")
	case c.Engine == nil || c.Central == nil:
		return fmt.Errorf("monitor %s config: Engine and Central PIDs are required", c.CPID)
	case c.HealthInterval <= 0:
		return fmt.Errorf("monitor %s config: HealthInterval must be more than 0", c.CPID)
	case c.HealthTimeout <= 0 || c.HealthTimeout > c.HealthInterval:
		return fmt.Errorf("monitor %s config: HealthTimeout %v must be more than 0 and at most HealthInterval %v", c.CPID, c.HealthTimeout, c.HealthInterval)
	case c.StartGrace < 0:
		return fmt.Errorf("monitor %s config: StartGrace %v is negative", c.CPID, c.StartGrace)
	case c.LivenessInterval <= 0 || c.CentralTimeout <= c.LivenessInterval:
		return fmt.Errorf("monitor %s config: CentralTimeout %v must be longer than LivenessInterval %v", c.CPID, c.CentralTimeout, c.LivenessInterval)
	}
	return nil
}

// Props returns the monitor's props, with defaults applied and validated.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor { return &Monitor{cfg: &cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack)), nil
}

// Messages a monitor accepts besides the answers of its engine and Central.
type (
	// EngineFailed tells the monitor that its engine crashed (sent by the
	// charge point's supervisor, which sees the crash before any health check).
	EngineFailed struct{ Reason string }
	// GetStatus asks for *Status.
	GetStatus struct{}
	// Status is the monitor's view.
	Status struct {
		Registered       bool
		EngineOK         bool
		CentralReachable bool
		// EngineWaiting says what the engine waits for (e.g. "waiting for
		// Kafka"), empty once it is ready.
		EngineWaiting string
		// Rejected is Central's reason for refusing the registration, if it did.
		Rejected string
	}
	healthTick    struct{}
	livenessTick  struct{}
	beatTick      struct{} // a health check and a sign of life, when their intervals are equal
	healthTimeout struct{ seq uint64 }
)

// Monitor is the monitor actor.
type Monitor struct {
	cfg    *Config // the props' own copy, shared by every incarnation
	log    logging.Lazy
	timers *timer.Timers

	registered bool
	rejected   string // Central's reason for refusing the registration, "" if it did not
	lastReg    time.Time

	engineOK    bool
	faultDetail string
	waiting     string                 // what the engine waits for, "" once it is ready
	answer      *messages.HealthAnswer // the last one
	seq         uint64
	pending     uint64    // health check awaiting its answer, 0 if none
	sentAt      time.Time // when the pending check went out
	dropTimeout func()    // cancels the pending check's timeout once it is answered
	started     time.Time
	answered    bool // the engine answered a health check at least once

	liveSeq        uint64
	asked          time.Time // oldest request to Central not answered yet, zero if none
	unreachable    bool
	heard          bool   // Central answered at least once
	centralWaiting string // what a Central that is up but not ready waits for
	toldWaiting    bool   // the one INFO line about a Central that does not answer yet
	selfAddr       string // this actor system's address

	registrationID string    // Central's id of the accepted registration (with tokens)
	token          string    // the Registry's token, "" if none yet
	tokenExpires   time.Time // when it expires
	fetching       bool      // a token is being fetched

	tokenLife        time.Duration // the current token's life when it arrived
	renewAfter       time.Time     // no token request before this (after a failure)
	tokenProblem     string        // why the last token request failed, "" if it did not
	sentWithoutToken bool          // the last registration carried no token, for tokenProblem
	// key is the charge point's key (or its revocation) from Central (keys.go).
	key *messages.ChargePointKey
	// turnedAt is when the monitor last turned to another Central (centrals.go).
	turnedAt time.Time
	turns    int
}

// Receive implements actor.Actor.
func (m *Monitor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.log = logging.NewLazy(m.cfg.Logger, "Monitor ", "cp_id", m.cfg.CPID)
		m.timers = timer.New(ctx)
		m.engineOK = true
		m.started = m.cfg.Now()
		m.selfAddr = ctx.Self().GetAddress()
		m.register(ctx)
		if m.cfg.LivenessInterval == m.cfg.HealthInterval {
			// One tick for both (the default): a message less a second.
			m.timers.Every(m.cfg.HealthInterval, &beatTick{})
		} else {
			m.timers.Every(m.cfg.HealthInterval, &healthTick{})
			m.timers.Every(m.cfg.LivenessInterval, &livenessTick{})
		}
	case *actor.Restarting, *actor.Stopping:
		m.timers.StopAll()
		if m.unreachable && m.cfg.Reporter != nil {
			m.cfg.Reporter.Gone(m.cfg.CPID)
		}
	case *beatTick:
		m.check(ctx)
		m.liveness(ctx)
	case *healthTick:
		m.check(ctx)
	case *healthTimeout:
		m.checkTimedOut(ctx, msg.seq, false)
	case *finalTimeout:
		m.checkTimedOut(ctx, msg.seq, true)
	case *messages.HealthAnswer:
		m.engineAnswered(ctx, msg)
	case *EngineFailed:
		m.fault(ctx, "engine crashed ("+msg.Reason+")")
	case *livenessTick:
		m.liveness(ctx)
	case *messages.RegistrationResult:
		m.registrationResult(ctx, msg)
	case *messages.LivenessAck:
		m.livenessAck(ctx, msg)
	case *tokenFetched:
		m.tokenArrived(ctx, msg)
	case *actor.DeadLetterResponse:
		// A peer that is gone: the health timeout or the Central timeout says it, once.
	case *GetStatus:
		ctx.Respond(&Status{Registered: m.registered, EngineOK: m.engineOK, CentralReachable: !m.unreachable,
			EngineWaiting: m.waiting, Rejected: m.rejected})
	}
}

// silence is how long since t this process ran without hearing an answer:
// the time it was stalled itself does not count.
func (m *Monitor) silence(t, now time.Time) time.Duration {
	return now.Sub(t) - m.cfg.Stall.Since(t)
}

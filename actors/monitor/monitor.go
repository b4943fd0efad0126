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
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/logging"
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
	// Secret is the charge point's credential, checked by Central. Required.
	Secret string
	// Engine and Central are where the engine and Central are (local or remote). Required.
	Engine  *actor.PID
	Central *actor.PID
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
	// process may still be starting (or waiting for Kafka). A KO answer is
	// a fault at once. Central's silence before its first answer is not
	// reported within the grace either. Default 0 (no grace).
	StartGrace time.Duration
	Logger     logrus.FieldLogger
	Stats      *stats.Run
	Now        func() time.Time
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
	return actor.PropsFromProducer(func() actor.Actor { return &Monitor{cfg: cfg} },
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
	}
	healthTick    struct{}
	livenessTick  struct{}
	healthTimeout struct{ seq uint64 }
)

// Monitor is the monitor actor.
type Monitor struct {
	cfg    Config
	log    *logrus.Entry
	timers *timer.Timers

	registered  bool
	rejected    bool
	lastReg     time.Time
	engineOK    bool
	faultDetail string
	answer      *messages.HealthAnswer // the last one
	seq         uint64
	pending     uint64 // health check awaiting its answer, 0 if none
	liveSeq     uint64
	lastCentral time.Time // last answer from Central
	unreachable bool
	started     time.Time
	answered    bool   // the engine answered a health check at least once
	heard       bool   // Central answered at least once
	selfAddr    string // this actor system's address
}

// Receive implements actor.Actor.
func (m *Monitor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.log = logging.Component(m.cfg.Logger, "Monitor "+m.cfg.CPID).WithField("cp_id", m.cfg.CPID)
		m.timers = timer.New(ctx)
		m.engineOK = true
		m.lastCentral = m.cfg.Now()
		m.started = m.lastCentral
		m.selfAddr = ctx.Self().GetAddress()
		m.register(ctx)
		m.timers.Every(m.cfg.HealthInterval, &healthTick{})
		m.timers.Every(m.cfg.LivenessInterval, &livenessTick{})
	case *actor.Restarting, *actor.Stopping:
		m.timers.StopAll()
	case *healthTick:
		if m.pending != 0 {
			return // its timeout decides
		}
		m.seq++
		m.pending = m.seq
		ctx.Request(m.cfg.Engine, &messages.HealthCheck{CpId: m.cfg.CPID, Seq: m.seq})
		m.timers.After(m.cfg.HealthTimeout, &healthTimeout{seq: m.seq})
	case *healthTimeout:
		if m.pending == msg.seq {
			m.pending = 0
			m.answer = nil
			if !m.answered && m.cfg.Now().Sub(m.started) < m.cfg.StartGrace {
				return // still starting: the grace period decides
			}
			m.fault(ctx, "engine not answering health checks")
		}
	case *messages.HealthAnswer:
		if msg.GetSeq() != m.pending {
			return // late: its timeout already counted
		}
		m.pending = 0
		m.answer = msg
		m.answered = true
		if msg.GetOk() {
			m.recovered(ctx)
		} else {
			m.fault(ctx, "engine reports KO")
		}
	case *EngineFailed:
		m.fault(ctx, "engine crashed ("+msg.Reason+")")
	case *livenessTick:
		m.liveness(ctx)
	case *messages.RegistrationResult:
		m.heardFromCentral()
		if !msg.GetAccepted() {
			m.registered = false
			if !m.rejected {
				m.rejected = true
				m.log.Warnf("Central rejected the registration of %s: %s", m.cfg.CPID, msg.GetReason())
			}
			return
		}
		m.rejected = false
		if !m.registered {
			m.registered = true
			m.log.Infof("Registered %s with Central", m.cfg.CPID)
		}
		if !m.engineOK {
			m.report(ctx, true)
		}
	case *messages.LivenessAck:
		m.heardFromCentral()
		if !msg.GetKnown() && m.registered {
			m.registered = false
			m.log.Info("Central does not know this charge point (it restarted); registering again")
			m.register(ctx)
		}
	case *actor.DeadLetterResponse:
		// A peer that is gone: the health timeout or the Central timeout says it, once.
	case *GetStatus:
		ctx.Respond(&Status{Registered: m.registered, EngineOK: m.engineOK, CentralReachable: !m.unreachable})
	}
}

func (m *Monitor) register(ctx actor.Context) {
	m.lastReg = m.cfg.Now()
	ctx.Request(m.cfg.Central, &messages.RegisterChargePoint{
		CpId: m.cfg.CPID, Location: m.cfg.Location, PriceEurPerKwh: m.cfg.PriceEURPerKWh, Kw: m.cfg.KW,
		Secret: m.cfg.Secret, MonitorAddress: m.cfg.Address,
	})
}

func (m *Monitor) liveness(ctx actor.Context) {
	now := m.cfg.Now()
	starting := !m.heard && now.Sub(m.started) < m.cfg.StartGrace
	if !m.unreachable && !starting && now.Sub(m.lastCentral) > m.cfg.CentralTimeout {
		m.unreachable = true
		m.log.Warnf("Cannot reach Central%s, retrying (no answer for %v); %s accepts nothing new until it is back",
			m.centralAt(), m.cfg.CentralTimeout.Round(time.Millisecond), m.cfg.CPID)
	}
	if !m.registered {
		retry := m.cfg.LivenessInterval
		if m.rejected {
			retry = 5 * m.cfg.LivenessInterval
		}
		if now.Sub(m.lastReg) >= retry {
			m.register(ctx)
		}
		return
	}
	m.liveSeq++
	l := &messages.Liveness{CpId: m.cfg.CPID, Seq: m.liveSeq, EngineOk: m.engineOK}
	if a := m.answer; a != nil {
		l.EngineState, l.SessionId, l.DriverId = a.GetEngineState(), a.GetSessionId(), a.GetDriverId()
	}
	ctx.Request(m.cfg.Central, l)
}

func (m *Monitor) heardFromCentral() {
	m.lastCentral = m.cfg.Now()
	m.heard = true
	if m.unreachable {
		m.unreachable = false
		m.log.Infof("Central%s is reachable again", m.centralAt())
	}
}

// centralAt is " at HOST:PORT" when Central lives in another process.
func (m *Monitor) centralAt() string {
	if a := m.cfg.Central.GetAddress(); a != m.selfAddr {
		return " at " + a
	}
	return ""
}

func (m *Monitor) fault(ctx actor.Context, detail string) {
	if !m.engineOK {
		// Still the same fault: one WARN line per fault, but Central hears
		// the newer cause (e.g. a crashed engine that stays silent).
		if detail != m.faultDetail {
			m.faultDetail = detail
			m.log.Debugf("%s still FAULT, now: %s", m.cfg.CPID, detail)
			m.report(ctx, true)
		}
		return
	}
	m.engineOK = false
	m.faultDetail = detail
	m.log.Warnf("%s FAULT: %s", m.cfg.CPID, detail)
	m.report(ctx, true)
}

func (m *Monitor) recovered(ctx actor.Context) {
	if m.engineOK {
		return
	}
	m.engineOK = true
	m.faultDetail = ""
	m.log.Infof("%s recovered: engine answers health checks again", m.cfg.CPID)
	m.report(ctx, false)
}

func (m *Monitor) report(ctx actor.Context, faulty bool) {
	// A request (not a plain send) so that Central sees who reports: it only
	// believes the monitor that registered with the secret.
	ctx.Request(m.cfg.Central, &messages.FaultReport{
		CpId: m.cfg.CPID, Faulty: faulty, Detail: m.faultDetail, At: timestamppb.New(m.cfg.Now())})
}

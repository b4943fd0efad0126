// Package chargepoint is the charge point's engine: the hardware that
// supplies energy when Central authorises it, reports telemetry while
// supplying and the end of each supply, answers its monitor's health checks
// and can be knocked out. Its state machine (Machine) is journalled after
// every change, so a crashed engine reports the supply it interrupted when it
// comes back, and never reports the same end twice with different figures.
//
// The engine talks to Central only through the bridge (topics
// central.commands, cp.status, cp.telemetry, cp.session_end) and answers
// *messages.HealthCheck requests from any PID, local or remote.
package chargepoint

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// Config configures one engine.
type Config struct {
	// CPID is the charge point's id, e.g. CP-001. Required.
	CPID string
	// KW is the charge rate. Default 22.
	KW float64
	// PriceEURPerKWh is the price. Default 0.30.
	PriceEURPerKWh float64
	// TelemetryInterval is how often a reading is sent while supplying. Default 1 s.
	TelemetryInterval time.Duration
	// SupplyDuration is how long a simulated vehicle stays plugged in when
	// Central's command sets no energy or duration. Default 10 s.
	SupplyDuration time.Duration
	// TimeScale is how many simulated seconds of charging one real second is
	// worth (energy accrues at KW x TimeScale). Default 1: real time.
	TimeScale float64
	// Bridge is the bridge actor of this process. Required.
	Bridge *actor.PID
	// Group is the consumer group for central.commands. Default "engine-<CPID>",
	// which works in any process layout; engines of one process may share one.
	Group string
	// ResubscribeInterval is how often the engine repeats its subscription
	// (harmless to the bridge), so that a restarted bridge hears it again. Default 5 s.
	ResubscribeInterval time.Duration
	// Keys, when set, is the keyring of the engine's bridge: the engine
	// installs the key its monitor hands over (keys.go). nil: encryption off.
	Keys *seal.Keyring
	// Journal keeps the engine's state across crashes. Default in memory
	// (survives actor restarts, not the process); use FileJournal in evnode.
	Journal Journal
	Logger  logrus.FieldLogger
	Stats   *stats.Run
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the rules.md defaults for one charge point.
func DefaultConfig(cpID string, bridgePID *actor.PID) Config {
	c := Config{CPID: cpID, Bridge: bridgePID}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	if c.KW == 0 {
		c.KW = 22
	}
	if c.PriceEURPerKWh == 0 {
		c.PriceEURPerKWh = 0.30
	}
	if c.TelemetryInterval == 0 {
		c.TelemetryInterval = time.Second
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.SupplyDuration == 0 {
		c.SupplyDuration = 10 * time.Second
	}
	if c.Group == "" {
		c.Group = "engine-" + c.CPID
	}
	if c.Journal == nil {
		c.Journal = NewMemoryJournal()
	}
	if c.ResubscribeInterval == 0 {
		c.ResubscribeInterval = 5 * time.Second
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
		return errors.New("engine config: CPID is empty")
	case c.Bridge == nil:
		return fmt.Errorf("engine %s config: no bridge PID", c.CPID)
	case c.KW <= 0:
		return fmt.Errorf("engine %s config: KW %g must be more than 0", c.CPID, c.KW)
	case c.PriceEURPerKWh < 0:
		return fmt.Errorf("engine %s config: PriceEURPerKWh %g is negative", c.CPID, c.PriceEURPerKWh)
	case c.TimeScale < 0:
		return fmt.Errorf("engine %s config: TimeScale %g is negative", c.CPID, c.TimeScale)
	case c.TelemetryInterval <= 0 || c.SupplyDuration <= 0:
		return fmt.Errorf("engine %s config: TelemetryInterval and SupplyDuration must be more than 0", c.CPID)
	}
	return nil
}

// Props returns the engine's props, with defaults applied and validated.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, inMemory := cfg.Journal.(*MemoryJournal); !inMemory {
		cfg.Journal = WriteBehind(cfg.Journal, cfg.Logger, cfg.CPID)
	}
	return actor.PropsFromProducer(func() actor.Actor { return &Engine{cfg: &cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack)), nil
}

// Messages an engine accepts besides commands and health checks. Send
// supervision.Crash to make it panic.
type (
	// SetKO knocks the engine out or repairs it, as a scenario would. The
	// answer (to a request) is *State.
	SetKO struct{ KO bool }
	// Shutdown ends any running supply with reason SHUTDOWN; the answer is *State.
	Shutdown struct{}
	// GetState asks for *State.
	GetState struct{}
	// State is the engine's own view. EndSaving is the supply whose end
	// is being saved: no longer supplying (State says ACTIVATED, STOPPED or
	// FAULT), its end not yet published; commands wait until it is.
	State struct {
		State     messages.ChargePointState
		SessionID string
		KWh       float64
		EndSaving string
	}
	tick        struct{}
	resubscribe struct{}
)

// Engine is the engine actor.
type Engine struct {
	cfg    *Config // the props' own copy, shared by every incarnation
	log    logging.Lazy
	m      *Machine
	timers *timer.Timers
	// ticking stops the telemetry ticker; nil while none runs.
	ticking func()
	// closing is set by Shutdown: no new supply starts.
	closing bool
	// keyID is the id of the key the monitor handed over ("" none yet);
	// keyRevoked: the last word was a revocation (keys.go).
	keyID      string
	keyRevoked bool
	// Records handed to the journal and those known on disk; what waits
	// for the disk, and the commands held back meanwhile (outbox.go).
	handedSeq, writtenSeq uint64
	waiting               []afterWrite
	heldBack              []*bridge.Delivery
	// leaving: the engine stops or restarts; held-back commands stay unhandled here.
	leaving bool
}

// Receive implements actor.Actor.
func (e *Engine) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		e.start(ctx)
	case *actor.Restarting:
		e.timers.StopAll()
		e.leaving = true
		e.settle(ctx)
		for _, d := range e.heldBack { // the mailbox outlives the incarnation
			ctx.Send(ctx.Self(), d)
		}
	case *actor.Stopping:
		e.timers.StopAll()
		e.leaving = true
		e.settle(ctx)
		if w, ok := e.cfg.Journal.(*writeBehind); ok {
			w.Flush() // nothing of this engine is written after it stopped
		}
		ctx.Send(e.cfg.Bridge, &bridge.Unsubscribe{Topic: bridge.TopicCommands, Group: e.cfg.Group, Key: e.cfg.CPID, Subscriber: ctx.Self()})
	case *journalWritten:
		if msg.by == e { // not a write of an earlier incarnation
			e.written(ctx, msg.seq)
		}
	case *bridge.Delivery:
		e.delivery(ctx, msg)
	case *messages.HealthCheck:
		e.takeKey(ctx, msg.GetKey())
		ctx.Respond(e.healthAnswer(msg))
	case *tick:
		e.tick(ctx)
	case *resubscribe:
		e.subscribe(ctx)
	case *SetKO:
		e.setKO(ctx, msg.KO)
		e.respondState(ctx)
	case *Shutdown:
		e.closing = true
		if end := e.m.End(e.cfg.Now(), messages.EndReason_END_REASON_SHUTDOWN); end != nil {
			e.publishEnd(ctx, end)
		}
		e.settle(ctx) // the driver's ticket does not wait for the next start
		e.respondState(ctx)
	case *GetState:
		e.respondState(ctx)
	case *supervision.Crash:
		panic("crash requested: " + msg.Reason)
	}
}

func (e *Engine) start(ctx actor.Context) {
	e.log = logging.NewLazy(e.cfg.Logger, "Engine ", "cp_id", e.cfg.CPID)
	e.timers = timer.New(ctx)
	rec, err := e.cfg.Journal.Load()
	if err != nil {
		e.log.Entry().WithError(err).Warn("Could not read the engine journal; starting idle")
	}
	e.m = NewMachine(e.cfg.CPID, e.cfg.KW, e.cfg.PriceEURPerKWh, e.cfg.SupplyDuration, rec)
	e.m.SetTimeScale(e.cfg.TimeScale)
	if end := e.m.Recover(); end != nil {
		e.log.Entry().WithField("session_id", end.GetSessionId()).Infof("Reporting the supply interrupted by the engine's restart: %.3f kWh for %s",
			end.GetKwh(), end.GetDriverId())
		e.publishEnd(ctx, end)
	}
	e.subscribe(ctx)
	e.timers.Every(e.cfg.ResubscribeInterval, &resubscribe{})
	e.tickWhileSupplying()
	e.status(ctx, "engine started")
	e.log.Entry().Debugf("Engine ready: %s", e.m.State())
}

func (e *Engine) subscribe(ctx actor.Context) {
	if e.waitsForKey(ctx) {
		return
	}
	ctx.Send(e.cfg.Bridge, &bridge.Subscribe{Topic: bridge.TopicCommands, Group: e.cfg.Group, Key: e.cfg.CPID, Subscriber: ctx.Self()})
}

func (e *Engine) command(ctx actor.Context, cmd *messages.Command) {
	now := e.cfg.Now()
	if exp := cmd.GetExpiresAt(); exp != nil && now.After(exp.AsTime()) {
		e.log.Entry().WithFields(logrus.Fields{"command_id": cmd.GetCommandId(), "session_id": commandSession(cmd)}).
			Infof("Ignored an expired %s command: Central sent it %v ago and it was valid for %v",
				CommandName(cmd), now.Sub(cmd.GetSentAt().AsTime()).Round(time.Millisecond),
				exp.AsTime().Sub(cmd.GetSentAt().AsTime()).Round(time.Millisecond))
		return
	}
	if last := e.m.LastOrderAt(); isOrder(cmd) && !e.m.TakeOrder(cmd.GetSentAt()) {
		e.log.Entry().WithField("command_id", cmd.GetCommandId()).
			Infof("Ignored a %s command sent before the last order carried out here (a copy of an old order, or overtaken): Central sent it at %s, the last at %s",
				CommandName(cmd), cmd.GetSentAt().AsTime().Format(time.RFC3339Nano), last.Format(time.RFC3339Nano))
		return
	}
	switch k := cmd.GetKind().(type) {
	case *messages.Command_StartSupply:
		var started *messages.SupplyStarted
		err := errShuttingDown
		if !e.closing {
			started, err = e.m.Start(k.StartSupply, now)
		}
		// An entry only for a line that is written: a start is one of the
		// busiest paths of a large network.
		var log *logrus.Entry // nil: the line is not written
		if e.log.Enabled(logrus.InfoLevel) {
			log = e.log.Entry().WithFields(logrus.Fields{"session_id": k.StartSupply.GetSessionId(), "driver_id": k.StartSupply.GetDriverId()})
		}
		switch {
		case errors.Is(err, ErrDuplicate):
			if log != nil {
				log.Infof("Ignored a START_SUPPLY command for session %s: that supply already ended here or Central closed it", k.StartSupply.GetSessionId())
			}
		case err != nil:
			if log != nil {
				log.Infof("Refused to start a supply for %s: %v", k.StartSupply.GetDriverId(), err)
			}
			e.publish(ctx, bridge.TopicStatus, &messages.CommandRejected{
				CommandId: cmd.GetCommandId(), CpId: e.cfg.CPID, SessionId: k.StartSupply.GetSessionId(), Reason: err.Error()})
		default:
			// Published once on disk: a kill -9 before then loses a start
			// nobody heard of, never one Central waits to see end.
			e.persist(ctx)
			e.afterJournal(ctx, func(ctx actor.Context) {
				e.tickWhileSupplying()
				if log != nil {
					log.Infof("Supplying %s at %g kW, %.2f EUR/kWh", started.GetDriverId(), started.GetKw(), started.GetPriceEurPerKwh())
				}
				e.publish(ctx, bridge.TopicStatus, started)
			})
		}
	case *messages.Command_StopSupply:
		s := e.m.Session()
		if s == nil || s.SessionID != k.StopSupply.GetSessionId() {
			// Central closed a supply this engine does not run: a start of
			// it that comes later (replayed, or overtaken) must not run.
			if e.m.Close(k.StopSupply.GetSessionId()) {
				e.persist(ctx)
			}
			return
		}
		reason := k.StopSupply.GetReason()
		if reason == messages.EndReason_END_REASON_UNSPECIFIED {
			reason = messages.EndReason_END_REASON_STOPPED_BY_CENTRAL
		}
		e.publishEnd(ctx, e.m.End(now, reason))
		e.status(ctx, "supply ended by Central")
	case *messages.Command_Stop:
		e.m.SetStopped(true)
		if end := e.m.End(now, messages.EndReason_END_REASON_STOPPED_BY_CENTRAL); end != nil {
			e.publishEnd(ctx, end)
		} else {
			e.persist(ctx)
		}
		e.log.Entry().Info("Out of order by Central's order")
		e.status(ctx, "stopped by Central")
	case *messages.Command_Resume:
		e.m.SetStopped(false)
		e.persist(ctx)
		e.log.Entry().Info("Back in service by Central's order")
		e.status(ctx, "resumed by Central")
	case *messages.Command_SetKnockedOut:
		e.setKO(ctx, k.SetKnockedOut.GetKnockedOut())
	}
}

func (e *Engine) setKO(ctx actor.Context, ko bool) {
	if ko == e.m.KO() {
		return
	}
	e.m.SetKO(ko)
	if ko {
		e.log.Entry().Info("Engine knocked out (KO): refusing supplies until repaired")
		if end := e.m.End(e.cfg.Now(), messages.EndReason_END_REASON_FAULT); end != nil {
			e.publishEnd(ctx, end)
		} else {
			e.persist(ctx)
		}
		e.status(ctx, "engine KO")
		return
	}
	e.persist(ctx)
	e.log.Entry().Info("Engine repaired (OK)")
	e.status(ctx, "engine OK")
}

// tickWhileSupplying starts the telemetry ticker when a supply runs: an
// idle engine gets no tick (100,000 idle engines got 100,000 a second).
func (e *Engine) tickWhileSupplying() {
	if e.m.Session() != nil && e.ticking == nil {
		e.ticking = e.timers.Every(e.cfg.TelemetryInterval, &tick{})
	}
}

func (e *Engine) tick(ctx actor.Context) {
	now := e.cfg.Now()
	tel := e.m.Advance(now)
	if tel == nil {
		if e.ticking != nil { // the supply ended: no more ticks until the next
			e.ticking()
			e.ticking = nil
		}
		return
	}
	if e.log.Enabled(logrus.TraceLevel) { // once a second per supply: no fields built for a line not written
		e.log.Entry().WithField("session_id", tel.GetSessionId()).Tracef("Telemetry: %.3f kWh, %.2f EUR", tel.GetKwh(), tel.GetEur())
	}
	e.publish(ctx, bridge.TopicTelemetry, tel)
	if e.m.Finished(now) {
		e.publishEnd(ctx, e.m.End(now, messages.EndReason_END_REASON_COMPLETED))
		e.status(ctx, "vehicle unplugged")
		return
	}
	e.saveProgress(ctx)
}

// publishEnd journals the end as pending and, once that is on disk, hands
// it to the bridge, then forgets it: a crash before it is on disk reports
// the supply from the journal's last record after the restart (nothing was
// published); a crash after it sends the same end again, never a different
// one (Central makes one ticket per session). Meanwhile the engine answers
// health checks and holds commands back (outbox.go).
func (e *Engine) publishEnd(ctx actor.Context, end *messages.SupplyEnded) {
	if end == nil {
		return
	}
	e.persist(ctx)
	e.afterJournal(ctx, func(ctx actor.Context) {
		e.publish(ctx, bridge.TopicSessionEnd, end)
		if e.m.EndPending() == end.GetSessionId() {
			e.m.Published()
			e.persist(ctx)
		}
		if e.log.Enabled(logrus.InfoLevel) {
			e.log.Entry().WithFields(logrus.Fields{"session_id": end.GetSessionId(), "driver_id": end.GetDriverId()}).
				Infof("Supply for %s ended: %.2f kWh, %.2f EUR (%s)", end.GetDriverId(), end.GetKwh(), end.GetEur(), EndReasonText(end.GetReason()))
		}
	})
}

// saveProgress journals a tick's progress without waiting for a slow
// journal's disk (writebehind.go).
func (e *Engine) saveProgress(ctx actor.Context) {
	if w, ok := e.cfg.Journal.(*writeBehind); ok {
		w.SaveProgress(e.m.Record())
		return
	}
	e.persist(ctx)
}

// status publishes the engine's state as of now, once what the engine
// handed its journal before is on disk (after the end it follows, if any).
func (e *Engine) status(ctx actor.Context, reason string) {
	change := &messages.StatusChange{CpId: e.cfg.CPID, State: e.m.State(), Reason: reason, At: timestamppb.New(e.cfg.Now())}
	e.afterJournal(ctx, func(ctx actor.Context) { e.publish(ctx, bridge.TopicStatus, change) })
}

func (e *Engine) publish(ctx actor.Context, topic string, msg proto.Message) {
	ctx.Send(e.cfg.Bridge, &bridge.Publish{Topic: topic, Key: e.cfg.CPID, Msg: msg})
}

func (e *Engine) respondState(ctx actor.Context) {
	if ctx.Sender() == nil {
		return
	}
	st := &State{State: e.m.State(), EndSaving: e.m.EndPending()}
	if s := e.m.Session(); s != nil {
		st.SessionID, st.KWh = s.SessionID, s.KWh
	}
	ctx.Respond(st)
}

// FlushJournal publishes, on behalf of an engine that is gone for good, the
// end of the supply its journal holds (reason FAULT), so that the driver
// still gets a ticket. It returns the end it published, or nil. Give it the
// journal the engine had, wrapped by WriteBehind: it then reads the journal
// only once the engine's last records are written, and its own records are
// never overtaken by them.
func FlushJournal(ctx actor.SenderContext, j Journal, cpID string, bridgePID *actor.PID) (*messages.SupplyEnded, error) {
	rec, err := j.Load()
	if err != nil {
		return nil, err
	}
	m := NewMachine(cpID, 0, 0, time.Second, rec)
	var end *messages.SupplyEnded
	if rec.Pending != nil {
		end = m.Recover()
	} else if rec.Session != nil {
		end = m.closeSession(rec.Session.LastAt, messages.EndReason_END_REASON_FAULT)
	}
	if end == nil {
		return nil, nil
	}
	if err := j.Save(m.Record()); err != nil {
		return nil, err
	}
	ctx.Send(bridgePID, &bridge.Publish{Topic: bridge.TopicSessionEnd, Key: cpID, Msg: end})
	m.Published()
	return end, j.Save(m.Record())
}

// CommandName is a command's kind as an operator reads it, e.g. START_SUPPLY.
func CommandName(cmd *messages.Command) string {
	switch cmd.GetKind().(type) {
	case *messages.Command_StartSupply:
		return "START_SUPPLY"
	case *messages.Command_StopSupply:
		return "STOP_SUPPLY"
	case *messages.Command_Stop:
		return "STOP"
	case *messages.Command_Resume:
		return "RESUME"
	case *messages.Command_SetKnockedOut:
		return "SET_KO"
	}
	return "unknown"
}

func commandSession(cmd *messages.Command) string {
	if s := cmd.GetStartSupply(); s != nil {
		return s.GetSessionId()
	}
	return cmd.GetStopSupply().GetSessionId()
}

// EndReasonText is how an end reason reads in a log line or ticket.
func EndReasonText(r messages.EndReason) string {
	switch r {
	case messages.EndReason_END_REASON_COMPLETED:
		return "completed"
	case messages.EndReason_END_REASON_STOPPED_BY_CENTRAL:
		return "stopped by Central"
	case messages.EndReason_END_REASON_FAULT:
		return "fault"
	case messages.EndReason_END_REASON_ENGINE_RESTART:
		return "engine restart"
	case messages.EndReason_END_REASON_SHUTDOWN:
		return "shutdown"
	case messages.EndReason_END_REASON_MONITOR_LOST:
		return "monitor lost"
	}
	return "unknown"
}

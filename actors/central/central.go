// Package central is the network's controller: the registry of charge
// points (in internal/store), the authentication of monitors, the
// authorisation of charge requests, commands to engines, the panel state
// derived from monitor and engine (rules.md's table), tickets, operator
// orders, and a state stream for panels.
//
// Central hears monitors by actor messages (*messages.RegisterChargePoint,
// *messages.Liveness, *messages.FaultReport — local or remote PIDs) and
// everything else through the bridge: driver.requests, cp.status,
// cp.telemetry and cp.session_end in; central.commands, driver.updates and
// driver.tickets out. Liveness is judged by Central's own timer, not when
// someone looks at the panel.
package central

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// ActorName is Central's well-known actor name; a remote monitor reaches it
// as actor.NewPID("host:port", ActorName) in evnode.
const ActorName = "central"

// Config configures Central.
type Config struct {
	// Store is the registry and ticket database. Required.
	Store *store.Store
	// Bridge is the bridge actor of this process. Required.
	Bridge *actor.PID
	// LivenessTimeout bounds how long after a monitor's last sign of life
	// its charge point shows DISCONNECTED (the check runs every
	// CheckInterval, so a silence of LivenessTimeout-CheckInterval is
	// enough). Default 3 s.
	LivenessTimeout time.Duration
	// CheckInterval is how often Central looks for silent monitors. Default LivenessTimeout/6.
	CheckInterval time.Duration
	// StartTimeout is how long an engine has to confirm a start. Default 5 s.
	StartTimeout time.Duration
	// ReconcileInterval is the least time between two repeats of an order
	// (stop/resume) to an engine whose state disagrees. Default LivenessTimeout.
	ReconcileInterval time.Duration
	// ReleaseAfter is how long a supply may sit on a FAULT or DISCONNECTED
	// charge point that cannot report its end before Central releases its
	// driver (who may then charge elsewhere; the ticket follows when the
	// charge point reports). Default 30 s.
	ReleaseAfter time.Duration
	// RequestTTL is the age after which a request is answered with a denial
	// instead of served: its driver has given up waiting (e.g. it was sent
	// while Central was down). Default 30 s; evsim sets the drivers' reply timeout.
	RequestTTL time.Duration
	// ResubscribeInterval is how often Central repeats its subscriptions
	// (harmless to the bridge), so that a restarted bridge hears them again. Default 5 s.
	ResubscribeInterval time.Duration
	// Group is the consumer group of Central's topics. Default "central".
	Group string
	// HistorySize is how many panel events are kept. Default 1000.
	HistorySize int
	// ClosedRegistration refuses charge points that are not in the registry
	// yet. By default a new charge point joins with the secret it first
	// presents, which every later registration must match.
	ClosedRegistration bool
	// ExpectedChargePoints, when set, marks the run's start-up done once that
	// many charge points have connected.
	ExpectedChargePoints int
	Logger               logrus.FieldLogger
	Stats                *stats.Run
	Now                  func() time.Time
}

func (c *Config) setDefaults() {
	if c.LivenessTimeout == 0 {
		c.LivenessTimeout = 3 * time.Second
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = max(c.LivenessTimeout/6, 5*time.Millisecond)
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 5 * time.Second
	}
	if c.ReconcileInterval == 0 {
		c.ReconcileInterval = c.LivenessTimeout
	}
	if c.ReleaseAfter == 0 {
		c.ReleaseAfter = 30 * time.Second
	}
	if c.RequestTTL == 0 {
		c.RequestTTL = 30 * time.Second
	}
	if c.Group == "" {
		c.Group = "central"
	}
	if c.ResubscribeInterval == 0 {
		c.ResubscribeInterval = 5 * time.Second
	}
	if c.HistorySize == 0 {
		c.HistorySize = 1000
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
	case c.Store == nil:
		return errors.New("central config: no store")
	case c.Bridge == nil:
		return errors.New("central config: no bridge PID")
	case c.LivenessTimeout <= 0 || c.CheckInterval <= 0 || c.CheckInterval > c.LivenessTimeout/2:
		return fmt.Errorf("central config: CheckInterval %v must be more than 0 and at most half of LivenessTimeout %v", c.CheckInterval, c.LivenessTimeout)
	case c.StartTimeout <= 0:
		return errors.New("central config: StartTimeout must be more than 0")
	case c.HistorySize < 1:
		return errors.New("central config: HistorySize must be at least 1")
	}
	return nil
}

// Props returns Central's props, with defaults applied and validated.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor { return &Central{cfg: cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack)), nil
}

// Internal messages.
type (
	checkTick         struct{}
	bridgeResubscribe struct{}
	startTimeout      struct{ sessionID, cpID string }
	// watchPanel subscribes a watcher to *Update messages (repeating it is harmless).
	watchPanel struct{ pid *actor.PID }
)

// Central is the Central actor. Its whole state lives here and is rebuilt
// from the store, the monitors and Kafka after a restart.
type Central struct {
	cfg      Config
	log      *logrus.Entry
	timers   *timer.Timers
	sys      *actor.ActorSystem
	instance string
	nextID   uint64

	cps     map[string]*cpEntry
	drivers map[string]string // driver id -> session id (running or being started)
	handled *recent           // request ids already answered
	ended   *recent           // session ids that ended
	denied  *recent           // session ids Central gave up on before they started
	counted *recent           // session ids counted as started
	events  []Event
	seq     uint64
	// connectedCount counts charge points whose monitor has connected at least once.
	connectedCount int
	watchers       map[string]*actor.PID
	totals         Totals
	rejected       map[string]string // cp id -> reason of the last rejected registration
}

// Receive implements actor.Actor.
func (c *Central) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.start(ctx)
	case *actor.Restarting:
		c.timers.StopAll()
	case *actor.Stopping:
		c.timers.StopAll()
		for _, t := range c.topics() {
			ctx.Send(c.cfg.Bridge, &bridge.Unsubscribe{Topic: t, Group: c.cfg.Group, Subscriber: ctx.Self()})
		}
	case *bridge.Delivery:
		defer msg.Done()
		c.delivery(ctx, msg.Msg)
	case *messages.RegisterChargePoint:
		c.register(ctx, msg)
	case *messages.Liveness:
		c.liveness(ctx, msg)
	case *messages.FaultReport:
		if cp := c.cps[msg.GetCpId()]; cp != nil && cp.alive && cp.isMonitor(ctx.Sender()) {
			c.engineHealth(ctx, cp, !msg.GetFaulty(), msg.GetDetail())
		}
	case *checkTick:
		c.checkLiveness(ctx)
	case *bridgeResubscribe:
		c.subscribe(ctx)
	case *startTimeout:
		c.startTimedOut(ctx, msg)
	case *StopChargePoint:
		ctx.Respond(c.setStopped(ctx, msg.CPID, true))
	case *ResumeChargePoint:
		ctx.Respond(c.setStopped(ctx, msg.CPID, false))
	case *KnockOut:
		ctx.Respond(c.knockOut(ctx, msg))
	case *GetSnapshot:
		ctx.Respond(c.snapshot())
	case *GetEvents:
		ctx.Respond(c.eventsSince(msg.Since, msg.Limit))
	case *watchPanel:
		if _, ok := c.watchers[msg.pid.String()]; !ok {
			c.watchers[msg.pid.String()] = msg.pid
			ctx.Watch(msg.pid)
		}
	case *actor.Terminated:
		delete(c.watchers, msg.Who.String())
	case *supervision.Crash:
		panic("crash requested: " + msg.Reason)
	}
}

func (c *Central) topics() []string {
	return []string{bridge.TopicDriverRequests, bridge.TopicStatus, bridge.TopicTelemetry, bridge.TopicSessionEnd}
}

func (c *Central) start(ctx actor.Context) {
	c.log = logging.Component(c.cfg.Logger, "Central")
	c.timers = timer.New(ctx)
	c.sys = ctx.ActorSystem()
	c.instance = newID()
	c.cps = map[string]*cpEntry{}
	c.drivers = map[string]string{}
	c.handled = newRecent(10000)
	c.ended = newRecent(10000)
	c.denied = newRecent(1000)
	c.counted = newRecent(10000)
	c.watchers = map[string]*actor.PID{}
	c.rejected = map[string]string{}
	c.totals.ByState = map[messages.ChargePointState]int{}

	bg := context.Background()
	regs, err := c.cfg.Store.ChargePoints(bg)
	if err != nil {
		c.log.WithError(err).Warn("Could not load the registry; starting with none")
	}
	now := c.cfg.Now()
	for _, r := range regs {
		cp := &cpEntry{reg: r, stopped: r.Stopped, engineOK: true, since: now}
		cp.state, cp.reason = cp.derive()
		c.cps[r.ID] = cp
	}
	if n, kwh, eur, err := c.cfg.Store.TicketTotals(bg); err == nil {
		c.totals.Tickets, c.totals.KWh, c.totals.EUR = n, kwh, eur
	}
	c.subscribe(ctx)
	c.timers.Every(c.cfg.ResubscribeInterval, &bridgeResubscribe{})
	c.timers.Every(c.cfg.CheckInterval, &checkTick{})
	c.log.Infof("Central started: %d charge points in the registry, each DISCONNECTED until its monitor connects", len(regs))
	c.event(EventRestart, "", "", fmt.Sprintf("Central started with %d registered charge points", len(regs)))
}

func (c *Central) subscribe(ctx actor.Context) {
	for _, t := range c.topics() {
		ctx.Send(c.cfg.Bridge, &bridge.Subscribe{Topic: t, Group: c.cfg.Group, Subscriber: ctx.Self()})
	}
}

// --- monitors ---------------------------------------------------------------

func (c *Central) register(ctx actor.Context, m *messages.RegisterChargePoint) {
	id := m.GetCpId()
	reply := &messages.RegistrationResult{CpId: id, CentralInstance: c.instance}
	cp := c.cps[id]
	reject := func(reason string) {
		reply.Reason = reason
		ctx.Respond(reply)
		if c.rejected[id] == reason {
			c.log.WithField("cp_id", id).Debugf("Rejected registration of %s again: %s", id, reason)
			return
		}
		c.rejected[id] = reason // one WARN per charge point and reason until it is accepted
		c.log.WithField("cp_id", id).Warnf("Rejected registration of %s: %s", id, reason)
		c.event(EventRejected, id, "", fmt.Sprintf("Rejected registration of %s: %s", id, reason))
	}
	switch {
	case id == "":
		reject("no charge point id")
		return
	case m.GetSecret() == "":
		reject("no secret presented")
		return
	case cp == nil && c.cfg.ClosedRegistration:
		reject("not in the registry")
		return
	case cp != nil && !store.CheckSecret(cp.reg.SecretHash, m.GetSecret()):
		reject("wrong secret")
		return
	}
	now := c.cfg.Now()
	isNew := cp == nil
	if isNew {
		hash, err := store.HashSecret(m.GetSecret())
		if err != nil {
			reject("internal error")
			return
		}
		cp = &cpEntry{reg: store.ChargePoint{ID: id, SecretHash: hash, RegisteredAt: now}, engineOK: true, since: now}
		c.cps[id] = cp
	}
	changed := isNew || cp.reg.Location != m.GetLocation() || cp.reg.PriceEURPerKWh != m.GetPriceEurPerKwh() || cp.reg.KW != m.GetKw()
	cp.reg.Location, cp.reg.PriceEURPerKWh, cp.reg.KW = m.GetLocation(), m.GetPriceEurPerKwh(), m.GetKw()
	if changed {
		if err := c.cfg.Store.SaveChargePoint(context.Background(), cp.reg); err != nil {
			c.log.WithError(err).WithField("cp_id", id).Warnf("Could not save %s in the registry", id)
		}
	}
	delete(c.rejected, id)
	wasAlive := cp.alive
	cp.alive, cp.lastSeen, cp.engineOK, cp.fault = true, now, true, ""
	cp.monitor = ctx.Sender()
	reply.Accepted = true
	ctx.Respond(reply)
	switch {
	case isNew:
		c.log.WithField("cp_id", id).Infof("Registered new CP: %s", id)
		c.event(EventRegistered, id, "", fmt.Sprintf("Registered new CP: %s (%s, %.2f EUR/kWh, %g kW)", id, cp.reg.Location, cp.reg.PriceEURPerKWh, cp.reg.KW))
	case !wasAlive:
		c.log.WithField("cp_id", id).Infof("%s connected: its monitor registered", id)
		c.event(EventRegistered, id, "", fmt.Sprintf("%s connected", id))
	}
	if !cp.connectedOnce {
		cp.connectedOnce = true
		// A running count: scanning every charge point here made 10,000
		// registrations quadratic.
		c.connectedCount++
		n := c.connectedCount
		c.cfg.Stats.RegisteredCPs.Store(int64(n))
		if c.cfg.ExpectedChargePoints > 0 && n >= c.cfg.ExpectedChargePoints {
			c.cfg.Stats.MarkStartupDone()
		}
	}
	c.update(ctx, cp)
}

func (c *Central) liveness(ctx actor.Context, m *messages.Liveness) {
	cp := c.cps[m.GetCpId()]
	if cp == nil || !cp.alive || !cp.isMonitor(ctx.Sender()) {
		// Unknown, or not the monitor that authenticated: register (with the secret) first.
		ctx.Respond(&messages.LivenessAck{CpId: m.GetCpId(), Seq: m.GetSeq(), Known: false, CentralInstance: c.instance})
		return
	}
	cp.lastSeen = c.cfg.Now()
	ctx.Respond(&messages.LivenessAck{CpId: m.GetCpId(), Seq: m.GetSeq(), Known: true, CentralInstance: c.instance})
	if st := m.GetEngineState(); st != messages.ChargePointState_CHARGE_POINT_STATE_UNSPECIFIED {
		cp.engineState = st
	}
	if m.GetEngineOk() != cp.engineOK {
		detail := "engine reported broken by its monitor"
		if m.GetEngineOk() {
			detail = ""
		}
		c.engineHealth(ctx, cp, m.GetEngineOk(), detail)
	}
	if sid := m.GetSessionId(); sid != "" && cp.session == nil && (cp.pending == nil || cp.pending.sessionID != sid) &&
		!c.ended.has(sid) && !c.denied.has(sid) {
		c.adopt(ctx, cp, sid, "", m.GetDriverId(), time.Time{})
	}
	c.reconcile(ctx, cp)
}

// reconcile repeats the operator's order to an engine whose own state
// disagrees with it (e.g. the engine restarted, or Central did): Central
// never shows a charge point in service while its engine stays stopped.
func (c *Central) reconcile(ctx actor.Context, cp *cpEntry) {
	now := c.cfg.Now()
	if now.Sub(cp.lastOrder) < c.cfg.ReconcileInterval {
		return
	}
	st := cp.engineState
	switch {
	case cp.stopped && (st == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED || st == messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING):
		c.log.WithField("cp_id", cp.reg.ID).Infof("Repeating the STOP order to %s, whose engine is %s", cp.reg.ID, StateName(st))
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_Stop{Stop: &messages.StopChargePoint{}}})
		cp.lastOrder = now
	case !cp.stopped && st == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:
		c.log.WithField("cp_id", cp.reg.ID).Infof("Repeating the RESUME order to %s, whose engine is still STOPPED", cp.reg.ID)
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_Resume{Resume: &messages.ResumeChargePoint{}}})
		cp.lastOrder = now
	}
}

func (c *Central) engineHealth(ctx actor.Context, cp *cpEntry, ok bool, detail string) {
	id := cp.reg.ID
	if !ok {
		if !cp.engineOK {
			// the same fault with a newer cause: the panel shows it, no new line
			if detail != "" && detail != cp.fault {
				cp.fault = detail
				c.log.WithField("cp_id", id).Debugf("%s still FAULT, now: %s", id, detail)
				c.update(ctx, cp)
			}
			return
		}
		wasOK := cp.engineOK
		cp.engineOK, cp.fault = false, detail
		if wasOK {
			c.cfg.Stats.Faults.Add(1)
		}
		c.log.WithField("cp_id", id).Warnf("%s FAULT: %s", id, detail)
		c.event(EventFault, id, "", fmt.Sprintf("%s FAULT: %s", id, detail))
		c.interrupt(ctx, cp, messages.EndReason_END_REASON_FAULT, messages.DenyReason_DENY_REASON_FAULT,
			fmt.Sprintf("%s FAULT: %s; your supply ends now and you get a ticket for what was delivered", id, detail))
		c.update(ctx, cp)
		return
	}
	if cp.engineOK {
		return
	}
	cp.engineOK, cp.fault = true, ""
	c.log.WithField("cp_id", id).Infof("%s recovered: engine answers health checks again", id)
	c.event(EventRecovered, id, "", fmt.Sprintf("%s recovered", id))
	c.update(ctx, cp)
}

func (c *Central) checkLiveness(ctx actor.Context) {
	now := c.cfg.Now()
	// Checked every CheckInterval: deciding at LivenessTimeout-CheckInterval
	// keeps the promise "DISCONNECTED at most LivenessTimeout after the last
	// sign of life".
	limit := c.cfg.LivenessTimeout - c.cfg.CheckInterval
	for _, id := range c.sortedIDs() {
		cp := c.cps[id]
		if !cp.alive || now.Sub(cp.lastSeen) <= limit {
			continue
		}
		cp.alive = false
		silent := now.Sub(cp.lastSeen).Round(100 * time.Millisecond)
		c.log.WithField("cp_id", id).Warnf("%s DISCONNECTED: no sign of life from its monitor for %v", id, silent)
		c.event(EventDisconnected, id, "", fmt.Sprintf("%s DISCONNECTED: no sign of life from its monitor", id))
		c.interrupt(ctx, cp, messages.EndReason_END_REASON_MONITOR_LOST, messages.DenyReason_DENY_REASON_DISCONNECTED,
			fmt.Sprintf("%s lost contact with Central; your supply ends now and you get a ticket for what was delivered", id))
		c.update(ctx, cp)
	}
	c.releaseStuckDrivers(ctx, now)
}

// releaseStuckDrivers frees the driver of a supply whose charge point has
// been FAULT or DISCONNECTED for ReleaseAfter without reporting its end
// (e.g. an engine process that is gone): the driver may charge elsewhere,
// and the ticket still comes when the charge point reports the supply.
func (c *Central) releaseStuckDrivers(ctx actor.Context, now time.Time) {
	for _, id := range c.sortedIDs() {
		cp := c.cps[id]
		s := cp.session
		if s == nil || cp.released || now.Sub(cp.since) < c.cfg.ReleaseAfter ||
			(cp.state != messages.ChargePointState_CHARGE_POINT_STATE_FAULT && cp.state != messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED) {
			continue
		}
		cp.released = true
		if c.drivers[s.DriverID] == s.SessionID {
			delete(c.drivers, s.DriverID)
		}
		c.log.WithFields(logrus.Fields{"cp_id": id, "driver_id": s.DriverID, "session_id": s.SessionID}).
			Infof("Released %s from the supply at %s: it has been %s for %v; the ticket follows when %s reports it",
				s.DriverID, id, StateName(cp.state), c.cfg.ReleaseAfter, id)
		c.publish(ctx, bridge.TopicDriverUpdates, s.DriverID, &messages.DriverNotice{
			DriverId: s.DriverID, CpId: id, SessionId: s.SessionID, SupplyInterrupted: true, At: timestamppb.New(now),
			Text: fmt.Sprintf("Your supply at %s is interrupted and %s cannot report it yet; you may charge elsewhere, the ticket follows", id, id)})
	}
}

// interrupt ends the charge point's running supply (the engine reports the
// end, Central makes the ticket) and denies a start in progress.
func (c *Central) interrupt(ctx actor.Context, cp *cpEntry, reason messages.EndReason, deny messages.DenyReason, text string) {
	if s := cp.session; s != nil {
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_StopSupply{
			StopSupply: &messages.StopSupply{SessionId: s.SessionID, Reason: reason}}})
		c.notice(ctx, s.DriverID, cp.reg.ID, s.SessionID, text)
	}
	if p := cp.pending; p != nil {
		c.abortStart(ctx, cp, deny, fmt.Sprintf("%s: %s", cp.reg.ID, DenyText(deny)), reason)
	}
}

// --- requests and supplies ---------------------------------------------------

func (c *Central) delivery(ctx actor.Context, msg proto.Message) {
	switch m := msg.(type) {
	case *messages.ChargeRequest:
		c.request(ctx, m)
	case *messages.SupplyStarted:
		c.supplyStarted(ctx, m)
	case *messages.Telemetry:
		c.telemetry(ctx, m)
	case *messages.SupplyEnded:
		c.supplyEnded(ctx, m)
	case *messages.CommandRejected:
		if cp := c.cps[m.GetCpId()]; cp != nil && cp.pending != nil && cp.pending.sessionID == m.GetSessionId() {
			c.abortStart(ctx, cp, messages.DenyReason_DENY_REASON_ENGINE_REFUSED,
				fmt.Sprintf("%s's engine refused: %s", cp.reg.ID, m.GetReason()), messages.EndReason_END_REASON_STOPPED_BY_CENTRAL)
		}
	case *messages.StatusChange:
		if cp := c.cps[m.GetCpId()]; cp != nil {
			cp.engineState = m.GetState()
			c.log.WithField("cp_id", m.GetCpId()).Debugf("Engine of %s says %s (%s)", m.GetCpId(), StateName(m.GetState()), m.GetReason())
		}
	}
}

func (c *Central) request(ctx actor.Context, r *messages.ChargeRequest) {
	if r.GetRequestId() != "" {
		if c.handled.has(r.GetRequestId()) {
			return // delivered again
		}
		c.handled.add(r.GetRequestId())
	}
	driver, id := r.GetDriverId(), r.GetCpId()
	deny := func(reason messages.DenyReason, detail string) {
		c.deny(ctx, r.GetRequestId(), driver, id, reason, detail)
	}
	if driver == "" || id == "" || r.GetRequestId() == "" {
		deny(messages.DenyReason_DENY_REASON_INVALID_REQUEST, "a request needs a request id, a driver id and a charge point id")
		return
	}
	cp := c.cps[id]
	if cp == nil {
		deny(messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT, fmt.Sprintf("%s is not registered", id))
		return
	}
	if at := r.GetRequestedAt(); at != nil {
		if age := c.cfg.Now().Sub(at.AsTime()); age > c.cfg.RequestTTL {
			deny(messages.DenyReason_DENY_REASON_INVALID_REQUEST, fmt.Sprintf("the request expired: it was made %v ago", age.Round(time.Second)))
			return
		}
	}
	if sid, busy := c.drivers[driver]; busy {
		deny(messages.DenyReason_DENY_REASON_DRIVER_BUSY, fmt.Sprintf("%s already has a supply running (session %s)", driver, sid))
		return
	}
	if reason, detail := denyFor(cp.state, id, cp.fault); reason != messages.DenyReason_DENY_REASON_UNSPECIFIED {
		deny(reason, detail)
		return
	}
	if cp.busy() {
		deny(messages.DenyReason_DENY_REASON_BUSY, fmt.Sprintf("%s is starting a supply for another driver", id))
		return
	}
	c.nextID++
	sid := fmt.Sprintf("%s-%s-%d", id, c.instance, c.nextID)
	p := &pendingStart{sessionID: sid, requestID: r.GetRequestId(), driverID: driver}
	p.cancel = c.timers.After(c.cfg.StartTimeout, &startTimeout{sessionID: sid, cpID: id})
	cp.pending = p
	c.drivers[driver] = sid
	c.command(ctx, id, &messages.Command{Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{
		SessionId: sid, RequestId: r.GetRequestId(), DriverId: driver}}})
	c.log.WithFields(logrus.Fields{"cp_id": id, "driver_id": driver, "session_id": sid}).Infof("Sent START_SUPPLY command for CP %s", id)
	c.event(EventAccepted, id, driver, fmt.Sprintf("Authorised %s at %s; waiting for the engine", driver, id))
	c.notice(ctx, driver, id, sid, fmt.Sprintf("Central authorised your request; waiting for %s to start", id))
	c.update(ctx, cp)
}

func (c *Central) deny(ctx actor.Context, requestID, driver, cpID string, reason messages.DenyReason, detail string) {
	c.cfg.Stats.Denials.Add(1)
	c.publish(ctx, bridge.TopicDriverUpdates, driver, &messages.ChargeDenied{
		RequestId: requestID, DriverId: driver, CpId: cpID, Reason: reason, Detail: detail})
	c.log.WithFields(logrus.Fields{"cp_id": cpID, "driver_id": driver}).Infof("Denied %s at %s: %s (%s)", driver, cpID, DenyText(reason), detail)
	c.event(EventDenied, cpID, driver, fmt.Sprintf("Denied %s at %s: %s", driver, cpID, detail))
}

// abortStart gives up on a start in progress: the driver is denied, and the
// engine is told to stop in case the start reaches it later.
func (c *Central) abortStart(ctx actor.Context, cp *cpEntry, reason messages.DenyReason, detail string, end messages.EndReason) {
	p := cp.pending
	if p == nil {
		return
	}
	p.cancel()
	cp.pending = nil
	if c.drivers[p.driverID] == p.sessionID {
		delete(c.drivers, p.driverID)
	}
	c.denied.add(p.sessionID)
	c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_StopSupply{
		StopSupply: &messages.StopSupply{SessionId: p.sessionID, Reason: end}}})
	c.deny(ctx, p.requestID, p.driverID, cp.reg.ID, reason, detail)
	c.update(ctx, cp)
}

func (c *Central) startTimedOut(ctx actor.Context, m *startTimeout) {
	cp := c.cps[m.cpID]
	if cp == nil || cp.pending == nil || cp.pending.sessionID != m.sessionID {
		return
	}
	c.abortStart(ctx, cp, messages.DenyReason_DENY_REASON_ENGINE_REFUSED,
		fmt.Sprintf("%s's engine did not confirm the start within %v", cp.reg.ID, c.cfg.StartTimeout), messages.EndReason_END_REASON_STOPPED_BY_CENTRAL)
}

func (c *Central) supplyStarted(ctx actor.Context, s *messages.SupplyStarted) {
	sid := s.GetSessionId()
	cp := c.cps[s.GetCpId()]
	if cp == nil || c.ended.has(sid) || (cp.session != nil && cp.session.SessionID == sid) {
		return
	}
	if c.denied.has(sid) {
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_StopSupply{
			StopSupply: &messages.StopSupply{SessionId: sid, Reason: messages.EndReason_END_REASON_STOPPED_BY_CENTRAL}}})
		return
	}
	if cp.pending != nil && cp.pending.sessionID == sid {
		c.confirmed(ctx, cp, s.GetStartedAt().AsTime(), s.GetKw())
		c.publish(ctx, bridge.TopicDriverUpdates, s.GetDriverId(), s)
		return
	}
	c.adopt(ctx, cp, sid, s.GetRequestId(), s.GetDriverId(), s.GetStartedAt().AsTime())
}

// confirmed turns the start in progress into a running supply.
func (c *Central) confirmed(ctx actor.Context, cp *cpEntry, startedAt time.Time, kw float64) {
	p := cp.pending
	p.cancel()
	cp.pending = nil
	cp.session = &SessionView{SessionID: p.sessionID, DriverID: p.driverID, KW: kw, StartedAt: startedAt}
	cp.request = p.requestID
	cp.released = false
	c.countStart(p.sessionID)
	c.publish(ctx, bridge.TopicDriverUpdates, p.driverID, &messages.ChargeAccepted{
		RequestId: p.requestID, DriverId: p.driverID, CpId: cp.reg.ID, SessionId: p.sessionID})
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": p.driverID, "session_id": p.sessionID}).
		Infof("%s is supplying %s", cp.reg.ID, p.driverID)
	c.event(EventStarted, cp.reg.ID, p.driverID, fmt.Sprintf("%s started supplying %s", cp.reg.ID, p.driverID))
	c.update(ctx, cp)
}

// adopt takes in a supply Central did not start itself (Central restarted
// while it ran), so the panel and the driver's busy flag are right again.
func (c *Central) adopt(ctx actor.Context, cp *cpEntry, sid, requestID, driver string, startedAt time.Time) {
	if _, err := c.cfg.Store.Ticket(context.Background(), sid); err == nil {
		c.ended.add(sid) // a late record of a supply that has its ticket already
		return
	}
	if cp.session != nil && c.drivers[cp.session.DriverID] == cp.session.SessionID {
		delete(c.drivers, cp.session.DriverID)
	}
	if startedAt.IsZero() {
		startedAt = c.cfg.Now()
	}
	cp.session = &SessionView{SessionID: sid, DriverID: driver, KW: cp.reg.KW, StartedAt: startedAt}
	cp.request = requestID
	cp.released = false
	if driver != "" {
		c.drivers[driver] = sid
	}
	c.countStart(sid)
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": driver, "session_id": sid}).
		Infof("%s is supplying %s (a supply that started before Central's restart)", cp.reg.ID, driver)
	c.update(ctx, cp)
}

func (c *Central) countStart(sid string) {
	if !c.counted.has(sid) {
		c.counted.add(sid)
		c.cfg.Stats.SuppliesStarted.Add(1)
		c.cfg.Stats.MarkSupplyStarted()
	}
}

func (c *Central) telemetry(ctx actor.Context, t *messages.Telemetry) {
	if at := t.GetAt(); at != nil {
		// Engine reading to Central: the end-to-end lag that make bench reports.
		c.cfg.Stats.TelemetryLag.Observe(time.Since(at.AsTime()))
	}
	sid := t.GetSessionId()
	cp := c.cps[t.GetCpId()]
	if cp == nil || c.ended.has(sid) || c.denied.has(sid) {
		return
	}
	switch {
	case cp.session != nil && cp.session.SessionID == sid:
	case cp.pending != nil && cp.pending.sessionID == sid:
		// the reading overtook the start (they travel on different topics)
		c.confirmed(ctx, cp, c.cfg.Now(), t.GetKw())
	default:
		c.adopt(ctx, cp, sid, "", t.GetDriverId(), time.Time{})
		if cp.session == nil || cp.session.SessionID != sid {
			return
		}
	}
	cp.session.KW, cp.session.KWh, cp.session.EUR = t.GetKw(), t.GetKwh(), t.GetEur()
	c.publish(ctx, bridge.TopicDriverUpdates, t.GetDriverId(), t)
	c.notify(ctx, cp, nil)
}

func (c *Central) supplyEnded(ctx actor.Context, e *messages.SupplyEnded) {
	sid := e.GetSessionId()
	if sid == "" {
		return
	}
	cp := c.cps[e.GetCpId()]
	if cp != nil {
		if cp.pending != nil && cp.pending.sessionID == sid {
			c.confirmed(ctx, cp, e.GetStartedAt().AsTime(), 0) // the end overtook the start
		}
		if cp.session != nil && cp.session.SessionID == sid {
			cp.session = nil
			cp.request = ""
			cp.released = false
		}
	}
	if c.drivers[e.GetDriverId()] == sid {
		delete(c.drivers, e.GetDriverId())
	}
	c.ended.add(sid)
	c.countStart(sid)

	t := &messages.Ticket{
		TicketId: "T-" + sid, SessionId: sid, RequestId: e.GetRequestId(), DriverId: e.GetDriverId(), CpId: e.GetCpId(),
		Kwh: e.GetKwh(), Eur: e.GetEur(), PriceEurPerKwh: e.GetPriceEurPerKwh(),
		StartedAt: e.GetStartedAt(), EndedAt: e.GetEndedAt(), Reason: e.GetReason(),
	}
	isNew, err := c.cfg.Store.SaveTicket(context.Background(), t)
	if err != nil {
		c.log.WithError(err).WithField("session_id", sid).Warn("Could not save a ticket; sending it anyway")
		isNew = true
	}
	if !isNew {
		c.log.WithField("session_id", sid).Debug("Ignored a supply end delivered again: its ticket exists")
		if cp != nil {
			c.update(ctx, cp)
		}
		return
	}
	c.publish(ctx, bridge.TopicDriverUpdates, e.GetDriverId(), e)
	c.publish(ctx, bridge.TopicTickets, e.GetDriverId(), t)
	st := c.cfg.Stats
	st.Tickets.Add(1)
	st.AddEnergy(t.GetKwh(), t.GetEur())
	if t.GetReason() == messages.EndReason_END_REASON_COMPLETED {
		st.SuppliesCompleted.Add(1)
	} else {
		st.SuppliesInterrupted.Add(1)
	}
	c.totals.Tickets++
	c.totals.KWh += t.GetKwh()
	c.totals.EUR += t.GetEur()
	text := fmt.Sprintf("Ticket for %s at %s: %.2f kWh, %.2f EUR (%s)", t.GetDriverId(), t.GetCpId(), t.GetKwh(), t.GetEur(),
		chargepoint.EndReasonText(t.GetReason()))
	c.log.WithFields(logrus.Fields{"cp_id": t.GetCpId(), "driver_id": t.GetDriverId(), "session_id": sid}).Info(text)
	c.event(EventTicket, t.GetCpId(), t.GetDriverId(), text)
	if cp != nil {
		c.update(ctx, cp)
	}
}

// --- operator ----------------------------------------------------------------

func (c *Central) targets(cpID string) ([]*cpEntry, string) {
	if cpID == "" {
		out := make([]*cpEntry, 0, len(c.cps))
		for _, id := range c.sortedIDs() {
			out = append(out, c.cps[id])
		}
		return out, ""
	}
	cp := c.cps[cpID]
	if cp == nil {
		return nil, "unknown charge point " + cpID
	}
	return []*cpEntry{cp}, ""
}

func (c *Central) setStopped(ctx actor.Context, cpID string, stopped bool) *OperatorResult {
	cps, errText := c.targets(cpID)
	if errText != "" {
		return &OperatorResult{Err: errText}
	}
	if err := c.cfg.Store.SetStopped(context.Background(), cpID, stopped); err != nil {
		c.log.WithError(err).Warn("Could not record the operator's order; carrying it out anyway")
	}
	res := &OperatorResult{}
	now := c.cfg.Now()
	for _, cp := range cps {
		if cp.stopped == stopped {
			continue
		}
		cp.stopped = stopped
		cp.lastOrder = now
		res.Affected++
		id := cp.reg.ID
		if stopped {
			c.command(ctx, id, &messages.Command{Kind: &messages.Command_Stop{Stop: &messages.StopChargePoint{}}})
			c.log.WithField("cp_id", id).Infof("%s STOPPED by the operator", id)
			c.event(EventStopped, id, "", fmt.Sprintf("%s STOPPED by the operator (out of order)", id))
			if s := cp.session; s != nil {
				c.notice(ctx, s.DriverID, id, s.SessionID, fmt.Sprintf("%s was stopped by Central; your supply ends now and you get a ticket", id))
			}
			if cp.pending != nil {
				c.abortStart(ctx, cp, messages.DenyReason_DENY_REASON_STOPPED, fmt.Sprintf("%s was stopped by Central", id),
					messages.EndReason_END_REASON_STOPPED_BY_CENTRAL)
			}
		} else {
			c.command(ctx, id, &messages.Command{Kind: &messages.Command_Resume{Resume: &messages.ResumeChargePoint{}}})
			c.log.WithField("cp_id", id).Infof("%s resumed by the operator", id)
			c.event(EventResumed, id, "", fmt.Sprintf("%s resumed by the operator", id))
		}
		c.update(ctx, cp)
	}
	return res
}

func (c *Central) knockOut(ctx actor.Context, m *KnockOut) *OperatorResult {
	if m.CPID == "" {
		return &OperatorResult{Err: "KO needs a charge point id"}
	}
	if c.cps[m.CPID] == nil {
		return &OperatorResult{Err: "unknown charge point " + m.CPID}
	}
	c.command(ctx, m.CPID, &messages.Command{Kind: &messages.Command_SetKnockedOut{SetKnockedOut: &messages.SetKnockedOut{KnockedOut: m.KO}}})
	word := "KO"
	if !m.KO {
		word = "OK (repair)"
	}
	c.log.WithField("cp_id", m.CPID).Infof("Sent %s to %s", word, m.CPID)
	return &OperatorResult{Affected: 1}
}

// --- panel -------------------------------------------------------------------

// update re-derives a charge point's state and tells the watchers.
func (c *Central) update(ctx actor.Context, cp *cpEntry) {
	st, why := cp.derive()
	if st != cp.state || why != cp.reason {
		if st != cp.state {
			cp.since = c.cfg.Now()
		}
		cp.state, cp.reason = st, why
	}
	c.notify(ctx, cp, nil)
}

func (c *Central) notify(ctx actor.Context, cp *cpEntry, ev *Event) {
	if len(c.watchers) == 0 {
		return
	}
	u := &Update{Event: ev}
	if cp != nil {
		v := cp.view()
		u.ChargePoint = &v
	}
	for _, w := range c.watchers {
		ctx.Send(w, u)
	}
}

func (c *Central) event(kind, cpID, driver, text string) {
	c.seq++
	ev := Event{Seq: c.seq, At: c.cfg.Now(), Kind: kind, CPID: cpID, DriverID: driver, Text: text}
	c.events = append(c.events, ev)
	// Trim only when the history has grown to twice its size, so an event
	// costs O(1) amortised instead of a copy of the whole history.
	if len(c.events) >= 2*c.cfg.HistorySize {
		c.events = append(make([]Event, 0, 2*c.cfg.HistorySize), c.events[len(c.events)-c.cfg.HistorySize:]...)
	}
	if len(c.watchers) > 0 {
		u := &Update{Event: &ev}
		for _, w := range c.watchers {
			c.sendWatcher(w, u)
		}
	}
}

// sendWatcher is used where no context is at hand (events are recorded from
// many places); the actor system's root sends without blocking.
func (c *Central) sendWatcher(w *actor.PID, u *Update) {
	if c.sys != nil {
		c.sys.Root.Send(w, u)
	}
}

func (c *Central) snapshot() *Snapshot {
	s := &Snapshot{LastEvent: c.seq, Totals: Totals{ByState: map[messages.ChargePointState]int{}}}
	for _, id := range c.sortedIDs() {
		cp := c.cps[id]
		s.ChargePoints = append(s.ChargePoints, cp.view())
		s.Totals.ByState[cp.state]++
		if cp.session != nil {
			s.Totals.ActiveSupplies++
		}
	}
	s.Totals.ChargePoints = len(c.cps)
	s.Totals.KWh, s.Totals.EUR, s.Totals.Tickets = c.totals.KWh, c.totals.EUR, c.totals.Tickets
	return s
}

func (c *Central) eventsSince(since uint64, limit int) *Events {
	var out []Event
	// The history keeps up to twice HistorySize between trims; show HistorySize.
	kept := c.events
	if len(kept) > c.cfg.HistorySize {
		kept = kept[len(kept)-c.cfg.HistorySize:]
	}
	for _, e := range kept {
		if e.Seq > since {
			out = append(out, e)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return &Events{Events: out}
}

func (c *Central) sortedIDs() []string {
	ids := make([]string, 0, len(c.cps))
	for id := range c.cps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// --- out ---------------------------------------------------------------------

func (c *Central) command(ctx actor.Context, cpID string, cmd *messages.Command) {
	c.nextID++
	cmd.CpId = cpID
	cmd.CommandId = fmt.Sprintf("C-%s-%d", c.instance, c.nextID)
	c.publish(ctx, bridge.TopicCommands, cpID, cmd)
}

func (c *Central) notice(ctx actor.Context, driver, cpID, sid, text string) {
	if driver == "" {
		return
	}
	c.publish(ctx, bridge.TopicDriverUpdates, driver, &messages.DriverNotice{
		DriverId: driver, Text: text, At: timestamppb.New(c.cfg.Now()), CpId: cpID, SessionId: sid})
}

func (c *Central) publish(ctx actor.Context, topic, key string, msg proto.Message) {
	ctx.Send(c.cfg.Bridge, &bridge.Publish{Topic: topic, Key: key, Msg: msg})
}

func newID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package central

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// Monitors: registration, authentication, liveness and engine health.

func (c *Central) register(ctx actor.Context, m *messages.RegisterChargePoint) {
	id := m.GetCpId()
	reply := &messages.RegistrationResult{CpId: id, CentralInstance: c.instance}
	cp := c.cps[id]
	now := c.cfg.Now()
	source := ctx.Sender().GetAddress()
	if source == "nonhost" { // protoactor's name for this process
		source = "local"
	}
	rejectAs := func(d identityDenial) {
		reply.Reason = d.reason
		c.audit(audit.Event{Who: "cp:" + id, Source: source, Action: "register", Target: id, Outcome: audit.OutcomeDenied, Detail: d.reason})
		ctx.Respond(reply)
		if cp == nil {
			cp = c.registeredElsewhere(id, now) // shown refused when the Registry has it
		}
		switch {
		case cp == nil || cp.alive:
		case d.state != messages.ChargePointState_CHARGE_POINT_STATE_REJECTED:
			if cp.identity == nil || *cp.identity != d {
				cp.identity = &d // REVOKED or UNREGISTERED, until the Registry says otherwise
				c.update(ctx, cp)
			}
		case cp.rejected != d.reason:
			// Shown as its own state with the reason, not as a silent monitor.
			cp.rejected, cp.rejectedAt = d.reason, now
			c.update(ctx, cp)
		default:
			cp.rejectedAt = now
		}
		if c.rejected[id] == d.reason {
			c.log.WithField("cp_id", id).Debugf("Rejected registration of %s again: %s", id, d.reason)
			return
		}
		c.rejected[id] = d.reason // one WARN per charge point and reason until it is accepted
		c.log.WithField("cp_id", id).Warnf("Rejected registration of %s: %s", id, d.reason)
		c.event(EventRejected, id, "", fmt.Sprintf("Rejected registration of %s: %s", id, d.reason))
	}
	reject := func(reason string) {
		rejectAs(identityDenial{messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, reason})
	}
	tokens := c.verifier != nil
	if c.readingRegistry(ctx, m, cp, tokens) {
		return
	}
	var tokenVersion uint64
	var tokenExpires time.Time
	if tokens && id != "" {
		claims, denial, waiting := c.checkToken(m, now)
		switch {
		case waiting != "":
			reply.Waiting, reply.Reason = true, waiting
			ctx.Respond(reply)
			return
		case denial != nil:
			rejectAs(*denial)
			return
		}
		tokenVersion, tokenExpires = claims.TokenVersion, claims.ExpiresAt.Time
		if c.renewal(ctx, cp, tokenVersion, tokenExpires, reply, source) {
			return
		}
	}
	switch {
	case id == "":
		reject("no charge point id")
		return
	case !tokens && m.GetSecret() == "":
		reject("no secret presented")
		return
	case !tokens && cp == nil && c.cfg.ClosedRegistration:
		reject("not in the registry")
		return
	case !tokens && cp != nil && !store.CheckSecret(cp.reg.SecretHash, m.GetSecret()):
		reject("wrong secret")
		return
	case cp != nil && cp.alive && !cp.isMonitor(ctx.Sender()) && c.silence(cp.lastSeen, now) <= c.cfg.LivenessTimeout:
		// Two monitors for one charge point: the one that is alive keeps
		// it; the other is told why, instead of both taking turns.
		reject(fmt.Sprintf("another monitor%s is registered for %s and alive; stop one of them", addressOf(cp.monitor), id))
		return
	}
	isNew := cp == nil
	if isNew {
		var hash string
		if !tokens { // with tokens, the Registry holds the credential
			var err error
			if hash, err = store.HashSecret(m.GetSecret()); err != nil {
				reject("internal error")
				return
			}
		}
		cp = &cpEntry{reg: store.ChargePoint{ID: id, SecretHash: hash, RegisteredAt: now}, engineOK: true, since: now}
		c.cps[id] = cp
	}
	location, price := m.GetLocation(), m.GetPriceEurPerKwh()
	if rec, ok := c.registryIdentity(id); ok { // the Registry's word on where and at what price
		location, price = rec.GetLocation(), rec.GetPriceEurPerKwh()
	}
	changed := isNew || cp.reg.Location != location || cp.reg.PriceEURPerKWh != price || cp.reg.KW != m.GetKw()
	cp.reg.Location, cp.reg.PriceEURPerKWh, cp.reg.KW = location, price, m.GetKw()
	cp.tokenVersion, cp.tokenExpires, cp.identity = tokenVersion, tokenExpires, nil
	if changed {
		if err := c.cfg.Store.SaveChargePoint(context.Background(), cp.reg); err != nil {
			c.log.WithError(err).WithField("cp_id", id).Warnf("Could not save %s in the registry", id)
		}
	}
	delete(c.rejected, id)
	wasAlive := cp.alive
	cp.alive, cp.lastSeen, cp.engineOK, cp.fault = true, now, true, ""
	if !cp.isMonitor(ctx.Sender()) {
		cp.waiting = "" // a new monitor says what its engine waits for
	}
	cp.rejected = ""
	cp.monitor = ctx.Sender()
	reply.Accepted = true
	reply.CentralAddress = c.groupAddress()
	reply.Key = c.keyFor(cp)
	if tokens {
		cp.registrationID = newRegistrationID()
		reply.RegistrationId = cp.registrationID
		c.audit(audit.Event{Who: "cp:" + id, Source: source, Action: "register", Target: id, Outcome: audit.OutcomeOK, Detail: fmt.Sprintf("token version %d", tokenVersion)})
	}
	ctx.Respond(reply)
	switch {
	case isNew:
		c.logRegistration(ctx.Sender(), id, true, now) // one line per node for many (nodelines.go)
		c.event(EventRegistered, id, "", fmt.Sprintf("Registered new CP: %s (%s, %.2f EUR/kWh, %g kW)", id, cp.reg.Location, cp.reg.PriceEURPerKWh, cp.reg.KW))
	case !wasAlive:
		c.logRegistration(ctx.Sender(), id, false, now)
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
	c.shareChargePoint(ctx, cp)
	c.shareStoredKeys(id)
	c.weatherOnRegister(ctx, cp)
	c.update(ctx, cp)
}

func (c *Central) liveness(ctx actor.Context, m *messages.Liveness) {
	cp := c.cps[m.GetCpId()]
	if cp == nil || !cp.alive || !cp.isMonitor(ctx.Sender()) || !c.sameRegistration(cp, m.GetRegistrationId()) || !c.stillValid(ctx, cp) {
		// Unknown, or not the monitor that authenticated: register (with the secret) first.
		ctx.Respond(&messages.LivenessAck{CpId: m.GetCpId(), Seq: m.GetSeq(), Known: false, CentralInstance: c.instance})
		return
	}
	cp.lastSeen = c.cfg.Now()
	ack := &messages.LivenessAck{CpId: m.GetCpId(), Seq: m.GetSeq(), Known: true, CentralInstance: c.instance, CentralAddress: c.groupAddress()}
	c.attachKey(cp, m.GetKeyId(), ack)
	ctx.Respond(ack)
	if st := m.GetEngineState(); st != messages.ChargePointState_CHARGE_POINT_STATE_UNSPECIFIED {
		cp.engineState = st
	}
	if w := m.GetEngineWaiting(); w != cp.waiting {
		c.engineWaiting(ctx, cp, w)
	}
	if m.GetEngineOk() != cp.engineOK {
		detail := "engine reported broken by its monitor"
		if m.GetEngineOk() {
			detail = ""
		}
		c.engineHealth(ctx, cp, m.GetEngineOk(), detail)
	}
	cp.engineSession = m.GetSessionId()
	if sid := m.GetSessionId(); sid != "" && cp.session == nil && (cp.pending == nil || cp.pending.sessionID != sid) &&
		!c.ended.has(sid) && !c.denied.has(sid) {
		c.adopt(ctx, cp, sid, "", m.GetDriverId(), time.Time{})
	}
	c.closeUnconfirmed(ctx, cp)
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
	case cp.outOfService() && (st == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED || st == messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING):
		c.log.WithField("cp_id", cp.reg.ID).Infof("Repeating the STOP order to %s, whose engine is %s", cp.reg.ID, StateName(st))
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_Stop{Stop: &messages.StopChargePoint{}}})
		cp.lastOrder = now
	case !cp.outOfService() && st == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:
		c.log.WithField("cp_id", cp.reg.ID).Infof("Repeating the RESUME order to %s, whose engine is still STOPPED", cp.reg.ID)
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_Resume{Resume: &messages.ResumeChargePoint{}}})
		cp.lastOrder = now
	}
}

// engineWaiting notes what the engine of a live charge point waits for
// ("" once it is ready): it is shown as not available yet, not as a fault.
func (c *Central) engineWaiting(ctx actor.Context, cp *cpEntry, waiting string) {
	id := cp.reg.ID
	was := cp.waiting
	cp.waiting = waiting
	switch {
	case waiting != "":
		c.log.WithField("cp_id", id).Infof("%s is not available yet: engine %s", id, waiting)
		c.event(EventWaiting, id, "", fmt.Sprintf("%s not available yet: engine %s", id, waiting))
	case was != "":
		c.log.WithField("cp_id", id).Infof("%s is available: its engine is ready", id)
		c.event(EventReady, id, "", fmt.Sprintf("%s available: engine ready", id))
	}
	c.update(ctx, cp)
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
		if cp.rejected != "" && !cp.alive && now.Sub(cp.rejectedAt) > c.rejectedHold() {
			cp.rejected = "" // the refused monitor stopped asking
			c.update(ctx, cp)
		}
		if cp.alive && c.tokenExpired(ctx, cp, now) {
			continue
		}
		// The plain time since is checked first: it is never less than the
		// silence, and asking the stall meter for 100,000 charge points
		// twice a second was most of this loop.
		if !cp.alive || now.Sub(cp.lastSeen) <= limit || c.silence(cp.lastSeen, now) <= limit {
			continue
		}
		cp.alive = false
		silent := c.silence(cp.lastSeen, now).Round(100 * time.Millisecond)
		c.logDisconnected(cp, id, silent, now) // one line per node when many go at once (nodelines.go)
		c.event(EventDisconnected, id, "", fmt.Sprintf("%s DISCONNECTED: no sign of life from its monitor", id))
		c.interrupt(ctx, cp, messages.EndReason_END_REASON_MONITOR_LOST, messages.DenyReason_DENY_REASON_DISCONNECTED,
			fmt.Sprintf("%s lost contact with Central; your supply ends now and you get a ticket for what was delivered", id))
		c.update(ctx, cp)
	}
	c.flushNodeLines(now)
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
		if s == nil || cp.released || now.Sub(cp.since) < c.cfg.ReleaseAfter || !cannotReport(cp.state) {
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

// cannotReport says whether a charge point in state s cannot report a
// supply's end: its engine is broken or its monitor is gone (or refused).
func cannotReport(s messages.ChargePointState) bool {
	switch s {
	case messages.ChargePointState_CHARGE_POINT_STATE_FAULT, messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED,
		messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, messages.ChargePointState_CHARGE_POINT_STATE_REVOKED,
		messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED:
		return true
	}
	return false
}

// interrupt ends the charge point's running supply (the engine reports the
// end, Central makes the ticket) and denies a start in progress.
func (c *Central) interrupt(ctx actor.Context, cp *cpEntry, reason messages.EndReason, deny messages.DenyReason, text string) {
	if s := cp.session; s != nil {
		c.cutSupply(cp, reason)
		c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_StopSupply{
			StopSupply: &messages.StopSupply{SessionId: s.SessionID, Reason: reason}}})
		c.notice(ctx, s.DriverID, cp.reg.ID, s.SessionID, text)
	}
	if p := cp.pending; p != nil && reason == messages.EndReason_END_REASON_MONITOR_LOST {
		c.holdStart(ctx, cp)
	} else if p != nil {
		c.abortStart(ctx, cp, deny, fmt.Sprintf("%s: %s", cp.reg.ID, DenyText(deny)), reason)
	}
}

// silence is how long Central ran since t: the time this process was
// stalled itself (stopped, starved of CPU) is not a monitor's silence.
func (c *Central) silence(t, now time.Time) time.Duration {
	return now.Sub(t) - c.cfg.Stall.Since(t)
}

// rejectedHold is how long a refused registration stays on the panel after
// the last try: longer than a refused monitor's pause between tries (5 liveness
// intervals, at most LivenessTimeout each).
func (c *Central) rejectedHold() time.Duration { return 5 * c.cfg.LivenessTimeout }

// addressOf is " (at HOST:PORT)" for a monitor in another process.
func addressOf(pid *actor.PID) string {
	if a := pid.GetAddress(); a != "" && a != "nonhost" {
		return " (at " + a + ")"
	}
	return ""
}

// WaitingAnswer is what a Central that is up but not ready yet (reason,
// e.g. "Central is waiting for Kafka") answers a monitor, so that the
// monitor waits quietly instead of reporting Central unreachable. It is nil
// for a message that needs no answer.
func WaitingAnswer(msg any, reason string) any {
	switch m := msg.(type) {
	case *messages.RegisterChargePoint:
		return &messages.RegistrationResult{CpId: m.GetCpId(), Waiting: true, Reason: reason}
	case *messages.Liveness:
		return &messages.LivenessAck{CpId: m.GetCpId(), Seq: m.GetSeq(), Waiting: true}
	case *messages.CentralForward: // passed on by another Central of the group
		if r := m.GetRegister(); r != nil {
			return WaitingAnswer(r, reason)
		}
		if l := m.GetLiveness(); l != nil {
			return WaitingAnswer(l, reason)
		}
	}
	return nil
}

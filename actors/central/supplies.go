package central

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// Driver requests, supplies, telemetry and tickets.

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
	case *messages.ChargePointIdentity, *messages.RegistryKey:
		c.registryRecord(ctx, m)
	case *messages.WeatherAlert, *messages.WeatherReading:
		c.weatherRecord(ctx, m)
	case *messages.CentralMember:
		c.memberRecord(m)
	case *messages.Ticket:
		c.ticketRecord(ctx, m)
	case *messages.CentralKeys:
		c.keysRecord(m)
	case *messages.CentralChargePoint:
		c.chargePointEntry(ctx, m)
	case *messages.CentralDriver:
		c.driverRecord(m)
	case *messages.StatusChange:
		if cp := c.cps[m.GetCpId()]; cp != nil {
			cp.engineState = m.GetState()
			c.log.WithField("cp_id", m.GetCpId()).Debugf("Engine of %s says %s (%s)", m.GetCpId(), StateName(m.GetState()), m.GetReason())
		}
	}
}

func (c *Central) request(ctx actor.Context, r *messages.ChargeRequest) {
	if c.requestOfAnother(r) {
		return
	}
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
	if (cp == nil || !cp.alive) && c.unheardJustGained(id) {
		c.log.WithFields(logrus.Fields{"cp_id": id, "driver_id": driver, "request_id": r.GetRequestId()}).
			Debugf("Left a request for %s alone: its partition came to this Central a moment ago and its monitor has not reached it yet", id)
		return
	}
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
	if detail := c.busyAtAnother(driver); detail != "" {
		deny(messages.DenyReason_DENY_REASON_DRIVER_BUSY, detail)
		return
	}
	if reason, detail := denyFor(cp.state, id, cp.fault); reason != messages.DenyReason_DENY_REASON_UNSPECIFIED {
		deny(reason, c.weatherDenial(cp, detail))
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
	c.shareDriver(ctx, driver, sid, id)
	c.command(ctx, id, &messages.Command{Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{
		SessionId: sid, RequestId: r.GetRequestId(), DriverId: driver}}})
	c.log.WithFields(logrus.Fields{"cp_id": id, "driver_id": driver, "session_id": sid}).Infof("Sent START_SUPPLY to %s for %s", id, driver)
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
	if cp.pending.revoked {
		c.revokedStartExpired(ctx, cp)
		return
	}
	if cp.pending.held && !cp.alive {
		c.heldStartExpired(ctx, cp)
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
		c.endIfDisconnected(ctx, cp)
		return
	}
	c.noteStart(ctx, cp, s)
}

// confirmed turns the start in progress into a running supply.
func (c *Central) confirmed(ctx actor.Context, cp *cpEntry, startedAt time.Time, kw float64) {
	p := c.acceptPending(ctx, cp, startedAt, kw)
	c.countStart(p.sessionID)
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": p.driverID, "session_id": p.sessionID}).
		Infof("%s is supplying %s", cp.reg.ID, p.driverID)
	c.event(EventStarted, cp.reg.ID, p.driverID, fmt.Sprintf("%s started supplying %s", cp.reg.ID, p.driverID))
	c.update(ctx, cp)
}

// acceptPending makes the start in progress the charge point's running
// supply and tells its driver it is accepted; it returns the start.
func (c *Central) acceptPending(ctx actor.Context, cp *cpEntry, startedAt time.Time, kw float64) *pendingStart {
	p := cp.pending
	p.cancel()
	cp.pending = nil
	cp.session = &SessionView{SessionID: p.sessionID, DriverID: p.driverID, KW: kw, StartedAt: startedAt}
	cp.request = p.requestID
	cp.released = false
	c.publish(ctx, bridge.TopicDriverUpdates, p.driverID, &messages.ChargeAccepted{
		RequestId: p.requestID, DriverId: p.driverID, CpId: cp.reg.ID, SessionId: p.sessionID})
	return p
}

// adopt takes in a supply Central did not start itself (Central restarted
// while it ran) once its engine confirms it, so the panel and the driver's
// busy flag are right again.
func (c *Central) adopt(ctx actor.Context, cp *cpEntry, sid, requestID, driver string, startedAt time.Time) {
	if _, err := c.cfg.Store.Ticket(context.Background(), sid); err == nil {
		c.ended.add(sid) // a late record of a supply that has its ticket already
		cp.forgetUnconfirmed(sid)
		return
	}
	var kwh, eur float64
	if u := cp.unconfirmed[sid]; u != nil {
		cp.forgetUnconfirmed(sid)
		kwh, eur = u.kwh, u.eur
		if startedAt.IsZero() {
			startedAt = u.startedAt
		}
		if requestID == "" {
			requestID = u.requestID
		}
	}
	if cp.session != nil && c.drivers[cp.session.DriverID] == cp.session.SessionID {
		delete(c.drivers, cp.session.DriverID)
	}
	if startedAt.IsZero() {
		startedAt = c.cfg.Now()
	}
	cp.session = &SessionView{SessionID: sid, DriverID: driver, KW: cp.reg.KW, StartedAt: startedAt, KWh: kwh, EUR: eur}
	cp.request = requestID
	cp.released = false
	if driver != "" {
		c.drivers[driver] = sid
	}
	c.countStart(sid)
	why := "a supply Central had not started itself, reported by the charge point"
	if c.restarted {
		why = "a supply that started before Central's restart"
	}
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": driver, "session_id": sid}).
		Infof("%s is supplying %s (%s)", cp.reg.ID, driver, why)
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
	if cp == nil || c.ended.has(sid) || c.denied.has(sid) || c.cutOff(sid) {
		return
	}
	switch {
	case cp.session != nil && cp.session.SessionID == sid:
		if t.GetKwh() < cp.session.KWh {
			// an earlier reading (a copy of it, or one delivered again): the
			// energy of a supply never goes back
			c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "session_id": sid}).
				Debugf("Ignored a reading of %s older than the one shown (%.3f kWh, shown %.3f kWh)", cp.reg.ID, t.GetKwh(), cp.session.KWh)
			return
		}
	case cp.pending != nil && cp.pending.sessionID == sid:
		// the reading overtook the start (they travel on different topics)
		c.confirmed(ctx, cp, c.cfg.Now(), t.GetKw())
		c.endIfDisconnected(ctx, cp)
	default:
		if !c.noteReading(ctx, cp, t) {
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
	e = c.applyCutOff(e)
	cp := c.cps[e.GetCpId()]
	if cp != nil {
		cp.forgetUnconfirmed(sid)
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

package central

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// Supplies that Central hears of only through Kafka records (a start or a
// reading it did not authorise in this run, e.g. records left in Kafka from
// before its restart). A record is no proof that an engine runs the supply
// now: Central adopts it only when the engine confirms it through its
// monitor's liveness (Liveness.session_id). When the engine is heard running
// something else, and the supply's own end has not come within
// StartTimeout, the supply is closed with a ticket for what was measured.

// unconfirmedSupply is what the records said of a supply no engine confirmed yet.
type unconfirmedSupply struct {
	sessionID, requestID, driverID string
	kw, kwh, eur, price            float64
	startedAt, lastAt              time.Time // engine times, zero when unknown
	seen                           time.Time // when Central first heard of it
}

// engineRuns reports whether the charge point's engine, as its live monitor
// last said, is running session sid.
func (cp *cpEntry) engineRuns(sid string) bool { return cp.alive && cp.engineSession == sid }

// unconfirmed notes a start or a reading of a supply Central does not know.
// It reports false when the supply needs no note (it has its ticket already).
func (c *Central) unconfirmed(cp *cpEntry, sid string) (*unconfirmedSupply, bool) {
	if u := cp.unconfirmed[sid]; u != nil {
		return u, true
	}
	if _, err := c.cfg.Store.Ticket(context.Background(), sid); err == nil {
		c.ended.add(sid) // a late record of a supply that has its ticket already
		return nil, false
	}
	if cp.unconfirmed == nil {
		cp.unconfirmed = map[string]*unconfirmedSupply{}
	}
	u := &unconfirmedSupply{sessionID: sid, seen: c.cfg.Now(), price: cp.reg.PriceEURPerKWh, kw: cp.reg.KW}
	cp.unconfirmed[sid] = u
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "session_id": sid}).
		Debugf("Heard of supply %s at %s, which its engine has not confirmed: waiting for its monitor", sid, cp.reg.ID)
	return u, true
}

// closeUnconfirmed closes every supply of the charge point that its engine,
// now heard running something else, does not confirm, once its own end has
// had StartTimeout to arrive: one ticket for what was measured.
func (c *Central) closeUnconfirmed(ctx actor.Context, cp *cpEntry) {
	now := c.cfg.Now()
	for sid, u := range cp.unconfirmed {
		if cp.engineRuns(sid) || now.Sub(u.seen) < c.cfg.StartTimeout {
			continue
		}
		delete(cp.unconfirmed, sid)
		if c.ended.has(sid) {
			continue
		}
		ended := u.lastAt
		if ended.IsZero() {
			ended = u.startedAt
		}
		if ended.IsZero() {
			ended = u.seen
		}
		started := u.startedAt
		if started.IsZero() {
			started = ended
		}
		c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": u.driverID, "session_id": sid}).
			Infof("Closing the supply of %s at %s that its engine no longer runs (it restarted without it): ticket for the %.2f kWh measured",
				u.driverID, cp.reg.ID, u.kwh)
		c.supplyEnded(ctx, &messages.SupplyEnded{
			SessionId: sid, RequestId: u.requestID, DriverId: u.driverID, CpId: cp.reg.ID,
			Kwh: u.kwh, Eur: u.eur, PriceEurPerKwh: u.price,
			StartedAt: timestamppb.New(started), EndedAt: timestamppb.New(ended),
			Reason: messages.EndReason_END_REASON_ENGINE_RESTART,
		})
	}
}

// noteStart records a start Central did not authorise: adopted when the
// engine confirms it, noted otherwise.
func (c *Central) noteStart(ctx actor.Context, cp *cpEntry, s *messages.SupplyStarted) {
	sid := s.GetSessionId()
	if cp.engineRuns(sid) {
		c.adopt(ctx, cp, sid, s.GetRequestId(), s.GetDriverId(), s.GetStartedAt().AsTime())
		return
	}
	u, ok := c.unconfirmed(cp, sid)
	if !ok {
		return
	}
	u.requestID, u.driverID = s.GetRequestId(), s.GetDriverId()
	u.startedAt = s.GetStartedAt().AsTime()
	if s.GetPriceEurPerKwh() > 0 {
		u.price = s.GetPriceEurPerKwh()
	}
	if s.GetKw() > 0 {
		u.kw = s.GetKw()
	}
}

// noteReading records a reading of a supply Central does not run: adopted
// when the engine confirms it (reports true), noted otherwise.
func (c *Central) noteReading(ctx actor.Context, cp *cpEntry, t *messages.Telemetry) bool {
	sid := t.GetSessionId()
	if cp.engineRuns(sid) {
		c.adopt(ctx, cp, sid, "", t.GetDriverId(), time.Time{})
		return cp.session != nil && cp.session.SessionID == sid
	}
	u, ok := c.unconfirmed(cp, sid)
	if !ok {
		return false
	}
	if t.GetSeq() != 0 && t.GetAt().AsTime().Before(u.lastAt) {
		return false // an older reading than the one kept
	}
	u.driverID = t.GetDriverId()
	u.kwh, u.eur, u.lastAt = t.GetKwh(), t.GetEur(), t.GetAt().AsTime()
	if t.GetKw() > 0 {
		u.kw = t.GetKw()
	}
	if t.GetKwh() > 0 {
		u.price = t.GetEur() / t.GetKwh()
	}
	return false
}

// forgetUnconfirmed drops the note of a supply once it is adopted or ended.
func (cp *cpEntry) forgetUnconfirmed(sid string) {
	delete(cp.unconfirmed, sid)
}

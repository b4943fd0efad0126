package central

import (
	"time"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/messages"
)

// A supply that Central ends because its charge point can no longer be
// trusted (FAULT, monitor lost) ends when Central says so, as its driver was
// told: an engine that hung and reports its own end later (e.g. "completed",
// with the energy of the time it was frozen) is cut back to that moment, with
// the energy measured until then and Central's reason.

// maxCutOffs bounds the supplies remembered as cut off whose end has not come.
const maxCutOffs = 10000

// cutOffEnd is how Central ended a supply.
type cutOffEnd struct {
	at       time.Time
	kwh, eur float64
	reason   messages.EndReason
}

// cutSupply remembers that the charge point's running supply ends now, for reason.
func (c *Central) cutSupply(cp *cpEntry, reason messages.EndReason) {
	s := cp.session
	if s == nil || len(c.cutOffs) >= maxCutOffs {
		return
	}
	if _, done := c.cutOffs[s.SessionID]; done {
		return // the first reason stands (e.g. FAULT, then DISCONNECTED)
	}
	c.cutOffs[s.SessionID] = cutOffEnd{at: c.cfg.Now(), kwh: s.KWh, eur: s.EUR, reason: reason}
}

// cutOff reports whether Central ended session sid itself: its later readings are stale.
func (c *Central) cutOff(sid string) bool {
	_, ok := c.cutOffs[sid]
	return ok
}

// applyCutOff returns the end to make the ticket from: the engine's own, or,
// when the engine ended the supply more than CutOffGrace after Central did
// (it was not running then), the supply as of Central's end.
func (c *Central) applyCutOff(e *messages.SupplyEnded) *messages.SupplyEnded {
	cut, ok := c.cutOffs[e.GetSessionId()]
	if !ok {
		return e
	}
	delete(c.cutOffs, e.GetSessionId())
	if !e.GetEndedAt().AsTime().After(cut.at.Add(c.cfg.CutOffGrace)) {
		return e // the engine ended it first, or at once when told: its own figures stand
	}
	out := proto.Clone(e).(*messages.SupplyEnded)
	out.EndedAt, out.Reason = timestamppb.New(cut.at), cut.reason
	if cut.kwh < out.GetKwh() {
		out.Kwh, out.Eur = cut.kwh, cut.eur
		if p := out.GetPriceEurPerKwh(); p > 0 {
			out.Eur = cut.kwh * p
		}
	}
	c.log.WithFields(logrus.Fields{"cp_id": e.GetCpId(), "driver_id": e.GetDriverId(), "session_id": e.GetSessionId()}).
		Infof("The engine of %s reported the end of %s's supply %v after Central ended it: the ticket stands as of then (%.2f kWh, %s)",
			e.GetCpId(), e.GetDriverId(), e.GetEndedAt().AsTime().Sub(cut.at).Round(time.Millisecond), out.GetKwh(), chargepoint.EndReasonText(cut.reason))
	return out
}

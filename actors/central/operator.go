package central

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/messages"
)

// Operator orders: stop, resume, knock out.

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
	if err := c.storeStopped(cpID, cps, stopped); err != nil {
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
		} else if cp.weather != "" { // a weather alert holds it still
			c.log.WithField("cp_id", id).Infof("%s: the operator's stop is lifted; still STOPPED (%s)", id, cp.weather)
			c.event(EventResumed, id, "", fmt.Sprintf("%s: the operator's stop is lifted; still STOPPED (%s)", id, cp.weather))
		} else {
			c.command(ctx, id, &messages.Command{Kind: &messages.Command_Resume{Resume: &messages.ResumeChargePoint{}}})
			c.log.WithField("cp_id", id).Infof("%s resumed by the operator", id)
			c.event(EventResumed, id, "", fmt.Sprintf("%s resumed by the operator", id))
		}
		c.update(ctx, cp)
		c.shareChargePoint(ctx, cp)
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

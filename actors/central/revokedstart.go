package central

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/messages"
)

// A start in progress when its charge point's keys are revoked may already
// run on its engine: its START went out under the revoked key, and an
// engine reads it until it hears of the revocation (a held start's engine,
// cut off with its monitor, hears of it last). Its start and readings no
// longer open at Central. Denying the request at once would answer it
// twice when the engine's end comes, sealed with a new key; ticketing it at
// once would bill a supply that perhaps never ran. So the start stays
// pending until its START expires, and the engine's own word decides:
//   - its end comes (an engine ends its supply when it hears of the
//     revocation; the end goes out once it holds a new key): the request
//     is accepted and ticketed from it, as any start the end overtook;
//   - none has come when the START expires, though the engine holds a key
//     issued after the revocation (its held records went out with it): it
//     never ran the START (the engine no longer opens it), so the request
//     is denied;
//   - none has come and the engine has no new key yet: nobody can know, so
//     it ends as a running supply ends at a revocation (endForRevocation):
//     accepted and ticketed for what Central measured; the engine's own
//     end, if one comes later, is a duplicate.

// holdStartAtRevocation keeps the start in progress of a charge point whose
// keys were just revoked until its START expires (revokedStartExpired), and
// tells the engine to stop it (sent once it has a new key, in case it never
// heard of the revocation).
func (c *Central) holdStartAtRevocation(ctx actor.Context, cp *cpEntry) {
	p := cp.pending
	p.revoked = true
	c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_StopSupply{
		StopSupply: &messages.StopSupply{SessionId: p.sessionID, Reason: messages.EndReason_END_REASON_STOPPED_BY_CENTRAL}}})
	c.notice(ctx, p.driverID, cp.reg.ID, p.sessionID, fmt.Sprintf(
		"%s is REVOKED while starting your supply; you are told whether it ran (with its ticket) or not within %v", cp.reg.ID, c.cfg.StartTimeout))
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": p.driverID, "session_id": p.sessionID}).
		Infof("%s was starting a supply for %s when its keys were revoked: its engine may run it unseen, so %s is answered when the engine reports it or its START expires",
			cp.reg.ID, p.driverID, p.driverID)
}

// revokedStartExpired answers a start held since its charge point's keys
// were revoked, whose START expired with no word from the engine.
func (c *Central) revokedStartExpired(ctx actor.Context, cp *cpEntry) {
	id := cp.reg.ID
	if _, rekeyed := c.cfg.Keys.Current(id); rekeyed && !cp.seal.revoked {
		c.abortStart(ctx, cp, messages.DenyReason_DENY_REASON_DISCONNECTED,
			fmt.Sprintf("%s's keys were revoked before its engine started the supply", id), messages.EndReason_END_REASON_STOPPED_BY_CENTRAL)
		return
	}
	p := c.acceptPending(ctx, cp, c.cfg.Now(), cp.reg.KW)
	c.log.WithFields(logrus.Fields{"cp_id": id, "driver_id": p.driverID, "session_id": p.sessionID}).
		Infof("%s's engine has no new key yet and did not report the supply it may run for %s: it ends now with a ticket, as a running supply does at a revocation", id, p.driverID)
	c.endForRevocation(ctx, cp)
}

package central

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// A start in progress when its charge point's keys are revoked may already
// run on its engine: its START went out under the revoked key, and an
// engine reads it until it hears of the revocation (a held start's engine,
// cut off with its monitor, hears of it last). Its start, readings and end
// no longer open at Central. Denying the request would answer it twice
// once the engine's end comes, sealed with a new key. So the revocation
// resolves it as it resolves a running supply (endForRevocation): the
// request is accepted and the supply ends at once, ticketed for what
// Central measured; the engine's own end, if one comes, is a duplicate.

// takeStartAtRevocation makes the start in progress of a charge point
// whose keys were just revoked its running supply, for endForRevocation to
// end, and tells its engine to stop it (sent once the engine has a new key,
// in case it never heard of the revocation).
func (c *Central) takeStartAtRevocation(ctx actor.Context, cp *cpEntry) {
	p := cp.pending
	p.cancel()
	cp.pending = nil
	cp.session = &SessionView{SessionID: p.sessionID, DriverID: p.driverID, KW: cp.reg.KW, StartedAt: c.cfg.Now()}
	cp.request = p.requestID
	cp.released = false
	c.publish(ctx, bridge.TopicDriverUpdates, p.driverID, &messages.ChargeAccepted{
		RequestId: p.requestID, DriverId: p.driverID, CpId: cp.reg.ID, SessionId: p.sessionID})
	c.command(ctx, cp.reg.ID, &messages.Command{Kind: &messages.Command_StopSupply{
		StopSupply: &messages.StopSupply{SessionId: p.sessionID, Reason: messages.EndReason_END_REASON_STOPPED_BY_CENTRAL}}})
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": p.driverID, "session_id": p.sessionID}).
		Infof("%s was starting a supply for %s when its keys were revoked: its engine may run it unseen, so it ends now with a ticket, as a running supply does",
			cp.reg.ID, p.driverID)
}

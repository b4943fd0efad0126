package central

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/messages"
)

// A start in progress when its charge point goes DISCONNECTED is not denied
// at once: its START_SUPPLY is still valid (until StartTimeout after it was
// sent), and an engine cut off only from Central (a network partition) may
// still read it and start. Denying it then would answer the request twice
// (denied, then supplied). So the start stays pending, the driver stays
// busy, and the request gets exactly one answer: the supply when the engine
// starts in time, or a denial once the START has expired unstarted.

// holdStart keeps the start in progress of a charge point that went
// DISCONNECTED until its START expires (startTimedOut).
func (c *Central) holdStart(ctx actor.Context, cp *cpEntry) {
	p := cp.pending
	p.held = true
	c.log.WithFields(logrus.Fields{"cp_id": cp.reg.ID, "driver_id": p.driverID, "session_id": p.sessionID}).
		Infof("%s DISCONNECTED while starting a supply for %s: its START stays valid for up to %v, so %s is answered when it starts or expires",
			cp.reg.ID, p.driverID, c.cfg.StartTimeout, p.driverID)
	// The driver waits longer than usual for the answer: say why, so that
	// it does not take Central for gone (its reply timeout starts again).
	c.notice(ctx, p.driverID, cp.reg.ID, "", fmt.Sprintf(
		"%s lost contact with Central while starting your supply; you get an answer when it starts or within %v", cp.reg.ID, c.cfg.StartTimeout))
}

// heldStartExpired denies the held start of a charge point still
// DISCONNECTED: its START has expired, no engine can carry it out now.
func (c *Central) heldStartExpired(ctx actor.Context, cp *cpEntry) {
	c.abortStart(ctx, cp, messages.DenyReason_DENY_REASON_DISCONNECTED,
		fmt.Sprintf("%s disconnected: the supply did not start in time", cp.reg.ID), messages.EndReason_END_REASON_MONITOR_LOST)
}

// endIfDisconnected ends at once a supply just confirmed on a charge point
// whose monitor is still silent: no supply runs where Central cannot watch
// it (rules: monitor dead, the running supply ends), with a ticket for what
// was delivered.
func (c *Central) endIfDisconnected(ctx actor.Context, cp *cpEntry) {
	if cp.alive || cp.session == nil {
		return
	}
	c.interrupt(ctx, cp, messages.EndReason_END_REASON_MONITOR_LOST, messages.DenyReason_DENY_REASON_DISCONNECTED,
		fmt.Sprintf("%s lost contact with Central; your supply ends now and you get a ticket for what was delivered", cp.reg.ID))
}

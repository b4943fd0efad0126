package main

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/internal/web"
)

// startDriverDesk starts the desk that the web driver app acts through,
// reading the driver topics in group, and hands it to the web server. The
// returned func stops it; call it before the bridge stops.
func (n *node) startDriverDesk(bridgePID *actor.PID, group string, slot *web.DriverSlot) (stop func()) {
	desk, err := driverdesk.Start(n.system, driverdesk.Config{Bridge: bridgePID, Group: group, Logger: n.logger})
	if err != nil {
		n.log.Warnf("The driver app cannot act for drivers: %v", err)
		return func() {}
	}
	slot.Set(desk)
	return desk.Stop
}

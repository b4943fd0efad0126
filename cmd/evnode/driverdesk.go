package main

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/internal/web"
)

// startDriverDesk starts the desk that the web driver app acts through
// (cfg with the bridge and logger filled in) and hands it to the web
// server. The returned func stops it; call it before the bridge stops.
func (n *node) startDriverDesk(bridgePID *actor.PID, cfg driverdesk.Config, slot *web.DriverSlot) (stop func()) {
	cfg.Bridge, cfg.Logger = bridgePID, n.logger
	desk, err := driverdesk.Start(n.system, cfg)
	if err != nil {
		n.log.Warnf("The driver app cannot act for drivers: %v", err)
		return func() {}
	}
	slot.Set(desk)
	return desk.Stop
}

package main

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/internal/web"
)

// startDriverDesk starts the desk that the web driver app acts through,
// once the bridge is ready, and hands it to the web server. The returned
// func stops it; call it before the bridge stops.
func (r *runner) startDriverDesk(system *actor.ActorSystem, bridgePID *actor.PID, slot *web.DriverSlot) (stop func()) {
	desk, err := driverdesk.Start(system, driverdesk.Config{Bridge: bridgePID, Logger: r.logger,
		ReplyTimeout: r.cfg.WebApp.DriverReplyTimeout, MaxDrivers: r.cfg.WebApp.DriverMax})
	if err != nil {
		r.log.Warnf("The driver app cannot act for drivers: %v", err)
		return func() {}
	}
	slot.Set(desk)
	return desk.Stop
}

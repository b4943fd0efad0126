package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/messages"
)

// runEngine is `evnode engine`: one charge point's engine, reachable by its
// monitor at --advertise under the name "engine", taking Central's commands
// from Kafka. Its journal file outlives a kill -9: the restarted engine
// reports the supply it interrupted, so the driver still gets a ticket.
func runEngine(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseEngine(args, getenv)
	if err != nil {
		return usageExit("engine", err, stderr)
	}
	n, err := newNode("Engine "+c.CP, c.Log, stderr)
	if err != nil {
		return usageExit("engine", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	var journal chargepoint.Journal = chargepoint.NewMemoryJournal()
	if c.Journal != config.MemoryState {
		fj := chargepoint.FileJournal{Path: c.Journal}
		// Read it now: a journal that cannot be read is a failure to report
		// before anything starts, not a silently lost supply.
		if _, err := fj.Load(); err != nil {
			n.log.Errorf("Cannot read the engine journal: %v", err)
			return 1
		}
		// One writer for the engine and FlushJournal: their records land in order.
		journal = chargepoint.WriteBehind(fj, n.logger, c.CP)
	}
	if err := n.startRemote(c.Remote); err != nil {
		n.log.Errorf("%v", err)
		return 1
	}
	defer n.killRemote()
	// The monitor's health checks are answered from now on: "waiting for
	// Kafka" until the bridge is ready (not a fault), then by the engine.
	if err := n.openDoor(engineName, func(msg any) any {
		if hc, ok := msg.(*messages.HealthCheck); ok {
			return chargepoint.WaitingAnswer(c.CP, hc, chargepoint.WaitingForKafka)
		}
		return nil
	}); err != nil {
		n.log.Errorf("%v", err)
		return 1
	}

	keys := n.useKeys(c.Encryption)
	bridgePID, code, ok := n.gate(ctx, c.Kafka, "evnode-engine-"+c.CP, nil)
	if !ok {
		return code
	}
	props, err := chargepoint.Props(chargepoint.Config{
		CPID: c.CP, KW: c.KW, PriceEURPerKWh: c.Price, TelemetryInterval: c.TelemetryInterval,
		SupplyDuration: c.SupplyDuration, TimeScale: c.TimeScale, Bridge: bridgePID, Group: c.Group, Journal: journal, Keys: keys,
		Logger: n.logger, Stats: n.stats,
	})
	if err != nil {
		n.log.Errorf("Cannot configure the engine: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	child := supervision.Child{Name: engineName, Display: "Engine " + c.CP, Props: props,
		// Failed beyond its budget: close the supply it was running from the
		// journal (the driver gets a ticket) before the process exits 1.
		OnGiveUp: func(ctx actor.Context, _ *actor.PID, _ any) {
			end, err := chargepoint.FlushJournal(ctx, journal, c.CP, bridgePID)
			switch {
			case err != nil:
				n.log.WithError(err).Warnf("Could not close the supply of the failed engine of %s", c.CP)
			case end != nil:
				n.log.WithField("session_id", end.GetSessionId()).Infof("Closed the supply the failed engine of %s was running: %.2f kWh for %s",
					c.CP, end.GetKwh(), end.GetDriverId())
			}
		},
	}
	engine, err := n.spawnRole(child, engineName)
	if err != nil {
		n.log.Errorf("Cannot start the engine: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	n.log.Infof("Engine of %s is reachable at %s as %q", c.CP, c.Remote.Advertise, engineName)

	code = n.wait(ctx)
	// A running supply ends now (reason SHUTDOWN) so that its driver gets a
	// ticket; then the engine stops, the bridge flushes, the remote closes.
	if _, err := n.system.Root.RequestFuture(engine, &chargepoint.Shutdown{}, 5*time.Second).Result(); err != nil {
		n.log.Debugf("The engine did not confirm its shutdown: %v", err)
	}
	n.stopRole(engineName)
	n.stopBridge(bridgePID)
	n.stopRemote()
	n.log.Infof("Engine of %s stopped", c.CP)
	return code
}

package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/registry/httpapi"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/config"
)

// runMonitor is `evnode monitor`: it registers its charge point with Central
// (--central) and checks its engine (--engine) over the actor remote. It
// uses no Kafka. Answers come back to it at --advertise.
func runMonitor(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseMonitor(args, getenv)
	if err != nil {
		return usageExit("monitor", err, stderr)
	}
	n, err := newNode("Monitor "+c.CP, c.Log, stderr)
	if err != nil {
		return usageExit("monitor", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	if err := n.startRemote(c.Remote); err != nil {
		n.log.Errorf("%v", err)
		return 1
	}
	defer n.killRemote()
	var tokens monitor.TokenSource
	if c.Registry.URL != "" {
		client, err := httpapi.NewClient(c.Registry.URL, c.Registry.CA)
		if err != nil {
			n.log.Errorf("%v", err)
			return 1
		}
		tokens = func(ctx context.Context) (string, time.Time, error) {
			credential, err := c.Registry.ReadCredential()
			if err != nil {
				return "", time.Time{}, err
			}
			return client.Token(ctx, c.CP, credential)
		}
	}
	first, others := centralPIDs(c.Central)
	props, err := monitor.Props(monitor.Config{
		CPID: c.CP, Location: c.Location, PriceEURPerKWh: c.Price, KW: c.KW, Secret: c.Secret, Token: tokens,
		Engine: actor.NewPID(c.Engine, engineName), Central: first, OtherCentrals: others,
		HealthInterval: c.HealthInterval, HealthTimeout: c.HealthTimeout, CentralTimeout: c.CentralTimeout,
		StartGrace: c.EngineGrace, Address: c.Remote.Advertise, Stall: n.stall, Logger: n.logger, Stats: n.stats,
	})
	if err != nil {
		n.log.Errorf("Cannot configure the monitor: %v", err)
		return 1
	}
	if _, err := n.spawnRole(supervision.Child{Name: "monitor", Display: "Monitor " + c.CP, Props: props}, ""); err != nil {
		n.log.Errorf("Cannot start the monitor: %v", err)
		return 1
	}
	if c.Registry.URL != "" {
		n.log.Infof("Monitor of %s watching the engine at %s, registering with Central at %s with tokens from the Registry at %s", c.CP, c.Engine, c.Central, c.Registry.URL)
	} else {
		n.log.Infof("Monitor of %s watching the engine at %s, registering with Central at %s", c.CP, c.Engine, c.Central)
	}

	code := n.wait(ctx)
	n.stopRole("")
	n.stopRemote()
	n.log.Infof("Monitor of %s stopped", c.CP)
	return code
}

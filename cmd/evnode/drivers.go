package main

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/sim"
)

// runDrivers is `evnode drivers`: many drivers in one process, each the
// driver actor of `evnode driver` under one supervisor, sharing one Kafka
// bridge (one consumer group for them all; the bridge routes by driver id).
func runDrivers(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseDrivers(args, getenv)
	if err != nil {
		return usageExit("drivers", err, stderr)
	}
	plan, err := driversPlan(c)
	if err != nil {
		return usageExit("drivers", err, stderr)
	}
	n, err := newNode("Drivers", c.Log, stderr)
	if err != nil {
		return usageExit("drivers", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	if c.ProgressDir != config.MemoryState {
		if err := os.MkdirAll(c.ProgressDir, 0o755); err != nil {
			n.log.Errorf("Cannot create the drivers' progress folder: %v", err)
			return 1
		}
	}
	bridgePID, code, ok := n.gate(ctx, c.Kafka, "evnode-"+c.Group, nil)
	if !ok {
		return code
	}
	ids := make([]string, 0, c.Count)
	children := make([]supervision.Child, 0, c.Count)
	for i := c.First; i < c.First+c.Count; i++ {
		id := c.ID(i)
		var progress driver.Progress = &driver.MemoryProgress{}
		if c.ProgressDir != config.MemoryState {
			progress = fileProgress{path: filepath.Join(c.ProgressDir, id+".json")}
		}
		props, err := driver.Props(driver.Config{
			ID: id, Requests: plan[id], Pause: c.Pause, ReplyTimeout: c.ReplyTimeout,
			Bridge: bridgePID, Group: c.Group, Progress: progress, StartDelay: c.StartDelay, Logger: n.logger,
		})
		if err != nil {
			n.log.Errorf("Cannot configure driver %s: %v", id, err)
			n.stopBridge(bridgePID)
			return 1
		}
		ids = append(ids, id)
		children = append(children, supervision.Child{Name: id, Display: "Driver " + id, Props: props, IDKey: "driver_id", ID: id})
	}
	// The drivers' records are held until each subscribes; other keys are skipped.
	for _, t := range []string{bridge.TopicDriverUpdates, bridge.TopicTickets} {
		n.system.Root.Send(bridgePID, &bridge.ExpectKeys{Topic: t, Group: c.Group, Keys: ids})
	}
	props, err := supervision.Props(supervision.Config{Display: "Drivers", Logger: n.logger, Stats: n.stats, Children: children})
	if err == nil {
		_, err = n.spawnRole(supervision.Child{Name: "drivers", Display: "Drivers", Props: props}, "")
	}
	if err != nil {
		n.log.Errorf("Cannot start the drivers: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	n.log.Infof("Drivers node runs %d drivers, %s to %s", c.Count, ids[0], ids[len(ids)-1])

	code = n.wait(ctx)
	n.stopRole("")
	n.stopBridge(bridgePID)
	n.log.Infof("Drivers node stopped (%d drivers)", c.Count)
	return code
}

// driversPlan gives each driver its requests: from --requests when it names
// the driver (or is one file for all), else drawn from the charge point
// range with a generator seeded by --seed and the driver's number, so the
// same flags give the same requests.
func driversPlan(c *config.Drivers) (map[string][]string, error) {
	var src *sim.RequestSource
	if c.Requests != "" {
		var err error
		if src, err = sim.LoadRequests(c.Requests); err != nil {
			return nil, err
		}
	}
	plan := make(map[string][]string, c.Count)
	for i := c.First; i < c.First+c.Count; i++ {
		id := c.ID(i)
		if src != nil {
			if reqs := src.For(id); reqs != nil {
				plan[id] = reqs
				continue
			}
		}
		rng := rand.New(rand.NewPCG(uint64(c.Seed), uint64(i)))
		reqs := make([]string, c.PerDriver)
		for j := range reqs {
			reqs[j] = c.CPID(c.CPFirst + rng.IntN(c.CPCount))
		}
		plan[id] = reqs
	}
	return plan, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/internal/config"
)

// runDriver is `evnode driver`: one driver making the requests of its file
// through Kafka. Its progress file outlives a kill -9: the restarted driver
// waits for the result of the request it had under way (the ticket waits in
// Kafka, whose offsets are committed only after a record is handled). The
// progress belongs to the requests it counts through: with another requests
// file the driver starts afresh.
func runDriver(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseDriver(args, getenv)
	if err != nil {
		return usageExit("driver", err, stderr)
	}
	// The requests file is the user's: a bad one is a usage error.
	requests, err := driver.ReadRequestsFile(c.Requests)
	if err != nil {
		return usageExit("driver", config.Usagef("requests", "%v", err), stderr)
	}
	n, err := newNode("Driver "+c.ID, c.Log, stderr)
	if err != nil {
		return usageExit("driver", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	var progress driver.Progress = &driver.MemoryProgress{}
	if c.Progress != config.MemoryState {
		fp := fileProgress{path: c.Progress}
		if _, err := fp.Load(); err != nil {
			n.log.Errorf("Cannot read the driver's progress: %v", err)
			return 1
		}
		progress = fp
	}
	bridgePID, code, ok := n.gate(ctx, c.Kafka, "evnode-driver-"+c.ID, nil)
	if !ok {
		return code
	}
	props, err := driver.Props(driver.Config{
		ID: c.ID, Requests: requests, Pause: c.Pause, ReplyTimeout: c.ReplyTimeout,
		Bridge: bridgePID, Group: c.Group, Progress: progress, StartDelay: c.StartDelay, Logger: n.logger,
	})
	if err != nil {
		n.log.Errorf("Cannot configure the driver: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	if _, err := n.spawnRole(supervision.Child{Name: "driver", Display: "Driver " + c.ID, Props: props}, ""); err != nil {
		n.log.Errorf("Cannot start the driver: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}

	code = n.wait(ctx)
	n.stopRole("")
	n.stopBridge(bridgePID)
	n.log.Infof("Driver %s stopped", c.ID)
	return code
}

// fileProgress keeps a driver's position in a file, replaced atomically on
// each save, so that it survives a kill -9 of the process.
type fileProgress struct{ path string }

// String names the file in the driver's log lines ("progress in PATH").
func (p fileProgress) String() string { return p.path }

// Load implements driver.Progress.
func (p fileProgress) Load() (driver.Position, error) {
	var pos driver.Position
	b, err := os.ReadFile(p.path)
	if errors.Is(err, os.ErrNotExist) {
		return pos, nil
	}
	if err != nil {
		return pos, fmt.Errorf("read %s: %w", p.path, err)
	}
	if err := json.Unmarshal(b, &pos); err != nil {
		return driver.Position{}, fmt.Errorf("read %s: %w", p.path, err)
	}
	return pos, nil
}

// Save implements driver.Progress.
func (p fileProgress) Save(pos driver.Position) error {
	b, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	tmp := p.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p.path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p.path, err)
	}
	return nil
}

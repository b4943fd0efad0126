package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/registry/httpapi"
	"github.com/evcharging/evsim/internal/config"
)

// runSite is `evnode site`: a range of charge points in one process, each an
// engine and a monitor under its own supervisor as in evsim (actors/network
// without Central), with one actor remote for all the monitors and one Kafka
// bridge for all the engines. Central is in another process (--central).
func runSite(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseSite(args, getenv)
	if err != nil {
		return usageExit("site", err, stderr)
	}
	n, err := newNode("Site", c.Log, stderr)
	if err != nil {
		return usageExit("site", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	cps, key, err := siteChargePoints(c)
	if err != nil {
		n.log.Errorf("%v", err)
		return 1
	}
	journals := ""
	if c.JournalDir != config.MemoryState {
		if err := os.MkdirAll(c.JournalDir, 0o755); err != nil {
			n.log.Errorf("Cannot create the engines' journal folder: %v", err)
			return 1
		}
		journals = c.JournalDir
	}
	if err := n.startRemote(c.Remote); err != nil {
		n.log.Errorf("%v", err)
		return 1
	}
	defer n.killRemote()
	keys := n.useKeys(c.Encryption)
	bridgePID, code, ok := n.gate(ctx, c.Kafka, "evnode-"+c.Group, nil)
	if !ok {
		return code
	}
	first, others := centralPIDs(c.Central)
	nw, err := network.Start(n.system, network.Config{
		Bridge: bridgePID, Name: config.SiteRootName, ChargePoints: cps, SiteKey: key,
		RemoteCentral: first, OtherCentrals: others, MonitorAddress: c.Remote.Advertise,
		EngineGroup: c.Group, DriverGroup: c.Group + "-drivers", JournalDir: journals, Keys: keys,
		TelemetryInterval: c.TelemetryInterval, SupplyDuration: c.SupplyDuration, TimeScale: c.TimeScale,
		HealthInterval: c.HealthInterval, HealthTimeout: c.HealthTimeout, LivenessTimeout: 3 * c.HealthInterval,
		Stall: n.stall, Logger: n.logger, Stats: n.stats,
	})
	if err != nil {
		n.log.Errorf("Cannot start the charge points: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	n.log.Infof("Site node hosts %d charge points, %s to %s, reachable at %s; registering with Central at %s",
		c.Count, c.ID(c.First), c.ID(c.First+c.Count-1), c.Remote.Advertise, c.Central)

	code = n.wait(ctx)
	// Every running supply ends now (reason SHUTDOWN); the bridge then
	// flushes the supply ends for Central to ticket, and the remote closes.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := nw.Shutdown(sctx); err != nil {
		n.log.Warnf("The charge points did not all stop cleanly: %v", err)
	}
	n.stopBridge(bridgePID)
	n.stopRemote()
	n.log.Infof("Site node stopped (%d charge points)", c.Count)
	return code
}

// siteChargePoints describes the node's charge points for the network, and
// returns the key that derives their secrets (open mode), or gives each a
// token source (with a Registry).
func siteChargePoints(c *config.Site) ([]network.ChargePoint, []byte, error) {
	list := c.ChargePoints()
	cps := make([]network.ChargePoint, len(list))
	for i, cp := range list {
		cps[i] = network.ChargePoint{ID: cp.ID, Location: cp.Location, KW: cp.KW, Price: cp.Price}
	}
	if c.Registry == "" {
		key, err := loadSiteKey(c.KeyFile)
		return cps, key, err
	}
	client, err := httpapi.NewClient(c.Registry, c.RegistryCA)
	if err != nil {
		return nil, nil, err
	}
	for i := range cps {
		id, cred := cps[i].ID, c.Credential(cps[i].ID)
		cps[i].Token = monitor.TokenSource(func(ctx context.Context) (string, time.Time, error) {
			return client.Token(ctx, id, cred)
		})
	}
	// No secret is presented with tokens; the key only fills the field.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return cps, key, nil
}

// loadSiteKey reads the node's key, or creates it (0600) on the first start.
func loadSiteKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) < 16 {
			return nil, fmt.Errorf("the site key in %s is not 16 or more bytes in hex (--key-file)", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the site key (--key-file): %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create the site key (--key-file): %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("create the site key (--key-file): %w", err)
	}
	return key, nil
}

// siteEngineName is the actor name of a charge point's engine in a site
// node (actors/network's tree under config.SiteRootName).
func siteEngineName(cpID string) string { return config.SiteRootName + "/cp-" + cpID + "/engine" }

package main

import (
	"context"
	"crypto/ed25519"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/internal/web"
)

// runCentral is `evnode central`: Central's actor (registry, authorisation,
// tickets, panel) reachable by monitors at --advertise under the name
// "central", its bridge to Kafka, and the web panel when --http is given.
func runCentral(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseCentral(args, getenv)
	if err != nil {
		return usageExit("central", err, stderr)
	}
	n, err := newNode("Central", c.Log, stderr)
	if err != nil {
		return usageExit("central", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	st, err := store.Open(c.DB)
	if err != nil {
		n.log.Errorf("Cannot open Central's database: %v", err)
		return 1
	}
	defer st.Close()
	if err := provision(ctx, st, c); err != nil {
		n.log.Errorf("Cannot record the pre-provisioned charge points: %v", err)
		return 1
	}

	// The remote and the web panel start before Kafka is ready: a port that
	// is taken is found at once, and /healthz answers (/readyz says 503)
	// while the bridge waits.
	if err := n.startRemote(c.Remote); err != nil {
		n.log.Errorf("%v", err)
		return 1
	}
	defer n.killRemote()
	// Monitors hear "Central is waiting for Kafka" until Central starts,
	// instead of silence that reads as "cannot reach Central".
	if err := n.openDoor(centralName, func(msg any) any { return central.WaitingAnswer(msg, "Central is waiting for Kafka") }); err != nil {
		n.log.Errorf("%v", err)
		return 1
	}
	panel := central.NewPanel(n.system.Root, n.system.NewLocalPID(rootName+"/"+centralName))
	auditSlot := &web.AuditSlot{}
	var auditLog *audit.Log
	if c.Auth.AuditLog != "" {
		if auditLog, err = openAuditLog(c.Auth.AuditLog); err != nil {
			n.log.Errorf("Cannot open Central's audit log %s: %v", c.Auth.AuditLog, err)
			return 1
		}
		defer auditLog.Close()
		auditSlot.Set(auditLog)
	}
	status := &web.BridgeStatus{}
	drivers := &web.DriverSlot{}
	var server *web.Server
	if c.HTTP != "" {
		server, err = web.New(web.Options{
			Addr: c.HTTP, Panel: panel, Bridge: status, Run: n.stats,
			OperatorToken: c.OperatorToken, Logger: n.logger, Audit: auditSlot,
			MaxStreamClients: c.HTTPMaxStreams, StreamQueue: c.HTTPStreamQueue,
			Drivers: drivers, Tickets: st, SeriesInterval: c.WebApp.SeriesInterval, SeriesPoints: c.WebApp.SeriesPoints, MemberTimeout: c.WebApp.MemberTimeout,
		})
		if err == nil {
			err = server.Start()
		}
		if err != nil {
			n.log.Errorf("Cannot serve the web panel on %s: %v", c.HTTP, err)
			return 1
		}
		n.log.Infof("Web panel on http://%s/", server.Addr())
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			server.Shutdown(sctx)
		}()
	}

	keys, masterKey, err := n.centralKeys(c.Encryption, c.DB)
	if err != nil {
		n.log.Errorf("Cannot read the master key: %v", err)
		return 1
	}
	n.tuneBridge = func(b *bridge.Config) { b.GroupSessionTimeout, b.Partitions = c.GroupSessionTimeout, c.Partitions }
	bridgePID, code, ok := n.gate(ctx, c.Kafka, "evnode-central", status)
	if !ok {
		return code
	}
	var tokens *registry.VerifierOptions
	if c.Auth.Auth == config.AuthRegistry {
		tokens = &registry.VerifierOptions{}
		key, err := loadRegistryKey(ctx, c.Auth, n.log)
		if err != nil {
			n.stopBridge(bridgePID)
			if ctx.Err() != nil {
				return 0
			}
			n.log.Errorf("Cannot read the Registry's key: %v", err)
			return 1
		}
		if key != nil {
			tokens.TrustedKeys = []ed25519.PublicKey{key}
		}
		n.log.Info("Central accepts only charge points with the Registry's tokens (--auth registry)")
	}
	props, err := central.Props(central.Config{
		Tokens: tokens, Audit: auditLog, RegistryGrace: c.Auth.RegistryGrace, Keys: keys, MasterKey: masterKey,
		Store: st, Bridge: bridgePID, LivenessTimeout: c.LivenessTimeout, StartTimeout: c.StartTimeout, ForwardTimeout: c.ForwardTimeout,
		RequestTTL: c.RequestTTL, CommandTTL: c.CommandTTL, Group: c.Group, Shared: c.SharedGroup, Partitions: c.Partitions,
		Address: c.Remote.Advertise, HTTP: advertisedHTTP(server), ClosedRegistration: c.ClosedRegistration, Stall: n.stall, Logger: n.logger, Stats: n.stats,
	})
	if err != nil {
		n.log.Errorf("Cannot configure Central: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	if _, err := n.spawnRole(supervision.Child{Name: centralName, Display: "Central", Props: props}, centralName); err != nil {
		n.log.Errorf("Cannot start Central: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	n.log.Infof("Central is reachable at %s as %q", c.Remote.Advertise, centralName)
	stopDesk := func() {}
	if server != nil {
		stopDesk = n.startDriverDesk(bridgePID, driverdesk.Config{Group: c.Group + ".web-drivers",
			ReplyTimeout: c.WebApp.DriverReplyTimeout, MaxDrivers: c.WebApp.DriverMax}, drivers)
	}

	code = n.wait(ctx)
	stopDesk()
	// Central first (it unsubscribes), then the bridge flushes what Central
	// sent, then the remote; the web panel and the store close last (defers).
	n.stopRole(centralName)
	n.stopBridge(bridgePID)
	n.stopRemote()
	n.log.Info("Central stopped")
	return code
}

// provision writes the charge points of --cp-secrets into the registry: a
// new one is added with its secret, a known one gets the listed secret (the
// operator's list is authoritative); location, price and kW come with the
// monitor's registration.
func provision(ctx context.Context, st *store.Store, c *config.Central) error {
	if len(c.CPSecrets) == 0 {
		return nil
	}
	known, err := st.ChargePoints(ctx)
	if err != nil {
		return err
	}
	byID := map[string]store.ChargePoint{}
	for _, cp := range known {
		byID[cp.ID] = cp
	}
	for _, id := range c.SecretIDs() {
		secret := c.CPSecrets[id]
		cp, ok := byID[id]
		if ok && store.CheckSecret(cp.SecretHash, secret) {
			continue
		}
		if !ok {
			cp = store.ChargePoint{ID: id, Location: "Site " + id, PriceEURPerKWh: 0.30, KW: 22, RegisteredAt: time.Now()}
		}
		if cp.SecretHash, err = store.HashSecret(secret); err != nil {
			return err
		}
		if err := st.SaveChargePoint(ctx, cp); err != nil {
			return err
		}
	}
	return nil
}

// openAuditLog opens Central's audit log, creating its folder.
func openAuditLog(path string) (*audit.Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return audit.Open(path, audit.Options{Sync: true})
}

// advertisedHTTP is the web panel's address for the other Centrals of a
// shared group ("" without one).
func advertisedHTTP(s *web.Server) string {
	if s == nil {
		return ""
	}
	return s.Addr()
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/registry/httpapi"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
)

// runRegistry is `evnode registry`: the Registry's HTTPS API, its state in
// --data-dir, and its changes published to the compacted registry topic
// through the bridge. The API answers while the bridge waits for Kafka;
// the changes go out once Kafka is ready.
func runRegistry(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseRegistry(args, getenv)
	if err != nil {
		return usageExit("registry", err, stderr)
	}
	n, err := newNode("Registry", c.Log, stderr)
	if err != nil {
		return usageExit("registry", err, stderr)
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()
	log := logging.Component(n.logger, "Registry")

	bridgePID, err := bridge.Start(n.system, bridge.Config{
		Brokers: c.Kafka.Brokers, WaitAttempts: c.Kafka.WaitAttempts, WaitInterval: c.Kafka.WaitInterval, ClientID: "evnode-registry",
		Security: c.Kafka.Security.Bridge, TopicPrefix: c.Kafka.TopicPrefix,
	}, n.logger, n.stats)
	if err != nil {
		log.Errorf("Cannot start the Kafka bridge: %v", err)
		return 1
	}
	defer n.stopBridge(bridgePID)
	svc, err := httpapi.StartService(httpapi.ServiceOptions{
		Listen: c.Listen, DataDir: c.DataDir, AdminToken: c.AdminToken, TLSCert: c.TLSCert, TLSKey: c.TLSKey,
		TLSHosts: c.TLSHosts, AuditSync: c.AuditSync, Logger: log,
		Registry: registry.Options{
			TokenTTL: c.TokenTTL,
			Throttle: registry.ThrottleOptions{Limit: c.AuthFailureLimit, Window: c.AuthFailureWindow, Lockout: c.AuthLockout},
		},
		Publish: func(key string, msg proto.Message) {
			n.system.Root.Send(bridgePID, &bridge.Publish{Topic: bridge.TopicRegistry, Key: key, Msg: msg})
		},
	})
	if err != nil {
		log.Errorf("Cannot start the Registry: %v", err)
		return 1
	}
	defer svc.Close(nil)
	if c.PublicDir != "" {
		if err := httpapi.WritePublic(c.PublicDir, svc.Certificate, svc.Registry.PublicKey()); err != nil {
			log.Errorf("Cannot write the Registry's public parts: %v", err)
			return 1
		}
		log.Infof("Wrote the Registry's certificate and public key to %s", c.PublicDir)
	}

	ready := make(chan error, 1)
	go func() { ready <- bridge.AwaitReady(ctx, n.system, bridgePID) }()
	for {
		select {
		case err := <-ready:
			if err != nil && ctx.Err() == nil {
				return 1 // the bridge said why in its one ERROR line
			}
			ready = nil
		case err := <-svc.Server.Done():
			if err != nil {
				log.Errorf("The Registry's API stopped: %v", err)
				return 1
			}
		case <-ctx.Done():
			log.Info("Signal received: shutting down")
			return 0
		}
	}
}

// runAudit is `evnode audit verify --file PATH`: walks an audit log's
// chain; exit 0 when it holds, 1 naming the first broken record.
func runAudit(args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		return usageExit("audit", config.Usagef("", "usage: evnode audit verify --file PATH"), stderr)
	}
	var path string
	fs := config.NewFlagSet("evnode audit verify")
	if getenv != nil {
		fs.Getenv = getenv
	}
	fs.String(&path, "file", "EVSIM_AUDIT_FILE", config.DefaultNodeDataDir+"/registry/"+httpapi.AuditFile, "the audit log to verify")
	if err := fs.Parse(args[1:]); err != nil {
		return usageExit("audit", err, stderr)
	}
	count, err := audit.VerifyFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "evnode audit verify: %s: %v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d records, chain intact\n", path, count)
	return 0
}

package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/registry/httpapi"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
)

// inProcessRegistry is the Registry a one-process run starts (--auth
// registry): its HTTPS API for the operator, its changes on the registry
// topic for Central, and the run's charge points registered through it.
type inProcessRegistry struct {
	svc     *httpapi.Service
	tempDir string
}

// startRegistry starts the Registry, registers cps through it (renewing
// the credentials of those it knows from an earlier run) and gives each
// charge point a TokenSource that exchanges its credential.
func (r *runner) startRegistry(c config.SimRegistry, kept onDisk, system *actor.ActorSystem, bridgePID *actor.PID, cps []network.ChargePoint) (*inProcessRegistry, error) {
	ir := &inProcessRegistry{}
	dir := c.DataDir
	if dir == "" {
		dir = kept.Registry
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "evsim-registry-")
		if err != nil {
			return nil, fmt.Errorf("a folder for the Registry: %w", err)
		}
		dir, ir.tempDir = tmp, tmp
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("the Registry's folder: %w", err)
	}
	admin, tokenFile, err := adminToken(c.AdminToken, dir)
	if err != nil {
		ir.close()
		return nil, err
	}
	log := logging.Component(r.logger, "Registry")
	ir.svc, err = httpapi.StartService(httpapi.ServiceOptions{
		Listen: c.Listen, DataDir: dir, AdminToken: admin, AuditSync: false, Logger: log,
		Registry: registry.Options{TokenTTL: c.TokenTTL, BcryptCost: c.BcryptCost},
		Publish: func(key string, msg proto.Message) {
			system.Root.Send(bridgePID, &bridge.Publish{Topic: bridge.TopicRegistry, Key: key, Msg: msg})
		},
	})
	if err != nil {
		ir.close()
		return nil, err
	}
	regs := make([]registry.Registration, len(cps))
	for i, cp := range cps {
		regs[i] = registry.Registration{ID: cp.ID, Location: cp.Location, PriceEURPerKWh: cp.Price, Rotate: true}
	}
	out, err := ir.svc.Registry.RegisterAll(registry.Caller{Who: "evsim", Source: "local"}, regs)
	if err != nil {
		ir.close()
		return nil, fmt.Errorf("register the charge points in the Registry: %w", err)
	}
	// Each charge point's first token comes with its registration: its
	// first exchange would only compare (bcrypt) the credential just made.
	first, err := ir.svc.Registry.FirstTokens(registry.Caller{Who: "evsim", Source: "local"}, out)
	if err != nil {
		ir.close()
		return nil, fmt.Errorf("sign the charge points' first tokens: %w", err)
	}
	for i := range cps {
		cps[i].Token = tokenSource(ir.svc.Registry, out[i].ID, out[i].Credential, first[i])
	}
	where := "admin token from --registry-admin-token"
	if tokenFile != "" {
		where = "admin token in " + tokenFile
	}
	r.log.Infof("Registered %d charge points through the Registry at https://%s/ (%s, certificate %s); Central accepts only its tokens (--auth open for the lab's open mode)",
		len(out), ir.svc.Server.Addr(), where, ir.svc.Certificate.CertFile)
	return ir, nil
}

// tokens is how Central verifies: offline, with the Registry's key pinned.
func (ir *inProcessRegistry) tokens() *registry.VerifierOptions {
	reg := ir.svc.Registry
	return &registry.VerifierOptions{TrustedKeys: []ed25519.PublicKey{reg.PublicKey()}, Initial: reg.Records}
}

func (ir *inProcessRegistry) close() {
	if ir == nil {
		return
	}
	if ir.svc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		ir.svc.Close(ctx)
		ir.svc = nil
	}
	if ir.tempDir != "" {
		_ = os.RemoveAll(ir.tempDir)
		ir.tempDir = ""
	}
}

// tokenSource answers first (once, if any) and then exchanges a charge
// point's credential with the Registry in this process (the same call the
// HTTPS API makes).
func tokenSource(reg *registry.Registry, id, credential string, first registry.Token) func(context.Context) (string, time.Time, error) {
	var unused atomic.Pointer[registry.Token]
	if first.Token != "" {
		unused.Store(&first)
	}
	return func(context.Context) (string, time.Time, error) {
		if t := unused.Swap(nil); t != nil && time.Until(t.ExpiresAt) > time.Minute {
			return t.Token, t.ExpiresAt, nil
		}
		t, err := reg.IssueToken(registry.Caller{Who: "cp:" + id, Source: "local"}, id, credential)
		return t.Token, t.ExpiresAt, err
	}
}

// adminToken is the given token, or the one kept in dir/admin-token
// (created, random, on first use); it answers the file when one is used.
func adminToken(given, dir string) (string, string, error) {
	if given != "" {
		return given, "", nil
	}
	path := filepath.Join(dir, "admin-token")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= config.MinAdminToken {
		return strings.TrimSpace(string(b)), path, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("read the Registry's admin token: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	tok := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write the Registry's admin token: %w", err)
	}
	return tok, path, nil
}

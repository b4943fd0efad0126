package testkit

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stats"
)

// An auditor's recorder for sealed runs. Harness.Rec reads through the
// network's own bridge, so a record sealed before its key was revoked and
// not yet read by the recorder when the revocation came is refused to it
// too: how far behind the recorder is decides what it sees (an engine's
// start, or an end that Central had read in time, vanish from the check).
// The auditor reads with every key Central ever had installed, revoked
// ones included, so it sees every record the charge points published, at
// whatever pace it reads. (Up to seal.MaxPrevious replaced keys of a charge
// point open, as in the network's own keyring.)

// StartAuditRecorder starts a recorder on a bridge of its own whose keyring
// takes every key installed in h.Keys and ignores revocations. Call it
// before the network starts (a key installed before it is not taken).
func (h *Harness) StartAuditRecorder() *Recorder {
	h.T.Helper()
	if h.Keys == nil {
		h.T.Fatal("StartAuditRecorder needs a sealed harness (NewSealed)")
	}
	audit := seal.NewKeyring()
	keys := h.Keys
	keys.Watch(func(cpID string) {
		if k, ok := keys.Current(cpID); ok {
			audit.Install(k)
		}
	})
	cfg := h.bridgeConfig()
	cfg.Keys = audit
	props, err := bridge.Props(cfg, h.Logger.WithField("observer", "audit"), stats.New())
	if err != nil {
		h.T.Fatal(err)
	}
	pid, err := h.Sys.Root.SpawnNamed(props, "audit-bridge")
	if err != nil {
		h.T.Fatal(err)
	}
	h.T.Cleanup(func() { _, _ = h.Sys.Root.StopFuture(pid).Result() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.AwaitReady(ctx, h.Sys, pid); err != nil {
		h.T.Fatalf("audit bridge not ready: %v", err)
	}
	rec := h.Sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &recorder{bridge: pid, group: "audit-recorder"} }))
	h.T.Cleanup(func() { h.Sys.Root.Stop(rec) })
	return &Recorder{t: h.T, sys: h.Sys, pid: rec}
}

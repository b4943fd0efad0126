package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/internal/web"
)

// realNetwork runs the real actors (Central, engines, monitors) on the
// embedded broker at test speed, with the web server on Central's panel.
// edit, when not nil, changes the network's configuration before it starts.
func realNetwork(t *testing.T, edit func(*network.Config), cpIDs ...string) (*network.Network, *rig) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a network on the embedded broker")
	}
	logger := logging.Discard()
	run := stats.New()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logger, "protoactor")
	}))
	broker, err := bridge.StartEmbedded(bridge.EmbeddedOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	bridgePID, err := bridge.Start(sys, bridge.Config{
		Brokers: []string{broker.Addr()}, WaitAttempts: 50, WaitInterval: 100 * time.Millisecond, Partitions: 2,
	}, logger, run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = sys.Root.StopFuture(bridgePID).Result()
		broker.Close()
		sys.Shutdown()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.AwaitReady(ctx, sys, bridgePID); err != nil {
		t.Fatalf("bridge not ready: %v", err)
	}
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	cfg := network.Config{
		Bridge: bridgePID, Store: st, Logger: logger, Stats: run,
		TelemetryInterval: 50 * time.Millisecond, HealthInterval: 50 * time.Millisecond, HealthTimeout: 40 * time.Millisecond,
		LivenessTimeout: 400 * time.Millisecond, SupplyDuration: 400 * time.Millisecond,
		StartTimeout: 3 * time.Second, ReplyTimeout: 5 * time.Second,
		Budget: supervision.Budget{MaxRestarts: 3, Window: 10 * time.Second, Backoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond},
	}
	for _, id := range cpIDs {
		cfg.ChargePoints = append(cfg.ChargePoints, network.ChargePoint{ID: id, Location: "Test site " + id})
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := network.Start(sys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	// network.Start returns once its supervisor is spawned; Central, its
	// child, answers a moment later (until then the API says 503, rightly).
	// The tests here are about the API on a running Central: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := n.Panel().Snapshot(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Central does not answer its panel: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling Central until it is spawned
	}

	status := &web.BridgeStatus{}
	status.Set(bridge.StateReady, broker.Addr())
	desk, err := driverdesk.Start(sys, driverdesk.Config{Bridge: bridgePID, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(desk.Stop)
	drivers := &web.DriverSlot{}
	drivers.Set(desk)
	r := newRig(t, 0, func(o *web.Options) {
		o.Panel, o.Bridge, o.Run = n.Panel(), status, run
		o.FlushInterval = 50 * time.Millisecond
		o.Drivers, o.Tickets, o.SeriesInterval = drivers, st, 250*time.Millisecond
	})
	r.panel, r.bridge, r.run = nil, status, run
	return n, r
}

// TestWithTheRealCentral: the server on the real Central's panel lists the
// charge points, streams their changes, carries out an operator stop and
// resyncs the stream when Central restarts.
func TestWithTheRealCentral(t *testing.T) {
	n, r := realNetwork(t, nil, "CP-001", "CP-002", "CP-003")
	eventually(t, "three ACTIVATED charge points in the API", func() bool {
		var cps []web.ChargePoint
		r.getJSON(t, "/api/chargepoints?state=ACTIVATED", http.StatusOK, &cps)
		return len(cps) == 3
	})
	cp := r.chargePoint(t, "CP-002")
	if cp.Location != "Test site CP-002" || cp.Colour != "green" || cp.Since == nil {
		t.Errorf("CP-002 = %+v", cp)
	}

	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	if len(snap.ChargePoints) != 3 || len(snap.Events) == 0 {
		t.Fatalf("snapshot: %d charge points, %d events", len(snap.ChargePoints), len(snap.Events))
	}

	code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-002/stop", "Bearer "+testToken)
	if code != http.StatusOK {
		t.Fatalf("stop: %d %s", code, body)
	}
	eventually(t, "CP-002 STOPPED on the stream", func() bool {
		var up web.StreamUpdate
		s.next(t, "update", &up)
		for _, cp := range up.ChargePoints {
			if cp.ID == "CP-002" && cp.State == "STOPPED" {
				return cp.Colour == "orange" && cp.Label == "Out of order"
			}
		}
		return false
	})
	if code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-404/stop", "Bearer "+testToken); code != http.StatusNotFound {
		t.Errorf("stop of an unknown charge point: %d %s", code, body)
	}

	// Central crashes and its supervisor restarts it under the watch: the
	// stream sends a fresh snapshot of the rebuilt Central, and later changes
	// still arrive.
	n.CrashCentral("test: crash Central under a live stream")
	s.next(t, "snapshot", &snap)
	if len(snap.ChargePoints) != 3 {
		t.Errorf("snapshot after the restart: %+v", snap.ChargePoints)
	}
	eventually(t, "the three charge points back after Central's restart", func() bool {
		var cps []web.ChargePoint
		r.getJSON(t, "/api/chargepoints", http.StatusOK, &cps)
		for _, cp := range cps {
			if cp.State == "DISCONNECTED" {
				return false
			}
		}
		return len(cps) == 3
	})
	if code, _, body := r.do(t, http.MethodPost, "/api/resume-all", "Bearer "+testToken); code != http.StatusOK {
		t.Fatalf("resume-all: %d %s", code, body)
	}
	eventually(t, "CP-002 ACTIVATED on the stream after the restart", func() bool {
		var up web.StreamUpdate
		s.next(t, "update", &up)
		for _, cp := range up.ChargePoints {
			if cp.ID == "CP-002" && cp.State == "ACTIVATED" {
				return true
			}
		}
		return false
	})
}

// TestBrowserE2EWithTheRealNetwork is the browser test on the real actors:
// five charge points, two drivers supplying, the page served by the same
// server evsim mounts.
func TestBrowserE2EWithTheRealNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	_, r := realNetwork(t, func(c *network.Config) {
		c.SupplyDuration = 30 * time.Second
		c.TelemetryInterval = 200 * time.Millisecond
		c.Drivers = []network.Driver{
			{ID: "alice", Requests: []string{"CP-002", "CP-002"}},
			{ID: "bob", Requests: []string{"CP-004", "CP-004"}},
		}
	}, "CP-001", "CP-002", "CP-003", "CP-004", "CP-005")
	eventually(t, "two supplies running", func() bool {
		var cps []web.ChargePoint
		r.getJSON(t, "/api/chargepoints?state=SUPPLYING", http.StatusOK, &cps)
		return len(cps) == 2
	})
	ctx := browser(t, chrome, 50*time.Second)
	dir := filepath.Join(artifacts(t), "real-network")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	checkPanelInBrowser(t, ctx, r.http.URL, testToken, nil, dir)
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/mattn/go-isatty"
	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/sim"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/words"
	"github.com/evcharging/evsim/messages"
)

// runner is one run of evsim, from the broker's start to the summary.
type runner struct {
	cfg      *config.Sim
	requests *sim.RequestSource
	steps    []sim.Step
	logger   *logrus.Logger
	stdin    io.Reader
	stdout   io.Writer

	log   *logrus.Entry
	stats *stats.Run
}

// locations name the charge points' sites, round robin.
var locations = []string{"Alicante", "Madrid", "Valencia", "Sevilla", "Bilbao", "Zaragoza", "Malaga", "Murcia", "Granada", "Vigo"}

func (r *runner) run(ctx context.Context) int {
	r.stats = stats.New()
	r.log = logging.Component(r.logger, "evsim")
	cfg := r.cfg
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			r.log.Errorf("Cannot write the CPU profile to %s: %v", cfg.CPUProfile, err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = time.Now().UnixNano() % 1_000_000_000
	}

	// What can fail because of the user's input is tried first, before the
	// broker and the bridge start: the database, then the web port. The web
	// server answers /healthz from here on, and /readyz 503 until the bridge
	// is ready; its API says 503 until Central runs.
	st, err := openStore(cfg.DB)
	if err != nil {
		r.log.Errorf("Cannot open Central's database %s: %v", cfg.DB, err)
		return 1
	}
	defer st.Close()
	keys, masterKey, err := r.openKeys(cfg)
	if err != nil {
		r.log.Errorf("Cannot read the master key: %v", err)
		return 1
	}
	status := &web.BridgeStatus{}
	panel := &web.PanelSlot{}
	auditSlot := &web.AuditSlot{}
	drivers := &web.DriverSlot{}
	var server *web.Server
	if cfg.HTTP != "" {
		server, err = web.New(web.Options{
			Addr: cfg.HTTP, Panel: panel, Bridge: status, Run: r.stats,
			OperatorToken: cfg.OperatorToken, Logger: r.logger, Audit: auditSlot,
			MaxStreamClients: cfg.HTTPMaxStreams, StreamQueue: cfg.HTTPStreamQueue,
			Drivers: drivers, Tickets: st, SeriesInterval: cfg.WebApp.SeriesInterval, SeriesPoints: cfg.WebApp.SeriesPoints, MemberTimeout: cfg.WebApp.MemberTimeout,
		})
		if err == nil {
			err = server.Start()
		}
		if err != nil {
			r.log.Errorf("Cannot serve the web panel on %s: %v (choose another address with --http)", cfg.HTTP, err)
			return 1
		}
		defer shutdownWeb(server) // on an early return; harmless after the orderly shutdown
	}

	r.log.Infof("Starting evsim: %s, %s, seed %d (repeat this run with --seed %d)",
		words.Count(cfg.ChargePoints, "charge point", "charge points"), words.Count(cfg.Drivers, "driver", "drivers"), seed, seed)

	// The broker: the embedded one unless --brokers names a real one.
	brokers := cfg.Kafka.Brokers
	kept := keptOnDisk(cfg.DB, r.log)
	var embedded *bridge.Embedded
	secured, security, err := embeddedSecurity(cfg)
	if err != nil {
		r.log.Errorf("Cannot make the embedded broker's certificate: %v", err)
		return 1
	}
	if len(brokers) == 0 {
		embedded, err = bridge.StartEmbedded(bridge.EmbeddedOptions{Addr: cfg.EmbeddedBroker, Partitions: cfg.Partitions, DataDir: kept.Broker,
			SegmentBytes: cfg.SegmentBytes, Logger: r.logger, TLS: secured.TLS, SASL: secured.SASL})
		if err != nil {
			r.log.Errorf("Cannot start the embedded Kafka broker: %v (choose another address with --embedded-broker, or 127.0.0.1:0 for any free port)", err)
			return 1
		}
		defer embedded.Close()
		brokers = []string{embedded.Addr()}
		r.log.Infof("Embedded Kafka broker listening on %s", embedded.Addr())
	}

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(r.logger, "protoactor")
	}))
	defer system.Shutdown()

	// The bridge, and its gate: nothing else starts before Kafka answers.
	bcfg := bridge.Config{
		Brokers: brokers, WaitAttempts: cfg.Kafka.WaitAttempts, WaitInterval: cfg.Kafka.WaitInterval,
		Partitions: cfg.Partitions, ClientID: "evsim", Security: security,
		Retention: cfg.Retention, RetentionBytes: cfg.RetentionBytes,
		TelemetryRetention: cfg.TelemetryRetention, TelemetryRetentionBytes: cfg.TelemetryRetentionBytes,
		Keys: keys, TopicPrefix: cfg.Kafka.TopicPrefix,
	}
	bridgePID, err := bridge.Start(system, bcfg, r.logger, r.stats)
	if err != nil {
		r.log.Errorf("Cannot start the Kafka bridge: %v", err)
		return 1
	}
	watchBridge(system, bridgePID, status)
	if err := bridge.AwaitReady(ctx, system, bridgePID); err != nil {
		if ctx.Err() != nil {
			r.log.Info("Stopped before Kafka was ready")
			return 0
		}
		// The bridge has said why in its one ERROR line.
		return 1
	}

	ncfg := network.Config{
		Bridge: bridgePID, Store: st, Logger: r.logger, Stats: r.stats,
		KW: cfg.ChargeKW, PriceEURPerKWh: cfg.PriceEURPerKWh,
		TelemetryInterval: cfg.TelemetryInterval, HealthInterval: cfg.HealthInterval, HealthTimeout: cfg.HealthTimeout,
		LivenessTimeout: cfg.LivenessTimeout, DriverPause: cfg.DriverPause, SupplyDuration: cfg.SupplySeconds, TimeScale: cfg.TimeScale,
		JournalDir: kept.Journals, CommandTTL: cfg.CommandTTL,
		Keys: keys, MasterKey: masterKey,
	}
	for i := 0; i < cfg.ChargePoints; i++ {
		ncfg.ChargePoints = append(ncfg.ChargePoints, network.ChargePoint{
			ID: config.ChargePointID(i), Location: locations[i%len(locations)], KW: cfg.ChargeKW, Price: cfg.PriceEURPerKWh,
		})
	}
	if cfg.Registry.Auth == config.AuthRegistry {
		reg, err := r.startRegistry(cfg.Registry, kept, system, bridgePID, ncfg.ChargePoints)
		if err != nil {
			r.log.Errorf("Cannot start the Registry: %v", err)
			return 1
		}
		defer reg.close()
		ncfg.Tokens, ncfg.Audit = reg.tokens(), reg.svc.Audit
		auditSlot.Set(reg.svc.Audit)
	}
	plan := r.requests.Plan(cfg.Drivers, cfg.ChargePoints, seed)
	for i := 0; i < cfg.Drivers; i++ {
		id := config.DriverName(i)
		ncfg.Drivers = append(ncfg.Drivers, network.Driver{ID: id, Requests: plan[id]})
	}
	net, err := network.Start(system, ncfg)
	if err != nil {
		r.log.Errorf("Cannot start the network: %v", err)
		return 1
	}
	wx, err := r.startWeather(system, bridgePID, ncfg.ChargePoints, seed, ncfg.Audit)
	if err != nil {
		r.log.Errorf("Cannot start the weather office: %v", err)
		return 1
	}
	ops := &operations{net: net, weather: wx}

	panel.Set(net.Panel())
	stopDesk := func() {}
	if server != nil {
		stopDesk = r.startDriverDesk(system, bridgePID, drivers)
	}

	var wg sync.WaitGroup
	runCtx, stopRun := context.WithCancel(ctx)
	goRun := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	started := time.Now()
	goRun(func() { r.awaitRegistrations(runCtx, net) })
	if len(r.steps) > 0 {
		goRun(func() { sim.RunScenario(runCtx, ops, r.steps, started, logging.Component(r.logger, "Scenario")) })
	}
	if cfg.ChaosPanic > 0 || cfg.ChaosKO > 0 {
		chaos := sim.ChaosConfig{PanicRate: cfg.ChaosPanic, KORate: cfg.ChaosKO, Seed: seed}
		goRun(func() {
			sim.RunChaos(runCtx, ops, chaos, cfg.ChargePoints, config.ChargePointID, logging.Component(r.logger, "Chaos"))
		})
	}
	commands := r.stdin
	var screen *sim.LiveScreen
	restoreKeyboard := func() {}
	if cfg.Panel == "auto" && isTerminal(r.stdout) {
		w, h := terminalSize(r.stdout)
		screen = sim.NewLiveScreen(r.stdout, net.Panel(), r.logger, h-1, w)
		if restore, err := keyboardMode(r.stdin); err == nil {
			restoreKeyboard = sync.OnceFunc(restore)
			defer restoreKeyboard()
			commands = screen.Keyboard(r.stdin)
		}
		goRun(func() { screen.Run(runCtx) })
	} else {
		goRun(func() { r.statusLines(runCtx, net) })
	}
	go r.readCommands(runCtx, ops, commands, screen) // stdin may block forever: not waited for

	<-ctx.Done()
	stopRun()
	wg.Wait()
	restoreKeyboard()
	if cfg.MemProfile != "" {
		if err := writeHeapProfile(cfg.MemProfile); err != nil {
			r.log.Errorf("Cannot write the heap profile to %s: %v", cfg.MemProfile, err)
		}
	}
	if cfg.Duration > 0 && ctx.Err() == context.DeadlineExceeded {
		r.log.Infof("Ran for %s: shutting down", cfg.Duration)
	} else {
		r.log.Info("Signal received: shutting down")
	}

	// Shutdown in order: drivers -> charge points -> Central (the network),
	// then the bridge flushes, then the broker and the web panel go.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wx.stop(system)
	stopDesk()
	if err := net.Shutdown(shutdownCtx); err != nil {
		r.log.Warnf("Network shutdown was not clean: %v", err)
	}
	if err := bridge.Stop(system, bridgePID); err != nil {
		r.log.Warnf("Kafka bridge did not stop in time: %v", err)
	}
	if server != nil {
		server.Shutdown(shutdownCtx)
	}
	if embedded != nil {
		embedded.Close()
	}

	summary := r.stats.Snapshot()
	summary.AddProcessUsage()
	sim.PrintSummary(r.stdout, summary, time.Since(r.stats.Start))
	if cfg.SummaryJSON != "" {
		if err := sim.WriteSummaryJSON(cfg.SummaryJSON, summary); err != nil {
			r.log.Errorf("Cannot write the summary: %v", err)
			return 1
		}
	}
	return 0
}

// writeHeapProfile writes the live heap (after a collection, so that it
// shows what is kept, not garbage) to path. It runs once, at the end of the
// run: profiling costs nothing while the network works.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// shutdownWeb stops the web panel, waiting at most a few seconds.
func shutdownWeb(server *web.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	server.Shutdown(ctx)
}

func openStore(path string) (*store.Store, error) {
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
	}
	return store.Open(path)
}

// watchBridge keeps status up to date with the bridge's state, for /readyz.
func watchBridge(system *actor.ActorSystem, bridgePID *actor.PID, status *web.BridgeStatus) {
	pid := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(*bridge.StateChanged); ok {
			status.Set(s.State, s.Detail)
		}
	}))
	system.Root.Send(bridgePID, &bridge.WatchState{Watcher: pid})
}

// awaitRegistrations records the start-up time once every charge point has registered.
func (r *runner) awaitRegistrations(ctx context.Context, net *network.Network) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for {
		n := r.stats.RegisteredCPs.Load()
		if n >= int64(r.cfg.ChargePoints) {
			r.stats.MarkStartupDone()
			all := fmt.Sprintf("All %d charge points", r.cfg.ChargePoints)
			if r.cfg.ChargePoints == 1 {
				all = "The charge point"
			}
			r.log.Infof("%s registered in %d ms", all, r.stats.StartupMS())
			return
		}
		if time.Since(lastReport) >= 2*time.Second {
			r.log.Infof("Starting: %d of %d charge points registered", n, r.cfg.ChargePoints)
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// statusLines logs a one-line view of the network every 15 s when there is no live panel.
func (r *runner) statusLines(ctx context.Context, net *network.Network) {
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		snap, err := net.Panel().Snapshot(ctx)
		if err != nil {
			continue
		}
		by := snap.Totals.ByState
		r.log.Infof("Network: %d supplying, %d activated, %d stopped, %d fault, %d disconnected; %d tickets, %.2f kWh, %.2f EUR",
			by[messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING], by[messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED],
			by[messages.ChargePointState_CHARGE_POINT_STATE_STOPPED], by[messages.ChargePointState_CHARGE_POINT_STATE_FAULT],
			by[messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED], snap.Totals.Tickets, snap.Totals.KWh, snap.Totals.EUR)
	}
}

// readCommands carries out operator commands typed on stdin, one per line.
// On the live screen, the command list and each command's outcome stay on
// screen above the prompt; without it they are log lines.
func (r *runner) readCommands(ctx context.Context, ops sim.Network, in io.Reader, screen *sim.LiveScreen) {
	log := logging.Component(r.logger, "Operator")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if line == "help" {
			if screen != nil {
				screen.ShowNote("Commands (type one and press Enter):\n" + sim.CommandHelp())
			} else {
				log.Info("Commands:\n" + sim.CommandHelp())
			}
			continue
		}
		did, err := r.command(ctx, ops, line)
		if err != nil {
			log.Warnf("%v", err)
			did = err.Error()
		} else {
			log.Info(did)
		}
		if screen != nil {
			screen.ShowNote("> " + did)
		}
	}
}

// command parses and carries out one typed command.
func (r *runner) command(ctx context.Context, ops sim.Network, line string) (string, error) {
	cmd, err := sim.ParseCommand(line)
	if err != nil {
		return "", err
	}
	return sim.Execute(ctx, ops, cmd)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

func terminalSize(w io.Writer) (width, height int) {
	if f, ok := w.(*os.File); ok {
		if w, h, err := term.GetSize(int(f.Fd())); err == nil {
			return w, h
		}
	}
	return 120, 40
}

// operations adapts the network's run-time hooks to the command language.
type operations struct {
	net     *network.Network
	weather *weatherOffice // nil: --weather-provider off
}

func (o *operations) Panel() central.Panel { return o.net.Panel() }

func (o *operations) PanicEngine(_ context.Context, cp string) error {
	return o.net.CrashEngine(cp, "operator asked for a crash")
}

func (o *operations) KillMonitor(ctx context.Context, cp string) error {
	return o.net.StopMonitor(ctx, cp)
}

func (o *operations) StartMonitor(ctx context.Context, cp string) error {
	return o.net.StartMonitor(ctx, cp)
}

func (o *operations) KillDriver(ctx context.Context, id string) error {
	return o.net.StopDriver(ctx, id)
}

func (o *operations) StartDriver(ctx context.Context, id string) error {
	return o.net.StartDriver(ctx, id)
}

func (o *operations) RestartCentral(ctx context.Context) error {
	if err := o.net.StopCentral(ctx); err != nil {
		return fmt.Errorf("stop Central: %w", err)
	}
	return o.net.StartCentral(ctx)
}

// Package network builds the whole charging network in one process, as one
// supervision tree:
//
//	<root> (supervisor, default name "evsim")
//	├── central
//	├── cp-CP-001 (supervisor of one charge point site)
//	│   ├── engine
//	│   └── monitor
//	├── ...
//	└── drivers (supervisor)
//	    ├── alice
//	    └── ...
//
// The bridge is started by the caller (it must be ready before the roles
// talk) and handed in by PID. Every supervisor restarts a failed child
// within its budget, then stops it; an engine that is stopped for good has
// its interrupted supply closed from its journal and its charge point shows
// FAULT through its monitor. Shutdown stops the parts in order: drivers,
// then charge points (each running supply ends with reason SHUTDOWN and
// Central makes its ticket), then Central.
package network

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stall"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
)

// ChargePoint describes one charge point of the network.
type ChargePoint struct {
	ID       string
	Location string  // default "Site <ID>"
	KW       float64 // default Config.KW
	Price    float64 // default Config.PriceEURPerKWh
	// Secret is what its monitor presents to Central. Default: derived from
	// the charge point id and a random key kept in the store, so that the
	// same database recognises the same charge points on the next run.
	Secret string
	// Token, when set, gets the Registry's token its monitor presents
	// (with Config.Verifier).
	Token monitor.TokenSource
}

// Driver describes one driver and its requests.
type Driver struct {
	ID       string
	Requests []string
}

// Config configures a network.
type Config struct {
	// Bridge is the bridge actor, already started. Required.
	Bridge *actor.PID
	// Store is Central's database. Required, unless RemoteCentral is set
	// and every charge point has its Secret or Token.
	Store        *store.Store
	ChargePoints []ChargePoint
	Drivers      []Driver

	// Name is the root actor's name. Default "evsim".
	Name string
	// RemoteCentral, when set, is a Central in another process (evnode
	// site): no Central starts here and the monitors register with it.
	RemoteCentral *actor.PID
	// OtherCentrals are more Centrals of RemoteCentral's shared group, which
	// the monitors turn to when the one they talk to is silent.
	OtherCentrals []*actor.PID
	// EngineGroup and DriverGroup are the bridge groups of the engines and
	// the drivers. Default "engines" and "drivers".
	EngineGroup string
	DriverGroup string
	// MonitorAddress is where a remote Central reaches the monitors (told
	// at registration); empty in one process.
	MonitorAddress string
	// SiteKey derives the secrets of charge points that have none (an
	// HMAC of their id). Default: a key kept in Store, so that the same
	// database recognises the same charge points on the next run.
	SiteKey []byte
	// Rules' defaults: 22 kW, 0.30 EUR/kWh, telemetry and health every 1 s,
	// health timeout 500 ms, liveness timeout 3 s, driver pause 4 s, supply 10 s.
	KW                float64
	PriceEURPerKWh    float64
	TelemetryInterval time.Duration
	HealthInterval    time.Duration
	HealthTimeout     time.Duration
	LivenessTimeout   time.Duration
	DriverPause       time.Duration
	SupplyDuration    time.Duration
	// TimeScale is how many simulated seconds of charging one real second is
	// worth. Default 1 (real time).
	TimeScale float64
	// StartTimeout is how long Central waits for an engine to confirm. Default 5 s.
	StartTimeout time.Duration
	// CommandTTL is how long Central's commands other than starts stay
	// valid for an engine. Default: Central's (60 s).
	CommandTTL time.Duration
	// ReleaseAfter is how long Central keeps a driver bound to a supply on a
	// charge point that cannot report it (FAULT or DISCONNECTED). Default 30 s.
	ReleaseAfter time.Duration
	// ReplyTimeout is how long a driver waits for Central. Default 10 s.
	ReplyTimeout time.Duration
	// DriverStartDelay postpones the drivers' first requests. Default 0.
	DriverStartDelay time.Duration
	// ResubscribeInterval is how often every role repeats its bridge
	// subscriptions, so that a restarted bridge hears them again. Default 5 s.
	ResubscribeInterval time.Duration
	// JournalDir, when set, keeps each engine's journal in a file there
	// (<cp id>.json), so that a restart of the whole process after a kill -9
	// reports the supplies that were running. Default: in memory.
	JournalDir string
	// Budget is every supervisor's restart budget. Default 5 in 30 s, 100 ms doubling to 5 s.
	Budget supervision.Budget
	// Stall measures the process's own stalls, so that monitors and Central
	// do not read them as a silent engine or monitor. Default: the network
	// starts one and stops it in Shutdown.
	Stall *stall.Meter

	// Tokens, when set, makes Central verify the Registry's tokens (see
	// central.Config.Tokens); each charge point then needs its Token.
	Tokens *registry.VerifierOptions
	// Audit, when set, is Central's audit log.
	Audit *audit.Log
	// Keys, when set, is the keyring of the bridge (bridge.Config.Keys):
	// Central issues each charge point its key, its engine seals with it.
	// MasterKey wraps the keys in Central's store (default: one for the
	// network's life). nil Keys: encryption off.
	Keys      *seal.Keyring
	MasterKey *seal.MasterKey

	Logger logrus.FieldLogger
	Stats  *stats.Run
}

// DefaultConfig returns a configuration with the rules' defaults and no parts.
func DefaultConfig() Config {
	c := Config{}
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Name == "" {
		c.Name = "evsim"
	}
	if c.EngineGroup == "" {
		c.EngineGroup = "engines"
	}
	if c.DriverGroup == "" {
		c.DriverGroup = "drivers"
	}
	if c.KW == 0 {
		c.KW = 22
	}
	if c.PriceEURPerKWh == 0 {
		c.PriceEURPerKWh = 0.30
	}
	def(&c.TelemetryInterval, time.Second)
	def(&c.HealthInterval, time.Second)
	def(&c.HealthTimeout, c.HealthInterval/2)
	def(&c.LivenessTimeout, 3*time.Second)
	def(&c.DriverPause, 4*time.Second)
	def(&c.SupplyDuration, 10*time.Second)
	def(&c.StartTimeout, 5*time.Second)
	def(&c.ReplyTimeout, 10*time.Second)
	def(&c.ResubscribeInterval, 5*time.Second)
	def(&c.ReleaseAfter, 30*time.Second)
	if c.Budget == (supervision.Budget{}) {
		c.Budget = supervision.DefaultBudget()
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Stats == nil {
		c.Stats = stats.New()
	}
	if c.Keys != nil && c.MasterKey == nil {
		// One for the network's life: a restarted Central reads its keys back.
		if mk, err := seal.NewEphemeralMasterKey(); err == nil {
			c.MasterKey = mk
		}
	}
}

// Validate checks the configuration (after defaults).
func (c *Config) Validate() error {
	switch {
	case c.Bridge == nil:
		return errors.New("network config: no bridge PID")
	case c.Store == nil && c.RemoteCentral == nil:
		return errors.New("network config: no store")
	case c.Store == nil && len(c.SiteKey) == 0:
		return errors.New("network config: no store and no site key to derive the charge points' secrets")
	case c.HealthTimeout <= 0 || c.HealthTimeout > c.HealthInterval:
		return fmt.Errorf("network config: HealthTimeout %v must be more than 0 and at most HealthInterval %v", c.HealthTimeout, c.HealthInterval)
	case c.LivenessTimeout <= c.HealthInterval:
		return fmt.Errorf("network config: LivenessTimeout %v must be longer than HealthInterval %v", c.LivenessTimeout, c.HealthInterval)
	}
	seen := map[string]bool{}
	for _, cp := range c.ChargePoints {
		if cp.ID == "" || seen["cp "+cp.ID] {
			return fmt.Errorf("network config: charge point id %q is empty or repeated", cp.ID)
		}
		seen["cp "+cp.ID] = true
	}
	for _, d := range c.Drivers {
		if d.ID == "" || seen["driver "+d.ID] {
			return fmt.Errorf("network config: driver id %q is empty or repeated", d.ID)
		}
		seen["driver "+d.ID] = true
	}
	return c.Budget.Validate()
}

// Network is a running network. Its methods are safe for concurrent use; the
// run-time hooks (crash, stop, start) are what scenarios and tests use.
type Network struct {
	cfg    Config
	sys    *actor.ActorSystem
	root   *actor.PID
	cps    map[string]*site
	order  []string
	drvs   map[string]*driverSite
	dorder []string
	panel  central.Panel

	mu      sync.Mutex // guards the maps and lists above against concurrent hooks
	stopped bool
	// ownStall: the network started cfg.Stall and stops it.
	ownStall bool
	siteKey  []byte // derives the charge points' default secrets
	// shared is what every monitor is handed alike (sharedparts.go).
	shared sharedParts
}

type site struct {
	spec    ChargePoint
	journal chargepoint.Journal
}

type driverSite struct {
	spec     Driver
	progress *driver.MemoryProgress
}

// Start builds and starts the network under one root supervisor.
func Start(system *actor.ActorSystem, cfg Config) (*Network, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	own := cfg.Stall == nil
	if own {
		cfg.Stall = stall.Start(0, 0)
	}
	n, err := start(system, cfg)
	if err != nil {
		if own {
			cfg.Stall.Stop()
		}
		return nil, err
	}
	n.ownStall = own
	return n, nil
}

func start(system *actor.ActorSystem, cfg Config) (*Network, error) {
	key, err := siteKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("start the network: %w", err)
	}
	n := &Network{cfg: cfg, sys: system, cps: map[string]*site{}, drvs: map[string]*driverSite{}, siteKey: key}
	for _, cp := range cfg.ChargePoints {
		n.addSite(cp)
	}
	for _, d := range cfg.Drivers {
		n.addDriver(d)
	}
	var children []supervision.Child
	if cfg.RemoteCentral == nil {
		centralChild, err := n.centralChild()
		if err != nil {
			return nil, err
		}
		children = append(children, centralChild)
	}
	if n.sharesReporter() {
		children = append(children, n.reporterChild()) // before the monitors that tell it
	}
	for _, id := range n.order {
		c, err := n.siteChild(n.cps[id])
		if err != nil {
			return nil, err
		}
		children = append(children, c)
	}
	dc, err := n.driversChild()
	if err != nil {
		return nil, err
	}
	children = append(children, dc)
	props, err := supervision.Props(supervision.Config{Display: "Supervisor", Budget: cfg.Budget, Logger: cfg.Logger, Stats: cfg.Stats, Children: children})
	if err != nil {
		return nil, err
	}
	// Records for the drivers and engines about to start are held until
	// they subscribe; any other key's (an earlier, larger run's) are skipped.
	for _, t := range []string{bridge.TopicDriverUpdates, bridge.TopicTickets} {
		system.Root.Send(cfg.Bridge, &bridge.ExpectKeys{Topic: t, Group: cfg.DriverGroup, Keys: n.DriverIDs()})
	}
	system.Root.Send(cfg.Bridge, &bridge.ExpectKeys{Topic: bridge.TopicCommands, Group: cfg.EngineGroup, Keys: n.ChargePointIDs()})
	n.root, err = system.Root.SpawnNamed(props, cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("start the network: %w", err)
	}
	if cfg.RemoteCentral == nil {
		n.panel = central.NewPanel(system.Root, n.Central())
	}
	return n, nil
}

func (n *Network) addSite(cp ChargePoint) *site {
	if cp.Location == "" {
		cp.Location = "Site " + cp.ID
	}
	if cp.KW == 0 {
		cp.KW = n.cfg.KW
	}
	if cp.Price == 0 {
		cp.Price = n.cfg.PriceEURPerKWh
	}
	if cp.Secret == "" {
		m := hmac.New(sha256.New, n.siteKey)
		m.Write([]byte(cp.ID))
		cp.Secret = hex.EncodeToString(m.Sum(nil))
	}
	var journal chargepoint.Journal = chargepoint.NewMemoryJournal()
	if n.cfg.JournalDir != "" {
		// One writer for the engine and FlushJournal (its OnGiveUp): their
		// records land in order.
		journal = chargepoint.WriteBehind(chargepoint.FileJournal{Path: filepath.Join(n.cfg.JournalDir, cp.ID+".json")}, n.cfg.Logger, cp.ID)
	}
	s := &site{spec: cp, journal: journal}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cps[cp.ID] = s
	n.order = append(n.order, cp.ID)
	return s
}

func (n *Network) addDriver(d Driver) *driverSite {
	s := &driverSite{spec: d, progress: &driver.MemoryProgress{}}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.drvs[d.ID] = s
	n.dorder = append(n.dorder, d.ID)
	return s
}

func (n *Network) pid(path ...string) *actor.PID {
	id := n.cfg.Name
	for _, p := range path {
		id += "/" + p
	}
	return actor.NewPID(n.sys.Address(), id)
}

func siteName(cpID string) string { return "cp-" + cpID }

// Central is Central's PID (RemoteCentral's when it is in another process).
func (n *Network) Central() *actor.PID {
	if n.cfg.RemoteCentral != nil {
		return n.cfg.RemoteCentral
	}
	return n.pid("central")
}

// Engine is the PID of a charge point's engine.
func (n *Network) Engine(cpID string) *actor.PID { return n.pid(siteName(cpID), "engine") }

// Monitor is the PID of a charge point's monitor.
func (n *Network) Monitor(cpID string) *actor.PID { return n.pid(siteName(cpID), "monitor") }

// Driver is the PID of a driver.
func (n *Network) Driver(id string) *actor.PID { return n.pid("drivers", id) }

// Panel is Central's panel (nil when Central is remote).
func (n *Network) Panel() central.Panel { return n.panel }

// ChargePointIDs lists the charge points, in the order they were added.
func (n *Network) ChargePointIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.order...)
}

// DriverIDs lists the drivers, in the order they were added.
func (n *Network) DriverIDs() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.dorder...)
}

func (n *Network) site(cpID string) (*site, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.cps[cpID]
	if !ok {
		return nil, fmt.Errorf("unknown charge point %s", cpID)
	}
	return s, nil
}

func (n *Network) driverSite(id string) (*driverSite, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, ok := n.drvs[id]
	if !ok {
		return nil, fmt.Errorf("unknown driver %s", id)
	}
	return d, nil
}

func (n *Network) centralChild() (supervision.Child, error) {
	c := n.cfg
	props, err := central.Props(central.Config{
		Store: c.Store, Bridge: c.Bridge, LivenessTimeout: c.LivenessTimeout, StartTimeout: c.StartTimeout, CommandTTL: c.CommandTTL, RequestTTL: c.ReplyTimeout, ResubscribeInterval: c.ResubscribeInterval,
		ReleaseAfter: c.ReleaseAfter, Tokens: c.Tokens, Audit: c.Audit, Keys: c.Keys, MasterKey: c.MasterKey,
		ExpectedChargePoints: len(c.ChargePoints), Stall: c.Stall, Logger: c.Logger, Stats: c.Stats,
	})
	if err != nil {
		return supervision.Child{}, err
	}
	return supervision.Child{Name: "central", Display: "Central", Props: props}, nil
}

func (n *Network) siteChild(s *site) (supervision.Child, error) {
	c := n.cfg
	cp := s.spec
	engine, err := n.engineChild(s)
	if err != nil {
		return supervision.Child{}, err
	}
	mon, err := n.monitorChild(s)
	if err != nil {
		return supervision.Child{}, err
	}
	sup, err := supervision.Props(supervision.Config{
		Display: "Site " + cp.ID, Budget: c.Budget, Logger: c.Logger, Stats: c.Stats,
		Children: []supervision.Child{engine, mon},
	})
	if err != nil {
		return supervision.Child{}, err
	}
	return supervision.Child{Name: siteName(cp.ID), Display: "Site " + cp.ID, Props: sup, IDKey: "cp_id", ID: cp.ID}, nil
}

// engineChild is a charge point's engine as its site supervises it: every
// failure is told to the monitor at once (FAULT before any health check
// misses), and an engine stopped for good has its supply closed from its
// journal so that the driver still gets a ticket.
func (n *Network) engineChild(s *site) (supervision.Child, error) {
	c := n.cfg
	cp := s.spec
	engine, err := chargepoint.Props(chargepoint.Config{
		CPID: cp.ID, KW: cp.KW, PriceEURPerKWh: cp.Price, TelemetryInterval: c.TelemetryInterval,
		SupplyDuration: c.SupplyDuration, TimeScale: c.TimeScale, Bridge: c.Bridge, Group: c.EngineGroup, Journal: s.journal, ResubscribeInterval: c.ResubscribeInterval, Keys: c.Keys,
		Logger: c.Logger, Stats: c.Stats,
	})
	if err != nil {
		return supervision.Child{}, err
	}
	// The closures hold the site and the monitor's PID, no copy of the
	// charge point's spec: one of each per charge point, for the run.
	monitorPID := n.Monitor(cp.ID)
	return supervision.Child{
		Name: "engine", Display: "Engine " + cp.ID, Props: engine, IDKey: "cp_id", ID: cp.ID,
		OnFailure: func(ctx actor.Context, _ *actor.PID, reason any) {
			ctx.Send(monitorPID, &monitor.EngineFailed{Reason: fmt.Sprint(reason)})
		},
		OnGiveUp: func(ctx actor.Context, _ *actor.PID, reason any) {
			cp := s.spec
			log := logging.NewLazy(n.cfg.Logger, "Site ", "cp_id", cp.ID)
			ctx.Send(monitorPID, &monitor.EngineFailed{Reason: "stopped after too many failures"})
			end, err := chargepoint.FlushJournal(ctx, s.journal, cp.ID, n.cfg.Bridge)
			switch {
			case err != nil:
				log.Entry().WithError(err).Warnf("Could not close the supply of the failed engine of %s", cp.ID)
			case end != nil:
				log.Entry().WithField("session_id", end.GetSessionId()).Infof("Closed the supply the failed engine of %s was running: %.2f kWh for %s",
					cp.ID, end.GetKwh(), end.GetDriverId())
			}
		},
	}, nil
}

func (n *Network) monitorChild(s *site) (supervision.Child, error) {
	c := n.cfg
	cp := s.spec
	mon, err := monitor.Props(monitor.Config{
		CPID: cp.ID, Location: cp.Location, PriceEURPerKWh: cp.Price, KW: cp.KW, Secret: cp.Secret, Token: cp.Token,
		Engine: n.Engine(cp.ID), Central: n.sharedCentral(), HealthInterval: c.HealthInterval, HealthTimeout: c.HealthTimeout,
		Address: c.MonitorAddress, Stall: c.Stall, Logger: c.Logger, Stats: c.Stats,
		Reporter: n.sharedReporter(), OtherCentrals: c.OtherCentrals,
	})
	if err != nil {
		return supervision.Child{}, err
	}
	return supervision.Child{Name: "monitor", Display: "Monitor " + cp.ID, Props: mon, IDKey: "cp_id", ID: cp.ID}, nil
}

func (n *Network) driverChild(d *driverSite) (supervision.Child, error) {
	c := n.cfg
	props, err := driver.Props(driver.Config{
		ID: d.spec.ID, Requests: d.spec.Requests, Pause: c.DriverPause, ReplyTimeout: c.ReplyTimeout,
		Bridge: c.Bridge, Group: c.DriverGroup, Progress: d.progress, StartDelay: c.DriverStartDelay, Logger: c.Logger,
		ResubscribeInterval: c.ResubscribeInterval,
	})
	if err != nil {
		return supervision.Child{}, err
	}
	return supervision.Child{Name: d.spec.ID, Display: "Driver " + d.spec.ID, Props: props, IDKey: "driver_id", ID: d.spec.ID}, nil
}

func (n *Network) driversChild() (supervision.Child, error) {
	var children []supervision.Child
	for _, id := range n.dorder {
		c, err := n.driverChild(n.drvs[id])
		if err != nil {
			return supervision.Child{}, err
		}
		children = append(children, c)
	}
	sup, err := supervision.Props(supervision.Config{Display: "Drivers", Budget: n.cfg.Budget, Logger: n.cfg.Logger, Stats: n.cfg.Stats, Children: children})
	if err != nil {
		return supervision.Child{}, err
	}
	return supervision.Child{Name: "drivers", Display: "Drivers", Props: sup}, nil
}

// --- run-time hooks ----------------------------------------------------------

func (n *Network) ask(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	res, err := n.sys.Root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return nil, err
	}
	if _, dead := res.(*actor.DeadLetterResponse); dead {
		return nil, fmt.Errorf("%s is not running", pid.GetId())
	}
	return res, nil
}

func (n *Network) stopChild(ctx context.Context, parent *actor.PID, name string) error {
	res, err := n.ask(ctx, parent, &supervision.StopChild{Name: name})
	if err != nil {
		return fmt.Errorf("stop %s: %w", name, err)
	}
	if s, ok := res.(*supervision.ChildStopped); !ok || !s.Found {
		return fmt.Errorf("stop %s: not running", name)
	}
	return nil
}

func (n *Network) spawnChild(ctx context.Context, parent *actor.PID, c supervision.Child) error {
	res, err := n.ask(ctx, parent, &supervision.Spawn{Child: c})
	if err != nil {
		return fmt.Errorf("start %s: %w", c.Display, err)
	}
	if s, ok := res.(*supervision.Spawned); ok && s.Err != nil {
		return s.Err
	}
	return nil
}

func (n *Network) knownCP(cpID string) error {
	_, err := n.site(cpID)
	return err
}

// CrashEngine makes a charge point's engine panic; its supervisor restarts it.
func (n *Network) CrashEngine(cpID, reason string) error {
	if err := n.knownCP(cpID); err != nil {
		return err
	}
	n.sys.Root.Send(n.Engine(cpID), &supervision.Crash{Reason: reason})
	return nil
}

// StartEngine starts a charge point's engine again after its supervisor
// stopped it for good (the repair after a failure beyond the budget).
func (n *Network) StartEngine(ctx context.Context, cpID string) error {
	s, err := n.site(cpID)
	if err != nil {
		return err
	}
	c, err := n.engineChild(s)
	if err != nil {
		return err
	}
	return n.spawnChild(ctx, n.pid(siteName(cpID)), c)
}

// SetKO knocks a charge point's engine out (true) or repairs it (false)
// directly, as a scenario would; an operator goes through Panel().KnockOut.
func (n *Network) SetKO(cpID string, ko bool) error {
	if err := n.knownCP(cpID); err != nil {
		return err
	}
	n.sys.Root.Send(n.Engine(cpID), &chargepoint.SetKO{KO: ko})
	return nil
}

// StopMonitor stops a charge point's monitor (it "dies"): Central marks the
// charge point DISCONNECTED within its liveness timeout.
func (n *Network) StopMonitor(ctx context.Context, cpID string) error {
	if err := n.knownCP(cpID); err != nil {
		return err
	}
	return n.stopChild(ctx, n.pid(siteName(cpID)), "monitor")
}

// StartMonitor starts a stopped monitor again.
func (n *Network) StartMonitor(ctx context.Context, cpID string) error {
	s, err := n.site(cpID)
	if err != nil {
		return err
	}
	c, err := n.monitorChild(s)
	if err != nil {
		return err
	}
	return n.spawnChild(ctx, n.pid(siteName(cpID)), c)
}

// CrashMonitor makes a monitor panic; its supervisor restarts it.
func (n *Network) CrashMonitor(cpID, reason string) error {
	if err := n.knownCP(cpID); err != nil {
		return err
	}
	n.sys.Root.Send(n.Monitor(cpID), &supervision.Crash{Reason: reason})
	return nil
}

// StopDriver stops a driver; its supply (if any) goes on without it.
func (n *Network) StopDriver(ctx context.Context, id string) error {
	if _, err := n.driverSite(id); err != nil {
		return err
	}
	return n.stopChild(ctx, n.pid("drivers"), id)
}

// StartDriver starts a stopped driver again; it picks up where it was.
func (n *Network) StartDriver(ctx context.Context, id string) error {
	d, err := n.driverSite(id)
	if err != nil {
		return err
	}
	c, err := n.driverChild(d)
	if err != nil {
		return err
	}
	return n.spawnChild(ctx, n.pid("drivers"), c)
}

// CrashDriver makes a driver panic; its supervisor restarts it.
func (n *Network) CrashDriver(id, reason string) error {
	if _, err := n.driverSite(id); err != nil {
		return err
	}
	n.sys.Root.Send(n.Driver(id), &supervision.Crash{Reason: reason})
	return nil
}

// CrashCentral makes Central panic; its supervisor restarts it, and it
// rebuilds its view from the store, the monitors and Kafka.
func (n *Network) CrashCentral(reason string) {
	n.sys.Root.Send(n.Central(), &supervision.Crash{Reason: reason})
}

// StopCentral stops Central.
func (n *Network) StopCentral(ctx context.Context) error {
	return n.stopChild(ctx, n.root, "central")
}

// StartCentral starts a stopped Central again.
func (n *Network) StartCentral(ctx context.Context) error {
	c, err := n.centralChild()
	if err != nil {
		return err
	}
	return n.spawnChild(ctx, n.root, c)
}

// AddChargePoint adds a charge point site at run time.
func (n *Network) AddChargePoint(ctx context.Context, cp ChargePoint) error {
	if _, err := n.site(cp.ID); err == nil || cp.ID == "" {
		return fmt.Errorf("charge point id %q is empty or taken", cp.ID)
	}
	s := n.addSite(cp)
	c, err := n.siteChild(s)
	if err != nil {
		return err
	}
	return n.spawnChild(ctx, n.root, c)
}

// AddDriver adds a driver at run time.
func (n *Network) AddDriver(ctx context.Context, d Driver) error {
	if _, err := n.driverSite(d.ID); err == nil || d.ID == "" {
		return fmt.Errorf("driver id %q is empty or taken", d.ID)
	}
	c, err := n.driverChild(n.addDriver(d))
	if err != nil {
		return err
	}
	return n.spawnChild(ctx, n.pid("drivers"), c)
}

// --- shutdown ----------------------------------------------------------------

// Shutdown stops the network in order: drivers first, then every engine ends
// its running supply (reason SHUTDOWN) and Central is given until ctx ends to
// turn the ends into tickets, then the charge points, then Central. The
// bridge is the caller's to stop afterwards (it flushes what Central sent).
func (n *Network) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.stopped {
		n.mu.Unlock()
		return nil
	}
	n.stopped = true
	n.mu.Unlock()
	log := logging.Component(n.cfg.Logger, "Supervisor")
	var errs []error
	if err := n.stopChild(ctx, n.root, "drivers"); err != nil {
		errs = append(errs, err)
	}
	ids := n.ChargePointIDs()
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := n.ask(ctx, n.Engine(id), &chargepoint.Shutdown{}); err != nil {
			log.WithField("cp_id", id).Debugf("Engine of %s did not confirm its shutdown: %v", id, err)
		}
	}
	// Wait until Central has closed every supply (tickets made); a remote
	// Central gets the supply ends through Kafka, after this process.
	for n.cfg.RemoteCentral == nil {
		snap, err := n.panel.Snapshot(ctx)
		if err == nil && snap.Totals.ActiveSupplies == 0 {
			break
		}
		if errors.Is(err, central.ErrNotRunning) {
			log.Warn("Central is not running: the last supply ends wait in Kafka for its next start")
			break
		}
		select {
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("shutdown: supplies still open: %w", ctx.Err()))
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	for _, id := range ids {
		if err := n.stopChild(ctx, n.root, siteName(id)); err != nil {
			errs = append(errs, err)
		}
	}
	if n.cfg.RemoteCentral == nil {
		if err := n.stopChild(ctx, n.root, "central"); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := n.sys.Root.StopFuture(n.root).Result(); err != nil {
		errs = append(errs, fmt.Errorf("stop the root supervisor: %w", err))
	}
	if n.ownStall {
		n.cfg.Stall.Stop()
	}
	if n.cfg.RemoteCentral != nil {
		log.Info("Network stopped: drivers, charge points (Central runs in another process)")
	} else {
		log.Info("Network stopped: drivers, charge points, Central")
	}
	return errors.Join(errs...)
}

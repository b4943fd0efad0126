package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// This file is the configuration of `evnode central|engine|monitor|driver`:
// one role per process. Every flag has its variable (EVSIM_<FLAG>, or the
// seed's KAFKA_* names for the Kafka flags), as for evsim.

// Default addresses of the roles' actor remotes (the compose file's ports for
// charge point 1), so that one of each role runs on one machine with no flags.
const (
	DefaultCentralRemote = "127.0.0.1:8090"
	DefaultEngineRemote  = "127.0.0.1:9101"
	DefaultMonitorRemote = "127.0.0.1:9201"
	// DefaultNodeBrokers is where evnode roles look for Kafka by default
	// (evnode broker's default address).
	DefaultNodeBrokers = "127.0.0.1:9092"
	// MemoryState is the value of --journal and --progress that keeps the
	// state in memory only (lost with the process).
	MemoryState = "memory"
)

// Remote is where a role's actor remote (gRPC) listens and the address its
// peers use to reach it.
type Remote struct {
	// Listen is HOST:PORT to bind, e.g. 0.0.0.0:8090.
	Listen string
	// Advertise is HOST:PORT that peers dial; empty means Listen (or this
	// machine's host name with Listen's port, when Listen binds every interface).
	Advertise string
	// TLS is the node's TLS identity for the remote (--tls-*); off by default.
	TLS NodeTLS
	// Link is how connections to peers are kept and dialled (--remote-*).
	Link RemoteLink
}

// AddRemoteFlags registers --listen and --advertise.
func AddRemoteFlags(fs *FlagSet, r *Remote, listenDefault string) {
	fs.String(&r.Listen, "listen", "", listenDefault, "HOST:PORT where the actor remote (gRPC) listens")
	fs.String(&r.Advertise, "advertise", "", "", "HOST:PORT that peers use to reach this node; empty = --listen (or this host's name when --listen is 0.0.0.0)")
	AddNodeTLSFlags(fs, &r.TLS, "the actor remote (its listener, and its connections to peers)")
	addRemoteLinkFlags(fs, &r.Link)
}

// Finish checks the addresses and fills Advertise when it is empty.
func (r *Remote) Finish() error {
	if err := r.TLS.Finish(); err != nil {
		return err
	}
	if r.Link == (RemoteLink{}) { // built in code, not from flags
		r.Link = RemoteLink{Keepalive: DefaultRemoteKeepalive, DialTimeout: DefaultRemoteDialTimeout}
	}
	if err := r.Link.Validate(); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(r.Listen)
	if err != nil || ValidateHostPort(r.Listen) != nil {
		return Usagef("listen", "%q: want HOST:PORT", r.Listen)
	}
	if port == "0" && r.Advertise == "" {
		return Usagef("advertise", "must be given when --listen has port 0")
	}
	if r.Advertise == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			name, err := os.Hostname()
			if err != nil || name == "" {
				return Usagef("advertise", "must be given when --listen binds every interface and the host name is unknown")
			}
			host = name
		}
		r.Advertise = net.JoinHostPort(host, port)
	}
	ahost, aport, err := net.SplitHostPort(r.Advertise)
	if err != nil || ahost == "" || ValidateHostPort(r.Advertise) != nil || aport == "0" {
		return Usagef("advertise", "%q: want HOST:PORT with a host and a port other than 0", r.Advertise)
	}
	if ahost == "0.0.0.0" || ahost == "::" {
		return Usagef("advertise", "%q: peers cannot dial %s; give this node's host name or IP", r.Advertise, ahost)
	}
	return nil
}

// --- central -----------------------------------------------------------------

// Central is the configuration of `evnode central`.
type Central struct {
	Kafka  Kafka
	Log    Log
	Remote Remote
	// DB is the registry and ticket database; ":memory:" allowed.
	DB string
	// HTTP is the web panel's address; empty = off.
	HTTP string
	// OperatorToken allows the panel's actions; empty = read-only.
	OperatorToken string
	// HTTPMaxStreams is how many live streams the web panel serves at once.
	HTTPMaxStreams int
	// HTTPStreamQueue is how many messages a live stream may fall behind before it is dropped.
	HTTPStreamQueue int
	// WebApp holds the driver app's and the plots' knobs.
	WebApp WebApp
	// CPSecrets pre-provisions charge points: id -> secret. Charge points not
	// listed join at their first registration, their secret pinned then.
	CPSecrets map[string]string
	// ClosedRegistration refuses charge points that are not in the registry.
	ClosedRegistration bool
	// Group is the consumer group of Central's topics.
	Group string
	// SharedGroup makes the Centrals of Group share the charge points by
	// the partitions of the charge-point-keyed topics (see actors/central/group.go).
	SharedGroup bool
	// GroupSessionTimeout is how long Kafka waits for a silent member of
	// Central's consumer groups before it moves its partitions to the others.
	GroupSessionTimeout time.Duration
	// Partitions is the partition count of the topics Central creates.
	Partitions int
	// LivenessTimeout is the silence after which a monitor counts as gone.
	LivenessTimeout time.Duration
	// StartTimeout is how long an engine has to confirm a start.
	StartTimeout time.Duration
	// ForwardTimeout bounds the wait for the Central of the shared group
	// that owns a charge point when an operator's order for it is passed on.
	ForwardTimeout time.Duration
	// RequestTTL is the age after which a driver's request is denied as
	// expired (the driver gave up on it, e.g. while Central was down).
	RequestTTL time.Duration
	// CommandTTL is how long a command other than a start stays valid for
	// an engine (a start is valid for StartTimeout).
	CommandTTL time.Duration
	// Auth is how charge points authenticate (--auth, --registry-key, --audit-log).
	Auth CentralAuth
	// Encryption seals Central's traffic with each charge point (--encryption, --master-key...).
	Encryption Encryption

	cpSecrets string
}

// DefaultNodeDataDir is where evnode's roles keep their files by default
// (Central's database, engine journals, driver progress): apart from evsim's
// ./evsim-data, so that the two binaries never read each other's state.
const DefaultNodeDataDir = "./evnode-data"

// CentralFlags registers every flag of `evnode central` on a new FlagSet.
func CentralFlags(c *Central) *FlagSet {
	fs := NewFlagSet("evnode central")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	AddRemoteFlags(fs, &c.Remote, DefaultCentralRemote)
	// Not evsim's ./evsim-data/central.db: the two must not share Central's
	// registry and secrets when run one after the other in one directory.
	fs.String(&c.DB, "db", "", DefaultNodeDataDir+"/central.db", "Central's database (:memory: allowed)")
	fs.String(&c.HTTP, "http", "", "", "web panel, JSON API, health and metrics address, e.g. 0.0.0.0:8080; empty = off")
	fs.String(&c.OperatorToken, "operator-token", "", "", "token that allows operator actions on the web panel; empty = read-only")
	AddStreamFlags(fs, &c.HTTPMaxStreams, &c.HTTPStreamQueue)
	AddWebAppFlags(fs, &c.WebApp)
	fs.String(&c.cpSecrets, "cp-secrets", "", "", "pre-provisioned charge points, CP-001=secret,CP-002=secret,...; others join at their first registration")
	fs.Bool(&c.ClosedRegistration, "closed-registration", "", false, "refuse charge points that are not in the registry (or in --cp-secrets)")
	fs.String(&c.Group, "group", "", "central", "Kafka consumer group of Central")
	fs.Bool(&c.SharedGroup, "shared-group", "", false, "share the charge points with the other Centrals of --group, each owning those of its Kafka partitions")
	fs.Duration(&c.GroupSessionTimeout, "group-session-timeout", "", 10*time.Second, "how long Kafka waits for a silent (killed) Central before it gives its partitions to the others")
	fs.Int(&c.Partitions, "partitions", "", 6, "partitions of the topics Central creates; with --shared-group, the partition count of the cp.* topics")
	fs.Duration(&c.LivenessTimeout, "liveness-timeout", "", 3*time.Second, "silence after which Central marks a monitor DISCONNECTED")
	fs.Duration(&c.StartTimeout, "start-timeout", "", 5*time.Second, "how long an engine has to confirm the start of a supply")
	fs.Duration(&c.ForwardTimeout, "forward-timeout", "", 2*time.Second, "with --shared-group, how long an operator's order for another Central's charge point waits for that Central's answer")
	fs.Duration(&c.RequestTTL, "request-ttl", "", 10*time.Second, "a driver's request older than this is denied as expired (match the drivers' --reply-timeout)")
	fs.Duration(&c.CommandTTL, "command-ttl", "", time.Minute, "an engine ignores a command older than this (a start: older than --start-timeout)")
	addCentralAuthFlags(fs, &c.Auth)
	addEncryptionFlags(fs, &c.Encryption, true)
	return fs
}

// ParseCentral parses args and the environment into a validated Central.
func ParseCentral(args []string, getenv func(string) (string, bool)) (*Central, error) {
	c := &Central{}
	fs := CentralFlags(c)
	if getenv != nil {
		fs.Getenv = getenv
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := c.Kafka.Finish(); err != nil {
		return nil, err
	}
	secrets, err := ParseSecrets(c.cpSecrets)
	if err != nil {
		return nil, err
	}
	if err := c.Auth.finish(c.DB); err != nil {
		return nil, err
	}
	c.CPSecrets = secrets
	return c, c.Validate()
}

// Validate checks every field.
func (c *Central) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := c.Remote.Finish(); err != nil {
		return err
	}
	if err := ValidateStreams(c.HTTPMaxStreams, c.HTTPStreamQueue); err != nil {
		return err
	}
	if err := c.WebApp.Validate(); err != nil {
		return err
	}
	if err := c.Encryption.validate(); err != nil {
		return err
	}
	switch {
	case c.DB == "":
		return Usagef("db", "must not be empty (use :memory: for no file)")
	case c.Group == "":
		return Usagef("group", "must not be empty")
	case c.GroupSessionTimeout <= 0:
		return Usagef("group-session-timeout", "must be more than 0")
	case c.Partitions < 1 || c.Partitions > 1000:
		return Usagef("partitions", "%d is out of range (1 to 1000)", c.Partitions)
	case c.LivenessTimeout <= 0:
		return Usagef("liveness-timeout", "must be more than 0")
	case c.StartTimeout <= 0:
		return Usagef("start-timeout", "must be more than 0")
	case c.ForwardTimeout <= 0:
		return Usagef("forward-timeout", "must be more than 0")
	case c.RequestTTL <= 0:
		return Usagef("request-ttl", "must be more than 0")
	case c.CommandTTL <= 0:
		return Usagef("command-ttl", "must be more than 0")
	}
	if c.HTTP != "" {
		if err := ValidateHostPort(c.HTTP); err != nil {
			return Usagef("http", "%q: %v", c.HTTP, err)
		}
	}
	return nil
}

// ParseSecrets reads "CP-001=secret,CP-002=secret" (blanks ignored).
func ParseSecrets(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range SplitList(s) {
		id, secret, ok := strings.Cut(item, "=")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		switch {
		case !ok || id == "" || secret == "":
			return nil, Usagef("cp-secrets", "%q: want ID=SECRET items separated by commas", redact(item))
		case out[id] != "":
			return nil, Usagef("cp-secrets", "charge point %s is listed twice", id)
		}
		out[id] = secret
	}
	return out, nil
}

// redact keeps a secret out of an error message.
func redact(item string) string {
	if id, _, ok := strings.Cut(item, "="); ok {
		return id + "=..."
	}
	return item
}

// SecretIDs lists the pre-provisioned ids, sorted.
func (c *Central) SecretIDs() []string {
	ids := make([]string, 0, len(c.CPSecrets))
	for id := range c.CPSecrets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// --- engine ------------------------------------------------------------------

// Engine is the configuration of `evnode engine`.
type Engine struct {
	Kafka  Kafka
	Log    Log
	Remote Remote
	// CP is the charge point's id.
	CP    string
	KW    float64
	Price float64
	// Journal is the file that keeps the engine's state across a crash of
	// the process; MemoryState keeps it in memory.
	Journal string
	// Group is the consumer group of the engine's commands; default engine-<CP>.
	Group             string
	TelemetryInterval time.Duration
	SupplyDuration    time.Duration
	TimeScale         float64
	// Encryption: whether the engine seals with the key its monitor hands over (--encryption).
	Encryption Encryption
}

// EngineFlags registers every flag of `evnode engine` on a new FlagSet.
func EngineFlags(c *Engine) *FlagSet {
	fs := NewFlagSet("evnode engine")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	AddRemoteFlags(fs, &c.Remote, DefaultEngineRemote)
	fs.String(&c.CP, "cp", "", "", "the charge point's id, e.g. CP-001 (required)")
	fs.Float(&c.KW, "kw", "", 22, "charge rate in kW")
	fs.Float(&c.Price, "price", "", 0.30, "price in EUR/kWh")
	fs.String(&c.Journal, "journal", "", "", "file that keeps the running supply across a crash; default ./evnode-data/engine-<CP>.json; \"memory\" = none")
	fs.String(&c.Group, "group", "", "", "Kafka consumer group of the engine's commands; default engine-<CP>")
	addEngineTimingFlags(fs, &c.TelemetryInterval, &c.SupplyDuration, &c.TimeScale)
	addEncryptionFlags(fs, &c.Encryption, false)
	return fs
}

// ParseEngine parses args and the environment into a validated Engine.
func ParseEngine(args []string, getenv func(string) (string, bool)) (*Engine, error) {
	c := &Engine{}
	if err := parse(EngineFlags(c), args, getenv, &c.Kafka, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and fills the defaults that depend on --cp.
func (c *Engine) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := validateID("cp", c.CP); err != nil {
		return err
	}
	if err := c.Remote.Finish(); err != nil {
		return err
	}
	switch {
	case c.KW <= 0:
		return Usagef("kw", "%g must be more than 0", c.KW)
	case c.Price < 0:
		return Usagef("price", "%g is negative", c.Price)
	case c.Encryption.validate() != nil:
		return c.Encryption.validate()
	}
	if err := validateEngineTiming(c.TelemetryInterval, c.SupplyDuration, c.TimeScale); err != nil {
		return err
	}
	if c.Journal == "" {
		c.Journal = filepath.Join(DefaultNodeDataDir, "engine-"+c.CP+".json")
	}
	if c.Group == "" {
		c.Group = "engine-" + c.CP
	}
	return nil
}

// --- monitor -----------------------------------------------------------------

// Monitor is the configuration of `evnode monitor`.
type Monitor struct {
	Log    Log
	Remote Remote
	// CP is the charge point's id.
	CP string
	// Engine and Central are the HOST:PORT of their actor remotes.
	Engine   string
	Central  string
	Location string
	// Secret is the charge point's credential presented to Central.
	Secret string
	KW     float64
	Price  float64
	// HealthInterval and HealthTimeout pace the engine's health checks.
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// EngineGrace is how long after start a silent engine is not yet a
	// fault (it may still be starting, or waiting for Kafka); a Central that
	// has not answered yet is not reported as unreachable within it either.
	EngineGrace time.Duration
	// CentralTimeout is the silence after which Central counts as unreachable.
	CentralTimeout time.Duration
	// Registry is where the monitor gets tokens (--registry, --registry-ca, --credential).
	Registry MonitorRegistry
}

// MonitorFlags registers every flag of `evnode monitor` on a new FlagSet.
func MonitorFlags(c *Monitor) *FlagSet {
	fs := NewFlagSet("evnode monitor")
	AddLogFlags(fs, &c.Log)
	AddRemoteFlags(fs, &c.Remote, DefaultMonitorRemote)
	fs.String(&c.CP, "cp", "", "", "the charge point's id, e.g. CP-001 (required)")
	fs.String(&c.Engine, "engine", "", DefaultEngineRemote, "HOST:PORT of the engine's actor remote")
	fs.String(&c.Central, "central", "", DefaultCentralRemote, "HOST:PORT of Central's actor remote")
	fs.String(&c.Location, "location", "", "", "where the charge point is, shown on the panel; default \"Site <CP>\"")
	fs.String(&c.Secret, "secret", "", "", "the charge point's secret, checked by Central in its open mode (required unless --registry)")
	fs.Float(&c.KW, "kw", "", 22, "rated power announced to Central, in kW")
	fs.Float(&c.Price, "price", "", 0.30, "price announced to Central, in EUR/kWh")
	fs.Duration(&c.HealthInterval, "health-interval", "", time.Second, "how often the monitor checks its engine and tells Central it is alive")
	fs.Duration(&c.HealthTimeout, "health-timeout", "", 500*time.Millisecond, "how long the monitor waits for its engine's answer")
	fs.Duration(&c.EngineGrace, "engine-grace", "", 15*time.Second, "after start, how long a silent engine is not a fault (a Central that never answered yet is one INFO line for this long, and at least 10 Central timeouts)")
	fs.Duration(&c.CentralTimeout, "central-timeout", "", 0, "silence after which Central counts as unreachable; default 3 health intervals")
	addMonitorRegistryFlags(fs, &c.Registry)
	return fs
}

// ParseMonitor parses args and the environment into a validated Monitor.
func ParseMonitor(args []string, getenv func(string) (string, bool)) (*Monitor, error) {
	c := &Monitor{}
	if err := parse(MonitorFlags(c), args, getenv, nil, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and fills the defaults that depend on others.
func (c *Monitor) Validate() error {
	if err := c.Log.Validate(); err != nil {
		return err
	}
	if err := validateID("cp", c.CP); err != nil {
		return err
	}
	if err := c.Remote.Finish(); err != nil {
		return err
	}
	if err := dialable(c.Engine); err != nil {
		return Usagef("engine", "%q: %v", c.Engine, err)
	}
	if err := dialableList(c.Central); err != nil {
		return err
	}
	if c.CentralTimeout == 0 {
		c.CentralTimeout = 3 * c.HealthInterval
	}
	if err := c.Registry.finish(); err != nil {
		return err
	}
	switch {
	case c.Secret == "" && c.Registry.URL == "":
		return Usagef("secret", "must not be empty (Central checks it at registration), unless --registry gives tokens")
	case c.KW <= 0:
		return Usagef("kw", "%g must be more than 0", c.KW)
	case c.Price < 0:
		return Usagef("price", "%g is negative", c.Price)
	case c.HealthInterval <= 0:
		return Usagef("health-interval", "must be more than 0")
	case c.HealthTimeout <= 0 || c.HealthTimeout > c.HealthInterval:
		return Usagef("health-timeout", "%v must be more than 0 and at most --health-interval (%v)", c.HealthTimeout, c.HealthInterval)
	case c.EngineGrace < 0:
		return Usagef("engine-grace", "%v is negative", c.EngineGrace)
	case c.CentralTimeout <= c.HealthInterval:
		return Usagef("central-timeout", "%v must be longer than --health-interval (%v)", c.CentralTimeout, c.HealthInterval)
	}
	if c.Location == "" {
		c.Location = "Site " + c.CP
	}
	return nil
}

// --- driver ------------------------------------------------------------------

// Driver is the configuration of `evnode driver`.
type Driver struct {
	Kafka Kafka
	Log   Log
	// ID is the driver's id, e.g. alice.
	ID string
	// Requests is a file with one charge point id per line.
	Requests string
	// Progress is the file that keeps how far the driver got across a crash
	// of the process; MemoryState keeps it in memory.
	Progress string
	// Group is the consumer group of the driver's topics; default driver-<ID>.
	Group        string
	Pause        time.Duration
	ReplyTimeout time.Duration
	StartDelay   time.Duration
}

// DriverFlags registers every flag of `evnode driver` on a new FlagSet.
func DriverFlags(c *Driver) *FlagSet {
	fs := NewFlagSet("evnode driver")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	fs.String(&c.ID, "id", "", "", "the driver's id, e.g. alice (required)")
	fs.String(&c.Requests, "requests", "", "", "file with one charge point id per line (required)")
	fs.String(&c.Progress, "progress", "", "", "file that keeps the driver's progress across a crash; default ./evnode-data/driver-<ID>.json; \"memory\" = none")
	fs.String(&c.Group, "group", "", "", "Kafka consumer group of the driver; default driver-<ID>")
	addDriverPacingFlags(fs, &c.Pause, &c.ReplyTimeout, &c.StartDelay)
	return fs
}

// ParseDriver parses args and the environment into a validated Driver.
func ParseDriver(args []string, getenv func(string) (string, bool)) (*Driver, error) {
	c := &Driver{}
	if err := parse(DriverFlags(c), args, getenv, &c.Kafka, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and fills the defaults that depend on --id.
func (c *Driver) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := validateID("id", c.ID); err != nil {
		return err
	}
	if c.Requests == "" {
		return Usagef("requests", "must name a file with one charge point id per line")
	}
	if err := validateDriverPacing(c.Pause, c.ReplyTimeout, c.StartDelay); err != nil {
		return err
	}
	if c.Progress == "" {
		c.Progress = filepath.Join(DefaultNodeDataDir, "driver-"+c.ID+".json")
	}
	if c.Group == "" {
		c.Group = "driver-" + c.ID
	}
	return nil
}

// --- shared ------------------------------------------------------------------

func validateNode(k *Kafka, l *Log, needBrokers bool) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if needBrokers && len(k.Brokers) == 0 {
		return Usagef("brokers", "must name at least one HOST:PORT")
	}
	return l.Validate()
}

// validateID checks an id that names files, groups and Kafka keys.
func validateID(flagName, id string) error {
	switch {
	case id == "":
		return Usagef(flagName, "is required")
	case strings.ContainsAny(id, " \t/\\,=") || len(id) > 64:
		return Usagef(flagName, "%q: use letters, digits, dashes and dots (at most 64)", id)
	}
	return nil
}

// dialable checks a peer address: HOST:PORT with a host and a real port.
func dialable(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || ValidateHostPort(addr) != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	if host == "" || port == "0" {
		return fmt.Errorf("want a host and a port other than 0")
	}
	return nil
}

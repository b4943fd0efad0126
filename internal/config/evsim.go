package config

import (
	"fmt"
	"time"
)

// Sim is the configuration of evsim, the whole network in one process.
type Sim struct {
	Kafka Kafka
	Log   Log

	// ChargePoints is how many charge points (CP-001..CP-N). Default 5.
	ChargePoints int
	// Drivers is how many drivers: alice, bob, charlie, then driver-004... Default 3.
	Drivers int
	// Requests is a requests file or a folder of <driver>.txt; empty = the shipped files.
	Requests string
	// EmbeddedBroker is where the embedded broker listens when Kafka.Brokers is empty.
	EmbeddedBroker string
	// EmbeddedTLS makes the embedded broker speak TLS only (--embedded-broker-tls).
	EmbeddedTLS bool
	// Duration stops the run cleanly after this long; 0 = until a signal.
	Duration time.Duration
	// Seed makes requests and faults reproducible; 0 = time-based.
	Seed int64
	// Panel is auto (live table on a terminal) or off.
	Panel string
	// HTTP is the web panel's address; empty = off.
	HTTP string
	// OperatorToken guards the web panel's actions; empty = read-only.
	OperatorToken string
	// HTTPMaxStreams is how many live streams the web panel serves at once.
	HTTPMaxStreams int
	// HTTPStreamQueue is how many messages a live stream may fall behind before it is dropped.
	HTTPStreamQueue int
	// WebApp holds the driver app's and the plots' knobs.
	WebApp WebApp
	// DB is Central's database path; ":memory:" allowed.
	DB string
	// SummaryJSON is where the run summary is written on exit; empty = nowhere.
	SummaryJSON string
	// Scenario is a file of timed steps; empty = none.
	Scenario string
	// CPUProfile writes a Go CPU profile of the run to this file; empty = none.
	CPUProfile string
	// MemProfile writes a Go heap profile to this file when the run ends
	// (before the shutdown, so it shows the network at work); empty = none.
	MemProfile string
	// ChaosPanic is, per engine per second, the chance that the engine actor panics.
	ChaosPanic float64
	// ChaosKO is, per engine per second, the chance of a KO that clears after a while.
	ChaosKO float64
	// Partitions is how many partitions each topic gets when created.
	Partitions int
	// Retention and RetentionBytes (per partition) bound what the broker
	// keeps of each topic the bridge creates; the Telemetry ones bound the
	// telemetry topic. SegmentBytes is the embedded broker's segment size
	// (it frees memory a segment at a time).
	Retention               time.Duration
	RetentionBytes          int64
	TelemetryRetention      time.Duration
	TelemetryRetentionBytes int64
	SegmentBytes            int64

	// Timings (rules.md defaults).
	TelemetryInterval time.Duration
	HealthInterval    time.Duration
	HealthTimeout     time.Duration
	LivenessTimeout   time.Duration
	CommandTTL        time.Duration
	DriverPause       time.Duration
	SupplySeconds     time.Duration
	TimeScale         float64
	ChargeKW          float64
	PriceEURPerKWh    float64

	// Registry is the in-process Registry (--auth registry).
	Registry SimRegistry
	// Weather is the in-process weather office (--weather-provider ...).
	Weather       WeatherOffice
	weatherCities string
	// Encryption seals Central's traffic with each charge point (--encryption, --master-key...).
	Encryption Encryption
}

// SimFlags registers every evsim flag on a new FlagSet bound to c.
func SimFlags(c *Sim) *FlagSet {
	fs := NewFlagSet("evsim")
	AddKafkaFlags(fs, &c.Kafka, "")
	AddLogFlags(fs, &c.Log)
	fs.Int(&c.ChargePoints, "cps", "", 5, "charge points CP-001..CP-N, each an engine and a monitor")
	fs.Int(&c.Drivers, "drivers", "", 3, "drivers: alice, bob, charlie, then driver-004...")
	fs.String(&c.Requests, "requests", "", "", "a requests file (one charge point id per line) or a folder of <driver>.txt; empty = shipped files")
	fs.String(&c.EmbeddedBroker, "embedded-broker", "", "127.0.0.1:9092", "where the embedded broker listens (127.0.0.1:0 = any free port)")
	addEmbeddedSecurityFlags(fs, c)
	fs.Duration(&c.Duration, "duration", "", 0, "stop cleanly after this long (e.g. 30s); 0 = until a signal")
	fs.Int64(&c.Seed, "seed", "", 0, "same seed and flags give the same requests and faults; 0 = time-based")
	fs.String(&c.Panel, "panel", "", "auto", "auto (live table on a terminal) or off")
	fs.String(&c.HTTP, "http", "", "", "web panel, JSON API and metrics address, e.g. 127.0.0.1:8080; empty = off")
	fs.String(&c.OperatorToken, "operator-token", "", "", "token that allows operator actions on the web panel; empty = read-only")
	AddStreamFlags(fs, &c.HTTPMaxStreams, &c.HTTPStreamQueue)
	AddWebAppFlags(fs, &c.WebApp)
	fs.String(&c.DB, "db", "", "./evsim-data/central.db", "Central's database (:memory: allowed)")
	fs.String(&c.SummaryJSON, "summary-json", "", "", "write the run summary as JSON to this file on exit")
	fs.String(&c.Scenario, "scenario", "", "", "a scenario file of timed steps")
	fs.String(&c.CPUProfile, "cpu-profile", "", "", "write a Go CPU profile of the run to this file (go tool pprof reads it)")
	fs.String(&c.MemProfile, "mem-profile", "", "", "write a Go heap profile to this file when the run ends, before the shutdown (go tool pprof reads it)")
	fs.Float(&c.ChaosPanic, "chaos-panic", "", 0, "per engine, per second, the chance that the engine actor panics")
	fs.Float(&c.ChaosKO, "chaos-ko", "", 0, "per engine, per second, the chance of a KO that clears after a while")
	fs.Int(&c.Partitions, "partitions", "", 6, "partitions per topic when topics are created")
	fs.Duration(&c.Retention, "retention", "", time.Hour, "how long the broker keeps the records of each topic the bridge creates")
	fs.Int64(&c.RetentionBytes, "retention-bytes", "", 8<<20, "bytes the broker keeps per partition of each topic the bridge creates")
	fs.Duration(&c.TelemetryRetention, "telemetry-retention", "", 5*time.Minute, "how long the broker keeps telemetry records")
	fs.Int64(&c.TelemetryRetentionBytes, "telemetry-retention-bytes", "", 2<<20, "bytes the broker keeps per partition of the telemetry topic")
	fs.Int64(&c.SegmentBytes, "segment-bytes", "", 1<<20, "the embedded broker's log segment size (retention frees memory one segment at a time)")
	fs.Duration(&c.TelemetryInterval, "telemetry-interval", "", time.Second, "how often an engine reports while supplying")
	fs.Duration(&c.HealthInterval, "health-interval", "", time.Second, "how often a monitor checks its engine")
	fs.Duration(&c.HealthTimeout, "health-timeout", "", 500*time.Millisecond, "how long a monitor waits for its engine's answer")
	fs.Duration(&c.LivenessTimeout, "liveness-timeout", "", 3*time.Second, "silence after which Central marks a monitor DISCONNECTED")
	fs.Duration(&c.CommandTTL, "command-ttl", "", time.Minute, "an engine ignores a command of Central older than this (a start: older than the start timeout)")
	fs.Duration(&c.DriverPause, "driver-pause", "", 4*time.Second, "a driver's pause after each request ends")
	fs.Duration(&c.SupplySeconds, "supply-duration", "", 10*time.Second, "how long a simulated vehicle stays plugged in")
	fs.Float(&c.TimeScale, "time-scale", "", DefaultTimeScale, "simulated seconds of charging per real second (1 = real time)")
	fs.Float(&c.ChargeKW, "kw", "", 22, "charge rate of each charge point in kW")
	fs.Float(&c.PriceEURPerKWh, "price", "", 0.30, "price in EUR/kWh of each charge point")
	addSimRegistryFlags(fs, &c.Registry)
	addWeatherFlags(fs, &c.Weather, "weather-", &c.weatherCities)
	addEncryptionFlags(fs, &c.Encryption, true)
	return fs
}

// ParseSim parses args and the environment into a validated Sim.
func ParseSim(args []string, getenv func(string) (string, bool)) (*Sim, error) {
	c := &Sim{}
	if err := parse(SimFlags(c), args, getenv, &c.Kafka, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and the fields against each other.
func (c *Sim) Validate() error {
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	switch {
	case c.ChargePoints < 1 || c.ChargePoints > 999999:
		return Usagef("cps", "%d is out of range (1 to 999999)", c.ChargePoints)
	case c.Drivers < 0 || c.Drivers > 999999:
		return Usagef("drivers", "%d is out of range (0 to 999999)", c.Drivers)
	case c.Duration < 0:
		return Usagef("duration", "%v is negative", c.Duration)
	case c.Panel != "auto" && c.Panel != "off":
		return Usagef("panel", "%q is not auto or off", c.Panel)
	case c.DB == "":
		return Usagef("db", "must not be empty (use :memory: for no file)")
	case c.ChaosPanic < 0 || c.ChaosPanic > 1:
		return Usagef("chaos-panic", "%g is not a probability from 0 to 1", c.ChaosPanic)
	case c.ChaosKO < 0 || c.ChaosKO > 1:
		return Usagef("chaos-ko", "%g is not a probability from 0 to 1", c.ChaosKO)
	case c.Partitions < 1 || c.Partitions > 1000:
		return Usagef("partitions", "%d is out of range (1 to 1000)", c.Partitions)
	case c.Retention < time.Second:
		return Usagef("retention", "%v must be at least 1s", c.Retention)
	case c.TelemetryRetention < time.Second:
		return Usagef("telemetry-retention", "%v must be at least 1s", c.TelemetryRetention)
	case c.RetentionBytes < 64<<10:
		return Usagef("retention-bytes", "%d must be at least 65536", c.RetentionBytes)
	case c.TelemetryRetentionBytes < 64<<10:
		return Usagef("telemetry-retention-bytes", "%d must be at least 65536", c.TelemetryRetentionBytes)
	case c.SegmentBytes < 64<<10:
		return Usagef("segment-bytes", "%d must be at least 65536", c.SegmentBytes)
	case c.TelemetryInterval <= 0:
		return Usagef("telemetry-interval", "must be more than 0")
	case c.HealthInterval <= 0:
		return Usagef("health-interval", "must be more than 0")
	case c.HealthTimeout <= 0 || c.HealthTimeout > c.HealthInterval:
		return Usagef("health-timeout", "%v must be more than 0 and at most --health-interval (%v)", c.HealthTimeout, c.HealthInterval)
	case c.LivenessTimeout <= c.HealthInterval:
		return Usagef("liveness-timeout", "%v must be longer than --health-interval (%v)", c.LivenessTimeout, c.HealthInterval)
	case c.CommandTTL <= 0:
		return Usagef("command-ttl", "must be more than 0")
	case c.DriverPause < 0:
		return Usagef("driver-pause", "%v is negative", c.DriverPause)
	case c.SupplySeconds <= 0:
		return Usagef("supply-duration", "must be more than 0")
	case c.TimeScale <= 0 || c.TimeScale > 3600:
		return Usagef("time-scale", "%g is out of range (more than 0, at most 3600)", c.TimeScale)
	case c.ChargeKW <= 0:
		return Usagef("kw", "%g must be more than 0", c.ChargeKW)
	case c.PriceEURPerKWh < 0:
		return Usagef("price", "%g is negative", c.PriceEURPerKWh)
	}
	if err := c.Registry.validate(); err != nil {
		return err
	}
	if err := c.Weather.validate("weather-", c.weatherCities); err != nil {
		return err
	}
	if err := c.Encryption.validate(); err != nil {
		return err
	}
	if len(c.Kafka.Brokers) == 0 {
		if err := ValidateHostPort(c.EmbeddedBroker); err != nil {
			return Usagef("embedded-broker", "%q: %v", c.EmbeddedBroker, err)
		}
	}
	if err := c.validateEmbeddedSecurity(); err != nil {
		return err
	}
	if err := ValidateStreams(c.HTTPMaxStreams, c.HTTPStreamQueue); err != nil {
		return err
	}
	if err := c.WebApp.Validate(); err != nil {
		return err
	}
	if c.HTTP != "" {
		if err := ValidateHostPort(c.HTTP); err != nil {
			return Usagef("http", "%q: %v", c.HTTP, err)
		}
	}
	return nil
}

// DefaultTimeScale makes each real second of a supply worth a simulated
// minute of charging, so that a 10 s supply at 22 kW delivers 3.67 kWh
// (1.10 EUR) rather than 0.06 kWh: figures a person watching can follow.
// --time-scale 1 gives real time.
const DefaultTimeScale = 60

// DriverName is the id of the i-th driver (0-based): alice, bob, charlie, driver-004, ...
func DriverName(i int) string {
	switch i {
	case 0:
		return "alice"
	case 1:
		return "bob"
	case 2:
		return "charlie"
	}
	return fmt.Sprintf("driver-%03d", i+1)
}

// ChargePointID is the id of the i-th charge point (0-based): CP-001, CP-002, ...
func ChargePointID(i int) string { return fmt.Sprintf("CP-%03d", i+1) }

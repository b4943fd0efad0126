package config

import (
	"fmt"
	"path/filepath"
	"time"
)

// Drivers is the configuration of `evnode drivers`: many drivers in one
// process, with one Kafka bridge for all of them.
type Drivers struct {
	Kafka Kafka
	Log   Log
	// First and Count give the drivers' numbers, put in IDPattern.
	First     int
	Count     int
	IDPattern string
	// Requests is a file (every driver's requests) or a folder of
	// <driver>.txt; a driver without one gets PerDriver requests drawn from
	// the charge points CPFirst..CPFirst+CPCount-1 (CPPattern) with Seed.
	Requests  string
	CPFirst   int
	CPCount   int
	CPPattern string
	PerDriver int
	Seed      int64
	// ProgressDir keeps each driver's progress (<ID>.json); MemoryState = none.
	ProgressDir string
	// Group is the Kafka consumer group of the drivers; default drivers-<first id>-<last id>.
	Group        string
	Pause        time.Duration
	ReplyTimeout time.Duration
	StartDelay   time.Duration
}

// DriversFlags registers every flag of `evnode drivers` on a new FlagSet.
func DriversFlags(c *Drivers) *FlagSet {
	fs := NewFlagSet("evnode drivers")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	fs.Int(&c.First, "first", "", 1, "number of the first driver")
	fs.Int(&c.Count, "count", "", 10, "how many drivers this node hosts")
	fs.String(&c.IDPattern, "id-pattern", "", "driver-%03d", "driver ids: a pattern with one integer verb, e.g. driver-%05d")
	fs.String(&c.Requests, "requests", "", "", "a requests file (one charge point id per line, for every driver) or a folder of <driver>.txt; empty = drawn from --cp-first/--cp-count")
	fs.Int(&c.CPFirst, "cp-first", "", 1, "drawn requests: number of the first charge point")
	fs.Int(&c.CPCount, "cp-count", "", 5, "drawn requests: how many charge points to draw from")
	fs.String(&c.CPPattern, "cp-pattern", "", "CP-%03d", "drawn requests: the charge points' id pattern")
	fs.Int(&c.PerDriver, "requests-per-driver", "", 10, "drawn requests: how many per driver")
	fs.Int64(&c.Seed, "seed", "", 1, "drawn requests: the same seed gives the same requests")
	fs.String(&c.ProgressDir, "progress-dir", "", filepath.Join(DefaultNodeDataDir, "drivers"), "folder of the drivers' progress (<ID>.json), kept across a crash; \"memory\" = none")
	fs.String(&c.Group, "group", "", "", "Kafka consumer group of the drivers; default drivers-<first id>-<last id> (one per node)")
	addDriverPacingFlags(fs, &c.Pause, &c.ReplyTimeout, &c.StartDelay)
	return fs
}

// ParseDrivers parses args and the environment into a validated Drivers.
func ParseDrivers(args []string, getenv func(string) (string, bool)) (*Drivers, error) {
	c := &Drivers{}
	if err := parse(DriversFlags(c), args, getenv, &c.Kafka, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and fills the defaults that depend on others.
func (c *Drivers) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := ValidateIDPattern("id-pattern", c.IDPattern); err != nil {
		return err
	}
	if err := ValidateIDPattern("cp-pattern", c.CPPattern); err != nil {
		return err
	}
	switch {
	case c.First < 0:
		return Usagef("first", "%d is negative", c.First)
	case c.Count < 1 || c.Count > 1_000_000:
		return Usagef("count", "%d is out of range (1 to 1000000)", c.Count)
	case c.CPFirst < 0:
		return Usagef("cp-first", "%d is negative", c.CPFirst)
	case c.CPCount < 1:
		return Usagef("cp-count", "%d must be at least 1", c.CPCount)
	case c.PerDriver < 1:
		return Usagef("requests-per-driver", "%d must be at least 1", c.PerDriver)
	case c.ProgressDir == "":
		return Usagef("progress-dir", "must not be empty (\"memory\" keeps no progress)")
	}
	if err := validateDriverPacing(c.Pause, c.ReplyTimeout, c.StartDelay); err != nil {
		return err
	}
	group, err := rangeGroup("drivers", c.ID, c.First, c.Count)
	if err != nil {
		return err
	}
	if c.Group == "" {
		c.Group = group
	}
	return nil
}

// ID is the id of driver number n.
func (c *Drivers) ID(n int) string { return fmt.Sprintf(c.IDPattern, n) }

// CPID is the id of charge point number n (drawn requests).
func (c *Drivers) CPID(n int) string { return fmt.Sprintf(c.CPPattern, n) }

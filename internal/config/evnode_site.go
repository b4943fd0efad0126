package config

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file is the configuration of `evnode site`: a range of charge points
// (engine + monitor each) in one process, with one actor remote and one
// Kafka bridge for all of them.

// DefaultSiteRemote is where `evnode site` listens by default.
const DefaultSiteRemote = "127.0.0.1:9301"

// SiteRootName is the root supervisor of `evnode site`: a charge point's
// engine is the actor SiteRootName/cp-<ID>/engine (what `evnode health site` asks).
const SiteRootName = "site"

// SiteChargePoint is what a charge point of a site announces.
type SiteChargePoint struct {
	ID       string
	Location string
	Price    float64
	KW       float64
}

// Site is the configuration of `evnode site`.
type Site struct {
	Kafka  Kafka
	Log    Log
	Remote Remote
	// Central is HOST:PORT of Central's actor remote.
	Central string
	// First and Count give the charge points' numbers, put in IDPattern
	// (a printf pattern with one integer verb, e.g. CP-%05d).
	First     int
	Count     int
	IDPattern string
	// Location is a pattern of every charge point's location: {id} is its
	// id, {n} its number. KW and Price are every charge point's.
	Location string
	KW       float64
	Price    float64
	// CPFile lists charge points whose location, price or kW differ.
	CPFile string
	// Group is the Kafka consumer group of the engines' commands: one per
	// site node (each node reads every command and keeps its own).
	Group string
	// KeyFile keeps the key that derives each charge point's secret (open
	// mode), created on the first start: the same node presents the same
	// secrets after a restart.
	KeyFile string
	// JournalDir keeps one journal per engine (<ID>.json); MemoryState = none.
	JournalDir string
	// Registry, RegistryCA and Credentials: with a Registry, each monitor
	// exchanges its charge point's credential (from the Credentials file,
	// ID=CREDENTIAL per line, or folder of <ID>.credential files) for a token.
	Registry    string
	RegistryCA  string
	Credentials string

	// Encryption: whether the engines seal with the keys their monitors
	// hand over (--encryption), as `evnode engine`.
	Encryption Encryption

	TelemetryInterval time.Duration
	SupplyDuration    time.Duration
	TimeScale         float64
	HealthInterval    time.Duration
	HealthTimeout     time.Duration

	overrides map[string]SiteChargePoint
	creds     map[string]string
}

// SiteFlags registers every flag of `evnode site` on a new FlagSet.
func SiteFlags(c *Site) *FlagSet {
	fs := NewFlagSet("evnode site")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	AddRemoteFlags(fs, &c.Remote, DefaultSiteRemote)
	fs.String(&c.Central, "central", "", DefaultCentralRemote, "HOST:PORT of Central's actor remote; several, comma-separated, for the Centrals of one shared group")
	fs.Int(&c.First, "first", "", 1, "number of the first charge point")
	fs.Int(&c.Count, "count", "", 10, "how many charge points this node hosts")
	fs.String(&c.IDPattern, "id-pattern", "", "CP-%03d", "charge point ids: a pattern with one integer verb, e.g. CP-%05d")
	fs.String(&c.Location, "location", "", "Site {id}", "every charge point's location; {id} is its id, {n} its number")
	fs.Float(&c.KW, "kw", "", 22, "every charge point's rate in kW")
	fs.Float(&c.Price, "price", "", 0.30, "every charge point's price in EUR/kWh")
	fs.String(&c.CPFile, "cp-file", "", "", "file of ID,LOCATION,PRICE[,KW] lines for charge points that differ from --location, --price, --kw")
	fs.String(&c.Group, "group", "", "", "Kafka consumer group of the engines' commands; default site-<first id>-<last id> (one per node)")
	fs.String(&c.KeyFile, "key-file", "", filepath.Join(DefaultNodeDataDir, "site.key"), "key that derives each charge point's secret (open mode), created if missing")
	fs.String(&c.JournalDir, "journal-dir", "", filepath.Join(DefaultNodeDataDir, "site-engines"), "folder of the engines' journals (<ID>.json), kept across a crash; \"memory\" = none")
	fs.String(&c.Registry, "registry", "", "", "the Registry's https://HOST:PORT: each monitor exchanges its credential (--credentials) for a token; empty = open mode")
	fs.String(&c.RegistryCA, "registry-ca", "", "", "certificate to trust for --registry (its registry.crt); empty = the system's roots")
	fs.String(&c.Credentials, "credentials", "", "", "with --registry: a file of ID=CREDENTIAL lines, or a folder of <ID>.credential files, one per charge point of the node")
	addEngineTimingFlags(fs, &c.TelemetryInterval, &c.SupplyDuration, &c.TimeScale)
	addEncryptionFlags(fs, &c.Encryption, false)
	fs.Duration(&c.HealthInterval, "health-interval", "", time.Second, "how often a monitor checks its engine and tells Central it is alive")
	fs.Duration(&c.HealthTimeout, "health-timeout", "", 500*time.Millisecond, "how long a monitor waits for its engine's answer")
	return fs
}

// ParseSite parses args and the environment into a validated Site.
func ParseSite(args []string, getenv func(string) (string, bool)) (*Site, error) {
	c := &Site{}
	if err := parse(SiteFlags(c), args, getenv, &c.Kafka, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// idVerb is the one integer verb an id pattern must have.
var idVerb = regexp.MustCompile(`%0?[0-9]*d`)

// ValidateIDPattern checks a pattern of ids (flag names the flag).
func ValidateIDPattern(flagName, pattern string) error {
	if len(idVerb.FindAllString(pattern, -1)) != 1 || strings.Count(pattern, "%") != 1 {
		return Usagef(flagName, "%q: want one integer verb such as %%d or %%05d and no other %%", pattern)
	}
	return nil
}

// Validate checks every field and reads the charge point and credentials files.
func (c *Site) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := c.Remote.Finish(); err != nil {
		return err
	}
	if err := c.Encryption.validate(); err != nil {
		return err
	}
	if err := dialableList(c.Central); err != nil {
		return err
	}
	if err := ValidateIDPattern("id-pattern", c.IDPattern); err != nil {
		return err
	}
	switch {
	case c.First < 0:
		return Usagef("first", "%d is negative", c.First)
	case c.Count < 1 || c.Count > 1_000_000:
		return Usagef("count", "%d is out of range (1 to 1000000)", c.Count)
	case c.KW <= 0:
		return Usagef("kw", "%g must be more than 0", c.KW)
	case c.Price < 0:
		return Usagef("price", "%g is negative", c.Price)
	case c.HealthInterval <= 0:
		return Usagef("health-interval", "must be more than 0")
	case c.HealthTimeout <= 0 || c.HealthTimeout > c.HealthInterval:
		return Usagef("health-timeout", "%v must be more than 0 and at most --health-interval (%v)", c.HealthTimeout, c.HealthInterval)
	case c.JournalDir == "":
		return Usagef("journal-dir", "must not be empty (\"memory\" keeps no journal)")
	}
	if err := validateEngineTiming(c.TelemetryInterval, c.SupplyDuration, c.TimeScale); err != nil {
		return err
	}
	group, err := rangeGroup("site", c.ID, c.First, c.Count)
	if err != nil {
		return err
	}
	if c.Group == "" {
		c.Group = group
	}
	if c.Registry == "" {
		if c.KeyFile == "" {
			return Usagef("key-file", "must not be empty in open mode (it derives the charge points' secrets)")
		}
	} else if err := c.finishRegistry(); err != nil {
		return err
	}
	if c.CPFile != "" {
		if err := c.readCPFile(); err != nil {
			return err
		}
	}
	return nil
}

// rangeGroup checks the first and last ids of a range (--id-pattern) and
// names the range's default consumer group, PREFIX-<first id>-<last id>.
func rangeGroup(prefix string, id func(int) string, first, count int) (string, error) {
	for _, n := range []int{first, first + count - 1} {
		if err := validateID("id-pattern", id(n)); err != nil {
			return "", err
		}
	}
	return prefix + "-" + id(first) + "-" + id(first+count-1), nil
}

// ID is the id of charge point number n.
func (c *Site) ID(n int) string { return fmt.Sprintf(c.IDPattern, n) }

// ChargePoints lists the node's charge points, in order, with what each announces.
func (c *Site) ChargePoints() []SiteChargePoint {
	out := make([]SiteChargePoint, 0, c.Count)
	for n := c.First; n < c.First+c.Count; n++ {
		id := c.ID(n)
		if o, ok := c.overrides[id]; ok {
			out = append(out, o)
			continue
		}
		loc := strings.NewReplacer("{id}", id, "{n}", strconv.Itoa(n)).Replace(c.Location)
		out = append(out, SiteChargePoint{ID: id, Location: loc, Price: c.Price, KW: c.KW})
	}
	return out
}

// Credential is charge point id's credential from --credentials ("" if none).
func (c *Site) Credential(id string) string { return c.creds[id] }

func (c *Site) inRange() map[string]bool {
	ids := make(map[string]bool, c.Count)
	for n := c.First; n < c.First+c.Count; n++ {
		ids[c.ID(n)] = true
	}
	return ids
}

func (c *Site) finishRegistry() error {
	u, err := url.Parse(c.Registry)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return Usagef("registry", "%q: want https://HOST:PORT", c.Registry)
	}
	if c.Credentials == "" {
		return Usagef("credentials", "is required with --registry (a file of ID=CREDENTIAL lines)")
	}
	if info, err := os.Stat(c.Credentials); err == nil && info.IsDir() {
		return c.readCredentialFiles()
	}
	ids := c.inRange()
	c.creds = map[string]string{}
	err = eachLine(c.Credentials, func(n int, line string) error {
		id, cred, ok := strings.Cut(line, "=")
		id, cred = strings.TrimSpace(id), strings.TrimSpace(cred)
		switch {
		case !ok || id == "" || cred == "":
			return fmt.Errorf("line %d: want ID=CREDENTIAL", n)
		case c.creds[id] != "":
			return fmt.Errorf("line %d: %s is listed twice", n, id)
		}
		if ids[id] {
			c.creds[id] = cred
		}
		return nil
	})
	if err != nil {
		return Usagef("credentials", "%s: %v", c.Credentials, err)
	}
	for _, cp := range c.ChargePoints() {
		if c.creds[cp.ID] == "" {
			return Usagef("credentials", "%s has no credential for %s", c.Credentials, cp.ID)
		}
	}
	return nil
}

// readCredentialFiles reads a folder of <ID>.credential files, one per
// charge point (as `evnode enrol` writes them).
func (c *Site) readCredentialFiles() error {
	c.creds = map[string]string{}
	for n := c.First; n < c.First+c.Count; n++ {
		id := c.ID(n)
		b, err := os.ReadFile(filepath.Join(c.Credentials, id+".credential"))
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return Usagef("credentials", "folder %s has no credential for %s (%s.credential)", c.Credentials, id, id)
		}
		c.creds[id] = strings.TrimSpace(string(b))
	}
	return nil
}

func (c *Site) readCPFile() error {
	ids := c.inRange()
	c.overrides = map[string]SiteChargePoint{}
	err := eachLine(c.CPFile, func(n int, line string) error {
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) < 3 || len(f) > 4 || f[0] == "" || f[1] == "" {
			return fmt.Errorf("line %d: want ID,LOCATION,PRICE[,KW]", n)
		}
		cp := SiteChargePoint{ID: f[0], Location: f[1], KW: c.KW}
		var err error
		if cp.Price, err = strconv.ParseFloat(f[2], 64); err != nil || cp.Price < 0 {
			return fmt.Errorf("line %d: price %q is not a number of EUR/kWh", n, f[2])
		}
		if len(f) == 4 {
			if cp.KW, err = strconv.ParseFloat(f[3], 64); err != nil || cp.KW <= 0 {
				return fmt.Errorf("line %d: kW %q is not a number more than 0", n, f[3])
			}
		}
		if !ids[cp.ID] {
			return fmt.Errorf("line %d: %s is not a charge point of this node (--first, --count, --id-pattern)", n, cp.ID)
		}
		c.overrides[cp.ID] = cp
		return nil
	})
	if err != nil {
		return Usagef("cp-file", "%s: %v", c.CPFile, err)
	}
	return nil
}

// eachLine calls f with every line of a file that is not blank or a # comment.
func eachLine(path string, f func(n int, line string) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := f(n, line); err != nil {
			return err
		}
	}
	return sc.Err()
}

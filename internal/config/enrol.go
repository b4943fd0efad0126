package config

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Enrol is the configuration of `evnode enrol`: register charge points in
// the Registry and keep each one's credential in a file for its monitor.
type Enrol struct {
	Log Log
	// Registry is the Registry's https:// address.
	Registry string
	// CA is the certificate to trust for it; Fingerprint, when set, pins
	// its certificate's SHA-256 instead (AA:BB:..., as the Registry logs
	// it) and CA is not read.
	CA, Fingerprint string
	// AdminToken authorises the registrations.
	AdminToken string
	// ChargePoints to enrol.
	ChargePoints []EnrolChargePoint
	// Out is the folder of the credential files (<ID>.credential) and of
	// the Registry's certificate (registry.crt) for the monitors.
	Out string
	// Wait bounds how long an unreachable Registry is retried.
	Wait time.Duration

	cps string
}

// EnrolChargePoint is one charge point of --cps.
type EnrolChargePoint struct {
	ID       string
	Price    float64
	Location string
}

// fingerprintPattern is a SHA-256 as the Registry logs it.
var fingerprintPattern = regexp.MustCompile(`^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$`)

// EnrolFlags registers every flag of `evnode enrol` on a new FlagSet.
func EnrolFlags(c *Enrol) *FlagSet {
	fs := NewFlagSet("evnode enrol")
	AddLogFlags(fs, &c.Log)
	fs.String(&c.Registry, "registry", "", "", "the Registry's https://HOST:PORT (required)")
	fs.String(&c.CA, "registry-ca", "", "", "certificate to trust for --registry (its registry.crt); empty = --registry-fingerprint, or the system's roots")
	fs.String(&c.Fingerprint, "registry-fingerprint", "", "", "pin the Registry's certificate by its SHA-256 (AA:BB:..., logged by the Registry); when set, --registry-ca is not read. The certificate is saved as OUT/registry.crt")
	fs.String(&c.AdminToken, "admin-token", "", "", "the Registry's admin token (required)")
	fs.String(&c.cps, "cps", "", "", "the charge points, ID:PRICE:LOCATION separated by ';' (e.g. 'CP-001:0.30:Central Station;CP-002:0.30:Airport')")
	fs.String(&c.Out, "out", "", DefaultNodeDataDir+"/credentials", "folder of the credential files (<ID>.credential, mode 0600) and the Registry's certificate (registry.crt)")
	fs.Duration(&c.Wait, "wait", "", 2*time.Minute, "how long to retry a Registry that does not answer yet")
	return fs
}

// ParseEnrol parses args and the environment into a validated Enrol.
func ParseEnrol(args []string, getenv func(string) (string, bool)) (*Enrol, error) {
	c := &Enrol{}
	if err := parse(EnrolFlags(c), args, getenv, nil, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field and reads --cps.
func (c *Enrol) Validate() error {
	if err := c.Log.Validate(); err != nil {
		return err
	}
	u, err := url.Parse(c.Registry)
	switch {
	case c.Registry == "":
		return Usagef("registry", "is required: the Registry's https://HOST:PORT")
	case err != nil || u.Scheme != "https" || u.Host == "":
		return Usagef("registry", "%q: want https://HOST:PORT", c.Registry)
	case c.AdminToken == "":
		return Usagef("admin-token", "is required (or EVSIM_ADMIN_TOKEN)")
	case c.Fingerprint != "" && !fingerprintPattern.MatchString(c.Fingerprint):
		return Usagef("registry-fingerprint", "%q: want 32 hex bytes separated by colons, as the Registry logs it", c.Fingerprint)
	case c.Out == "":
		return Usagef("out", "must not be empty")
	case c.Wait <= 0:
		return Usagef("wait", "must be more than 0")
	}
	c.ChargePoints = nil
	seen := map[string]bool{}
	for _, entry := range strings.Split(c.cps, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		parts := strings.SplitN(entry, ":", 3)
		if len(parts) < 2 {
			return Usagef("cps", "%q: want ID:PRICE:LOCATION", entry)
		}
		cp := EnrolChargePoint{ID: strings.TrimSpace(parts[0])}
		if err := validateID("cps", cp.ID); err != nil {
			return err
		}
		if seen[cp.ID] {
			return Usagef("cps", "%s is listed twice", cp.ID)
		}
		seen[cp.ID] = true
		if cp.Price, err = strconv.ParseFloat(strings.TrimSpace(parts[1]), 64); err != nil || cp.Price < 0 {
			return Usagef("cps", "%q: the price %q is not a number of EUR/kWh", entry, parts[1])
		}
		if len(parts) == 3 {
			cp.Location = strings.TrimSpace(parts[2])
		}
		if cp.Location == "" {
			cp.Location = "Site " + cp.ID
		}
		c.ChargePoints = append(c.ChargePoints, cp)
	}
	if len(c.ChargePoints) == 0 {
		return Usagef("cps", "names no charge point: want ID:PRICE:LOCATION;...")
	}
	return nil
}

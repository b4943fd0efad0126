package config

import (
	"time"
)

// DefaultRegistryListen is where `evnode registry` serves HTTPS by default.
const DefaultRegistryListen = "127.0.0.1:8443"

// MinAdminToken is the shortest admin token the Registry accepts.
const MinAdminToken = 16

// Registry is the configuration of `evnode registry`.
type Registry struct {
	Kafka Kafka
	Log   Log
	// Listen is HOST:PORT of the HTTPS API.
	Listen string
	// DataDir keeps the charge points (credentials hashed), the signing
	// key, the self-signed TLS pair and the audit log.
	DataDir string
	// AdminToken authorises operator calls.
	AdminToken string
	// TLSCert and TLSKey are the server's pair; both empty = a self-signed
	// pair kept in DataDir.
	TLSCert, TLSKey string
	// TLSHosts are extra names or addresses of the self-signed certificate.
	TLSHosts []string
	// TokenTTL is how long a token lives.
	TokenTTL time.Duration
	// AuthFailureLimit failures per id and source within AuthFailureWindow
	// lock that pair out for AuthLockout.
	AuthFailureLimit  int
	AuthFailureWindow time.Duration
	AuthLockout       time.Duration
	// AuditSync flushes every audit record to disk (fsync).
	AuditSync bool
	// PublicDir, when set, receives what clients need and may see: the
	// certificate (registry.crt) and the tokens' public key (registry-key.pub).
	PublicDir string

	tlsHosts string
}

// RegistryFlags registers every flag of `evnode registry` on a new FlagSet.
func RegistryFlags(c *Registry) *FlagSet {
	fs := NewFlagSet("evnode registry")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	fs.String(&c.Listen, "listen", "", DefaultRegistryListen, "HOST:PORT of the Registry's HTTPS API")
	fs.String(&c.DataDir, "data-dir", "", DefaultNodeDataDir+"/registry", "charge points (credentials hashed), signing key, TLS pair and audit log")
	fs.String(&c.AdminToken, "admin-token", "", "", "token of the operator's calls (Authorization: Bearer T); 16 characters or more")
	fs.String(&c.TLSCert, "tls-cert", "", "", "PEM certificate of the HTTPS API; empty (with --tls-key) = a self-signed pair in --data-dir")
	fs.String(&c.TLSKey, "tls-key", "", "", "PEM key of --tls-cert")
	fs.String(&c.tlsHosts, "tls-hosts", "", "", "extra host names or IPs for the self-signed certificate, comma-separated (localhost and 127.0.0.1 are always in)")
	fs.Duration(&c.TokenTTL, "token-ttl", "", 5*time.Minute, "how long a charge point's token is valid")
	fs.Int(&c.AuthFailureLimit, "auth-failure-limit", "", 5, "failed authentications per id and source before a lockout")
	fs.Duration(&c.AuthFailureWindow, "auth-failure-window", "", 10*time.Minute, "window in which failed authentications count")
	fs.Duration(&c.AuthLockout, "auth-lockout", "", time.Minute, "how long a locked-out id and source is refused (429)")
	fs.Bool(&c.AuditSync, "audit-fsync", "", true, "flush every audit record to disk before answering")
	fs.String(&c.PublicDir, "public-dir", "", "", "a folder to write the public parts to at start: registry.crt (for monitors and `evnode enrol`) and registry-key.pub (for Central's --registry-key-file); empty = none")
	return fs
}

// ParseRegistry parses args and the environment into a validated Registry.
func ParseRegistry(args []string, getenv func(string) (string, bool)) (*Registry, error) {
	c := &Registry{}
	err := parse(RegistryFlags(c), args, getenv, &c.Kafka, func() error {
		c.TLSHosts = SplitList(c.tlsHosts)
		return c.Validate()
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field.
func (c *Registry) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := ValidateHostPort(c.Listen); err != nil {
		return Usagef("listen", "%q: %v", c.Listen, err)
	}
	switch {
	case c.DataDir == "":
		return Usagef("data-dir", "must not be empty")
	case c.AdminToken == "":
		return Usagef("admin-token", "is required (or EVSIM_ADMIN_TOKEN)")
	case len(c.AdminToken) < MinAdminToken:
		return Usagef("admin-token", "is %d characters; use %d or more", len(c.AdminToken), MinAdminToken)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return Usagef("tls-cert", "--tls-cert and --tls-key go together (or neither, for a self-signed pair)")
	case c.TokenTTL < time.Second || c.TokenTTL > 24*time.Hour:
		return Usagef("token-ttl", "%s is out of range (1s to 24h)", c.TokenTTL)
	case c.AuthFailureLimit < 1:
		return Usagef("auth-failure-limit", "must be 1 or more")
	case c.AuthFailureWindow <= 0:
		return Usagef("auth-failure-window", "must be more than 0")
	case c.AuthLockout <= 0:
		return Usagef("auth-lockout", "must be more than 0")
	}
	return nil
}

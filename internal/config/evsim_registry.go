package config

import (
	"time"
)

// Authentication modes of charge points (--auth).
const (
	// AuthRegistry: charge points are registered in the Registry and their
	// monitors present its tokens; Central refuses anything else.
	AuthRegistry = "registry"
	// AuthOpen: the lab's open mode: a new charge point joins with the
	// secret it first presents.
	AuthOpen = "open"
)

// SimRegistry is the Registry that evsim runs in its process (--auth registry).
type SimRegistry struct {
	// Auth is registry (default) or open.
	Auth string
	// Listen is where its HTTPS API listens; port 0 = any (the address is logged).
	Listen string
	// DataDir keeps its state, keys, TLS pair and audit log; empty = beside
	// --db (central-registry/), or a temporary folder with --db :memory:.
	DataDir string
	// AdminToken authorises the API's operator calls; empty = a random one
	// kept in DataDir/admin-token.
	AdminToken string
	// BcryptCost hashes the credentials.
	BcryptCost int
	// TokenTTL is how long a token lives.
	TokenTTL time.Duration
}

// addSimRegistryFlags registers the Registry's flags of evsim.
func addSimRegistryFlags(fs *FlagSet, r *SimRegistry) {
	fs.String(&r.Auth, "auth", "", AuthRegistry, "how charge points authenticate: registry (the in-process Registry's tokens; Central refuses anything else) or open (the lab's mode: any first secret)")
	fs.String(&r.Listen, "registry-listen", "", "127.0.0.1:0", "where the Registry's HTTPS API listens (port 0 = any free port; the address is logged)")
	fs.String(&r.DataDir, "registry-data-dir", "", "", "the Registry's folder; empty = beside --db (central-registry/), or temporary with --db :memory:")
	fs.String(&r.AdminToken, "registry-admin-token", "", "", "admin token of the Registry's API; empty = a random one written to the data folder's admin-token file")
	// Credentials are 256 random bits: no guessing is feasible at any cost,
	// so the one-process run keeps start-up quick with thousands of them.
	fs.Int(&r.BcryptCost, "registry-bcrypt-cost", "", 4, "bcrypt cost of the Registry's credential hashes (4 to 31)")
	fs.Duration(&r.TokenTTL, "token-ttl", "", 5*time.Minute, "how long a charge point's token is valid")
}

func (r *SimRegistry) validate() error {
	switch {
	case r.Auth != AuthRegistry && r.Auth != AuthOpen:
		return Usagef("auth", "%q is not registry or open", r.Auth)
	case r.Auth == AuthOpen:
		return nil
	case r.BcryptCost < 4 || r.BcryptCost > 31:
		return Usagef("registry-bcrypt-cost", "%d is out of range (4 to 31)", r.BcryptCost)
	case r.TokenTTL < time.Second || r.TokenTTL > 24*time.Hour:
		return Usagef("token-ttl", "%s is out of range (1s to 24h)", r.TokenTTL)
	case r.AdminToken != "" && len(r.AdminToken) < MinAdminToken:
		return Usagef("registry-admin-token", "is %d characters; use %d or more", len(r.AdminToken), MinAdminToken)
	}
	if err := ValidateHostPort(r.Listen); err != nil {
		return Usagef("registry-listen", "%q: %v", r.Listen, err)
	}
	return nil
}

package registry

import (
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/audit"
)

// Token claims' fixed names.
const (
	// DefaultAudience is who tokens are for: Central.
	DefaultAudience = "evsim-central"
	// DefaultIssuer names the Registry in its tokens.
	DefaultIssuer = "evsim-registry"
)

// Options configure a Registry.
type Options struct {
	// DataDir keeps registry.json (the charge points, credentials hashed)
	// and signing.key (the Ed25519 key, mode 0600). Required.
	DataDir string
	// AdminToken authorises the operator's calls. Required, 16 characters or more.
	AdminToken string
	// Audit receives every security event. Required.
	Audit *audit.Log
	// TokenTTL is how long a token lives. Default 5 minutes.
	TokenTTL time.Duration
	// BcryptCost hashes credentials. Default bcrypt.DefaultCost (10);
	// tests use bcrypt.MinCost.
	BcryptCost int
	// Audience and Issuer of tokens. Defaults DefaultAudience, DefaultIssuer.
	Audience, Issuer string
	// Throttle limits guessing.
	Throttle ThrottleOptions
	// Publish sends a change to the registry topic under key; called by the
	// state's owner, so it must not block (a bridge Send does not). Optional.
	Publish func(key string, msg proto.Message)
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger for one line per change. Default: logrus's standard logger.
	Logger *logrus.Entry
}

// ThrottleOptions bound failed authentications.
type ThrottleOptions struct {
	// Limit failures for one id from one source (or for the admin token
	// from one source) within Window, then Lockout. Default 5.
	Limit int
	// SourceLimit failures from one source across ids within Window. Default 4 x Limit.
	SourceLimit int
	// Window counts failures. Default 10 minutes.
	Window time.Duration
	// Lockout refuses a throttled key without checking. Default 1 minute.
	Lockout time.Duration
	// MaxCounters bounds the failure counters kept (memory under guesses
	// from very many sources); lockouts in force are kept. Default 10000.
	MaxCounters int
}

func (o *Options) setDefaults() {
	if o.TokenTTL == 0 {
		o.TokenTTL = 5 * time.Minute
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	if o.Audience == "" {
		o.Audience = DefaultAudience
	}
	if o.Issuer == "" {
		o.Issuer = DefaultIssuer
	}
	if o.Throttle.Limit == 0 {
		o.Throttle.Limit = 5
	}
	if o.Throttle.SourceLimit == 0 {
		o.Throttle.SourceLimit = 4 * o.Throttle.Limit
	}
	if o.Throttle.Window == 0 {
		o.Throttle.Window = 10 * time.Minute
	}
	if o.Throttle.Lockout == 0 {
		o.Throttle.Lockout = time.Minute
	}
	if o.Throttle.MaxCounters == 0 {
		o.Throttle.MaxCounters = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	if o.Publish == nil {
		o.Publish = func(string, proto.Message) {}
	}
}

// MinAdminToken is the shortest admin token accepted.
const MinAdminToken = 16

// Validate says which option is wrong and why.
func (o *Options) Validate() error {
	switch {
	case o.DataDir == "":
		return errors.New("registry: DataDir is required")
	case len(o.AdminToken) < MinAdminToken:
		return fmt.Errorf("registry: the admin token needs %d characters or more", MinAdminToken)
	case o.Audit == nil:
		return errors.New("registry: Audit is required")
	case o.TokenTTL < time.Second || o.TokenTTL > 24*time.Hour:
		return fmt.Errorf("registry: token TTL %s is out of range (1s to 24h)", o.TokenTTL)
	case o.BcryptCost < bcrypt.MinCost || o.BcryptCost > bcrypt.MaxCost:
		return fmt.Errorf("registry: bcrypt cost %d is out of range", o.BcryptCost)
	case o.Throttle.Limit < 1 || o.Throttle.SourceLimit < o.Throttle.Limit:
		return fmt.Errorf("registry: throttle limits %d/%d must be 1 or more, the source's no less than the id's", o.Throttle.Limit, o.Throttle.SourceLimit)
	case o.Throttle.Window <= 0 || o.Throttle.Lockout <= 0:
		return errors.New("registry: throttle window and lockout must be more than 0")
	}
	return nil
}

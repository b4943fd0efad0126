package bridge

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// The SASL mechanisms the bridge speaks, as Kafka names them.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// SASLMechanisms lists the mechanisms the bridge speaks, for messages.
var SASLMechanisms = []string{SASLPlain, SASLScramSHA256, SASLScramSHA512}

// Security is how the bridge protects and authenticates its connections to
// Kafka. The zero value is plaintext without authentication.
type Security struct {
	// TLS, when not nil, makes every connection to Kafka TLS with this
	// configuration: RootCAs are the authorities trusted for the broker's
	// certificate (nil = the system's), Certificates the client's own
	// certificate (optional), ServerName the name checked in the broker's
	// certificate (empty = the host of the address dialled).
	TLS *tls.Config
	// SASL authenticates to the broker; an empty Mechanism means none.
	SASL SASL
}

// SASL is a SASL user of Kafka. Its String never shows the password.
type SASL struct {
	// Mechanism is "", SASLPlain, SASLScramSHA256 or SASLScramSHA512.
	Mechanism string
	User      string
	Password  string
}

// String describes the user for log lines, without the password.
func (s SASL) String() string {
	if s.Mechanism == "" {
		return "no SASL"
	}
	return fmt.Sprintf("SASL %s as %q", s.Mechanism, s.User)
}

// GoString keeps the password out of %#v too.
func (s SASL) GoString() string { return s.String() }

// String says what the security is, for the line that starts the gate.
func (s Security) String() string {
	var parts []string
	if s.TLS != nil {
		parts = append(parts, "TLS")
	}
	if s.SASL.Mechanism != "" {
		parts = append(parts, s.SASL.String())
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, ", ")
}

// Validate checks the SASL settings.
func (s Security) Validate() error {
	switch s.SASL.Mechanism {
	case "":
		return nil
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
	default:
		return fmt.Errorf("bridge config: SASL mechanism %q is not one of %s", s.SASL.Mechanism, strings.Join(SASLMechanisms, ", "))
	}
	if s.SASL.User == "" {
		return fmt.Errorf("bridge config: SASL %s needs a user", s.SASL.Mechanism)
	}
	if s.SASL.Password == "" {
		return fmt.Errorf("bridge config: SASL %s needs a password", s.SASL.Mechanism)
	}
	return nil
}

// apply sets sarama's network security from s.
func (s Security) apply(sc *sarama.Config) {
	if s.TLS != nil {
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = s.TLS.Clone()
		if sc.Net.TLS.Config.MinVersion == 0 {
			sc.Net.TLS.Config.MinVersion = tls.VersionTLS12
		}
	}
	if s.SASL.Mechanism == "" {
		return
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.Version = sarama.SASLHandshakeV1
	sc.Net.SASL.Mechanism = sarama.SASLMechanism(s.SASL.Mechanism)
	sc.Net.SASL.User = s.SASL.User
	sc.Net.SASL.Password = s.SASL.Password
	switch s.SASL.Mechanism {
	case SASLScramSHA256:
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
	case SASLScramSHA512:
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
	}
}

// scramClient is sarama's SCRAM client over xdg-go/scram (RFC 5802).
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (c *scramClient) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	c.conv = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) { return c.conv.Step(challenge) }

func (c *scramClient) Done() bool { return c.conv.Done() }

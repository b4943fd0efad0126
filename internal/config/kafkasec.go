package config

import (
	"crypto/tls"
	"slices"
	"strings"

	"github.com/evcharging/evsim/bridge"
)

// KafkaSecurity is TLS and SASL towards Kafka: what a managed Kafka asks for
// (TLS with the system's roots, and a SASL user).
type KafkaSecurity struct {
	// TLS turns TLS on; any other --kafka-tls-* flag implies it.
	TLS bool
	// CA is the authorities trusted for the broker's certificate (PEM);
	// empty = the system's roots.
	CA string
	// Cert and Key are a client certificate, for a broker that wants one.
	Cert, Key string
	// ServerName is the name checked in the broker's certificate; empty =
	// the host of each broker address.
	ServerName string
	// SASL: Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty = none).
	Mechanism, User, Password string
	// PasswordFile holds the password (a line); for containers' secrets.
	PasswordFile string

	// Bridge is the above, loaded, as the bridge takes it (set by finish).
	Bridge bridge.Security
}

func addKafkaSecurityFlags(fs *FlagSet, s *KafkaSecurity) {
	fs.Bool(&s.TLS, "kafka-tls", "", false, "connect to Kafka with TLS (implied by --kafka-tls-ca, --kafka-tls-cert, --kafka-tls-server-name)")
	fs.String(&s.CA, "kafka-tls-ca", "", "", "authorities (PEM) trusted for Kafka's certificate; empty = the system's roots")
	fs.String(&s.Cert, "kafka-tls-cert", "", "", "client certificate (PEM) for a Kafka that wants one")
	fs.String(&s.Key, "kafka-tls-key", "", "", "the key of --kafka-tls-cert (PEM)")
	fs.String(&s.ServerName, "kafka-tls-server-name", "", "", "name checked in Kafka's certificate; empty = each broker's host")
	AddKafkaSASLFlags(fs, s)
}

// AddKafkaSASLFlags registers the --kafka-sasl-* flags alone: for evnode
// broker, whose one user they are (the same variables as its clients').
func AddKafkaSASLFlags(fs *FlagSet, s *KafkaSecurity) {
	fs.String(&s.Mechanism, "kafka-sasl-mechanism", "", "", "SASL mechanism: "+strings.Join(bridge.SASLMechanisms, ", ")+"; empty = no SASL")
	fs.String(&s.User, "kafka-sasl-user", "", "", "SASL user")
	fs.String(&s.Password, "kafka-sasl-password", "", "", "SASL password (prefer the variable or --kafka-sasl-password-file: a flag shows in ps)")
	fs.String(&s.PasswordFile, "kafka-sasl-password-file", "", "", "file whose first line is the SASL password")
}

// Finish validates the settings and loads the files into Bridge (Kafka's
// Finish does it for roles).
func (s *KafkaSecurity) Finish() error { return s.finish() }

func (s *KafkaSecurity) finish() error {
	if s.Password != "" && s.PasswordFile != "" {
		return Usagef("kafka-sasl-password-file", "give the password once: --kafka-sasl-password or --kafka-sasl-password-file")
	}
	if s.PasswordFile != "" {
		p, err := readSecret("kafka-sasl-password-file", s.PasswordFile)
		if err != nil {
			return err
		}
		s.Password = p
	}
	switch {
	case s.Mechanism != "" && !slices.Contains(bridge.SASLMechanisms, s.Mechanism):
		return Usagef("kafka-sasl-mechanism", "%q is not one of %s", s.Mechanism, strings.Join(bridge.SASLMechanisms, ", "))
	case s.Mechanism != "" && s.User == "":
		return Usagef("kafka-sasl-user", "is required with --kafka-sasl-mechanism")
	case s.Mechanism != "" && s.Password == "":
		return Usagef("kafka-sasl-password", "is required with --kafka-sasl-mechanism (or --kafka-sasl-password-file)")
	case s.Mechanism == "" && (s.User != "" || s.Password != ""):
		return Usagef("kafka-sasl-mechanism", "is required with a SASL user or password (%s)", strings.Join(bridge.SASLMechanisms, ", "))
	case (s.Cert == "") != (s.Key == ""):
		return Usagef("kafka-tls-cert", "--kafka-tls-cert and --kafka-tls-key go together")
	}
	s.Bridge = bridge.Security{SASL: bridge.SASL{Mechanism: s.Mechanism, User: s.User, Password: s.Password}}
	if !s.TLS && s.CA == "" && s.Cert == "" && s.ServerName == "" {
		return nil
	}
	s.TLS = true
	c := &tls.Config{ServerName: s.ServerName, MinVersion: tls.VersionTLS12}
	if s.CA != "" {
		pool, err := loadPool("kafka-tls-ca", s.CA)
		if err != nil {
			return err
		}
		c.RootCAs = pool
	}
	if s.Cert != "" {
		pair, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return Usagef("kafka-tls-cert", "cannot load the pair %s, %s: %v", s.Cert, s.Key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	s.Bridge.TLS = c
	return nil
}

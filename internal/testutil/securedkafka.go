package testutil

import (
	"os"
	"testing"
)

// SecuredKafka is the SASL_SSL listener of the integration suite's Apache
// Kafka (scripts/kafka.sh, scripts/test-integration.sh): its address, the
// CA file that signed its certificate, and its SASL user (the same for
// PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512).
type SecuredKafka struct {
	Addr, CA, User, Password string
}

// Variables that scripts/test-integration.sh sets for SecuredKafkaOf.
const (
	EnvSecuredKafka         = "EVSIM_TEST_SASL_SSL_BROKERS"
	EnvSecuredKafkaCA       = "EVSIM_TEST_SASL_SSL_CA"
	EnvSecuredKafkaUser     = "EVSIM_TEST_SASL_SSL_USER"
	EnvSecuredKafkaPassword = "EVSIM_TEST_SASL_SSL_PASSWORD"
)

// SecuredKafkaOf reads the listener from the environment. Not set: the
// test is skipped, unless EVSIM_INTEGRATION=1, where it fails (CI must not
// pass without having talked to it).
func SecuredKafkaOf(t testing.TB) SecuredKafka {
	t.Helper()
	k := SecuredKafka{Addr: os.Getenv(EnvSecuredKafka), CA: os.Getenv(EnvSecuredKafkaCA),
		User: os.Getenv(EnvSecuredKafkaUser), Password: os.Getenv(EnvSecuredKafkaPassword)}
	if k.Addr != "" && k.CA != "" && k.User != "" && k.Password != "" {
		return k
	}
	if os.Getenv("EVSIM_INTEGRATION") == "1" {
		t.Fatalf("EVSIM_INTEGRATION=1 but %s, %s, %s or %s is empty: the SASL_SSL case cannot run",
			EnvSecuredKafka, EnvSecuredKafkaCA, EnvSecuredKafkaUser, EnvSecuredKafkaPassword)
	}
	t.Skipf("%s is not set (scripts/test-integration.sh runs this against Apache Kafka's SASL_SSL listener)", EnvSecuredKafka)
	return k
}

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcharging/evsim/internal/pki"
)

// What a managed Kafka needs, from the environment only: TLS with the
// system's roots and a SCRAM user whose password comes from a file.
func TestKafkaSecurityFromTheEnvironment(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDriver(nil, env("KAFKA_BOOTSTRAP", "kafka.example:9093", "EVSIM_ID", "alice", "EVSIM_REQUESTS", "r.txt",
		"EVSIM_KAFKA_TLS", "true", "EVSIM_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512", "EVSIM_KAFKA_SASL_USER", "evsim",
		"EVSIM_KAFKA_SASL_PASSWORD_FILE", pw))
	if err != nil {
		t.Fatal(err)
	}
	b := d.Kafka.Security.Bridge
	if b.TLS == nil || b.TLS.RootCAs != nil || b.SASL.Mechanism != "SCRAM-SHA-512" || b.SASL.User != "evsim" || b.SASL.Password != "s3cret" {
		t.Fatalf("security %v, TLS %v: want TLS with the system's roots and SCRAM-SHA-512 as evsim with the file's password", b, b.TLS)
	}
}

func TestKafkaSecurityUsageErrorsNameTheFlag(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	caFile, err := ca.WriteFile(dir, "ca")
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--id", "alice", "--requests", "r.txt"}
	for flagName, args := range map[string][]string{
		"kafka-sasl-mechanism":     {"--kafka-sasl-mechanism", "GSSAPI", "--kafka-sasl-user", "u", "--kafka-sasl-password", "p"},
		"kafka-sasl-user":          {"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-password", "p"},
		"kafka-sasl-password":      {"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u"},
		"kafka-sasl-password-file": {"--kafka-sasl-mechanism", "PLAIN", "--kafka-sasl-user", "u", "--kafka-sasl-password-file", filepath.Join(dir, "none")},
		"kafka-tls-ca":             {"--kafka-tls-ca", notPEM},
		"kafka-tls-cert":           {"--kafka-tls-ca", caFile, "--kafka-tls-cert", caFile},
	} {
		_, err := ParseDriver(append(append([]string{}, base...), args...), env())
		if !IsUsage(err) || !strings.Contains(err.Error(), "--"+flagName) {
			t.Errorf("%v: got %v, want a usage error naming --%s", args, err, flagName)
		}
		if err != nil && strings.Contains(err.Error(), "p\"") {
			t.Errorf("%v: the error shows the password: %v", args, err)
		}
	}
}

func TestNodeTLSUsageErrorsNameTheFlag(t *testing.T) {
	for flagName, args := range map[string][]string{
		"tls-key":  {"--tls-cert", "a.crt"},
		"tls-cert": {"--tls-key", "a.key"},
		"tls-ca":   {"--tls-cert", "a.crt", "--tls-key", "a.key", "--tls-client-auth"},
	} {
		_, err := ParseEngine(append([]string{"--cp", "CP-001"}, args...), env())
		if !IsUsage(err) || !strings.Contains(err.Error(), "--"+flagName) {
			t.Errorf("%v: got %v, want a usage error naming --%s", args, err, flagName)
		}
	}
}

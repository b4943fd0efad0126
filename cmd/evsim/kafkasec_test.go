package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcharging/evsim/internal/testutil"
)

// The secured mode without Apache Kafka: the embedded broker requires TLS
// and a SCRAM user, the bridge meets both, and the network supplies and
// tickets as on a plaintext broker; the password is never in the log.
func TestEmbeddedBrokerWithTLSAndSCRAMSupplies(t *testing.T) {
	res := runEvsim(t, "--duration", "8s", "--seed", "1", "--embedded-broker-tls",
		"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-user", "evsim", "--kafka-sasl-password", "pw-not-in-logs")
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	assertIncidentFree(t, res.stderr)
	if s := res.summary; s == nil || s["tickets"] < 1 || s["tickets"] != s["supplies_started"] {
		t.Errorf("want supplies that each end in a ticket: %v", s)
	}
	if !strings.Contains(res.stderr, `TLS, SASL SCRAM-SHA-512 as "evsim"`) {
		t.Errorf("the gate's first line should say the broker is reached over TLS with SCRAM")
	}
	if strings.Contains(res.stderr+res.stdout, "pw-not-in-logs") {
		t.Errorf("the SASL password is in the output")
	}
}

// With --brokers, the embedded broker's flag is a usage error naming it.
func TestEmbeddedBrokerTLSWithBrokersIsAUsageError(t *testing.T) {
	res := runEvsim(t, "--brokers", "127.0.0.1:1", "--embedded-broker-tls")
	if res.exit != 2 || !strings.Contains(res.stderr, "--embedded-broker-tls") {
		t.Fatalf("exit %d, stderr %q: want 2 naming --embedded-broker-tls", res.exit, res.stderr)
	}
}

// The network on Apache Kafka's SASL_SSL listener (TLS, SCRAM-SHA-512, the
// password from a file): supplies run to their tickets, the log is clean.
func TestIntegrationEvsimOnSecuredKafka(t *testing.T) {
	k := testutil.SecuredKafkaOf(t)
	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte(k.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runEvsim(t, "--duration", "15s", "--seed", "1", "--brokers", k.Addr, "--kafka-tls-ca", k.CA,
		"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-user", k.User, "--kafka-sasl-password-file", pw)
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	assertIncidentFree(t, res.stderr)
	if s := res.summary; s == nil || s["tickets"] < 1 || s["tickets"] != s["supplies_started"] {
		t.Errorf("want supplies that each end in a ticket: %v", s)
	}
	if strings.Contains(res.stderr+res.stdout, k.Password) {
		t.Errorf("the SASL password is in the output")
	}
}

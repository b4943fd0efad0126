package main

import (
	"strings"
	"testing"
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

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/pki"
)

// network is the files of a TLS network: one CA, a certificate per node.
type tlsNetwork struct {
	dir, ca, password string
	certs             map[string]pki.Files
}

func newTLSNetwork(t *testing.T, caName string, nodes ...string) *tlsNetwork {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.NewCA(caName)
	if err != nil {
		t.Fatal(err)
	}
	n := &tlsNetwork{dir: dir, certs: map[string]pki.Files{}}
	if n.ca, err = ca.WriteFile(dir, "ca"); err != nil {
		t.Fatal(err)
	}
	for _, node := range nodes {
		pair, err := ca.Issue(node, "127.0.0.1", "localhost")
		if err != nil {
			t.Fatal(err)
		}
		if n.certs[node], err = pair.WriteFiles(dir, node); err != nil {
			t.Fatal(err)
		}
	}
	n.password = filepath.Join(dir, "kafka-password")
	if err := os.WriteFile(n.password, []byte("pw-of-the-network\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return n
}

// remoteTLS are a node's flags for mutual TLS on its actor remote.
func (n *tlsNetwork) remoteTLS(node string) []string {
	return []string{"--tls-cert", n.certs[node].Cert, "--tls-key", n.certs[node].Key, "--tls-ca", n.ca, "--tls-client-auth"}
}

// kafka are a node's flags for the secured broker at addr.
func (n *tlsNetwork) kafka(addr string) []string {
	return []string{"--brokers", addr, "--kafka-tls-ca", n.ca, "--kafka-sasl-mechanism", "SCRAM-SHA-256",
		"--kafka-sasl-user", "evsim", "--kafka-sasl-password-file", n.password}
}

func within(t *testing.T, d time.Duration, what string, log *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s; log:\n%s", d, what, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The whole network secured, each node a process of its own: Kafka over TLS
// with a SCRAM user (evnode broker requires both), the actor remote over
// mutual TLS. A driver's supply runs to its ticket.
func TestSecuredNetworkSuppliesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of processes")
	}
	n := newTLSNetwork(t, "evsim test CA", "broker", "central", "engine", "monitor")
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0", "--tls-cert", n.certs["broker"].Cert, "--tls-key", n.certs["broker"].Key,
		"--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "evsim", "--kafka-sasl-password-file", n.password)
	central, engine, monitor := freeAddr(t), freeAddr(t), freeAddr(t)
	requests := filepath.Join(n.dir, "alice.txt")
	if err := os.WriteFile(requests, []byte("CP-001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	centralLog := runRole(t, append(append([]string{"central", "--listen", central, "--db", ":memory:"}, n.kafka(broker)...), n.remoteTLS("central")...)...)
	engineLog := runRole(t, append(append([]string{"engine", "--cp", "CP-001", "--listen", engine, "--journal", "memory", "--supply-duration", "2s"},
		n.kafka(broker)...), n.remoteTLS("engine")...)...)
	monitorLog := runRole(t, append([]string{"monitor", "--cp", "CP-001", "--secret", "s", "--engine", engine, "--central", central,
		"--listen", monitor}, n.remoteTLS("monitor")...)...)
	within(t, 30*time.Second, "the monitor registered over mutual TLS", monitorLog, func() bool {
		return strings.Contains(monitorLog.String(), "Registered CP-001 with Central")
	})
	// The containers' health check speaks the role's TLS (its own certificate).
	if code, out, errOut := health(t, append([]string{"engine", "--listen", engine, "--cp", "CP-001"}, n.remoteTLS("engine")...)...); code != 0 {
		t.Errorf("health engine over TLS: exit %d: %s%s", code, out, errOut)
	}
	driverLog := runRole(t, append([]string{"driver", "--id", "alice", "--requests", requests, "--progress", "memory"}, n.kafka(broker)...)...)
	within(t, 40*time.Second, "alice's ticket", driverLog, func() bool { return strings.Contains(driverLog.String(), "Ticket for alice at CP-001") })
	for name, log := range map[string]*syncBuffer{"central": centralLog, "engine": engineLog, "monitor": monitorLog, "driver": driverLog} {
		text := log.String()
		if strings.Contains(text, "| ERROR |") || strings.Contains(text, "pw-of-the-network") {
			t.Errorf("%s: an ERROR line or the password in its log:\n%s", name, text)
		}
	}
	if !strings.Contains(centralLog.String(), "(mutual TLS: peers must present a certificate signed by") {
		t.Errorf("central should say that its remote wants a client certificate:\n%s", centralLog)
	}
}

// Central with mutual TLS refuses a monitor without a certificate, and one
// whose certificate another CA signed: neither registers, and Central says
// why in one WARN line. The same monitor with the network's certificate
// then registers, so the refusal was the certificate's doing.
func TestMonitorWithoutAValidCertificateCannotReachCentral(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network of processes")
	}
	n := newTLSNetwork(t, "evsim test CA", "central", "engine", "monitor")
	rogue := newTLSNetwork(t, "mallory's CA", "monitor")
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	central, engine := freeAddr(t), freeAddr(t)
	centralLog := runRole(t, append([]string{"central", "--brokers", broker, "--listen", central, "--db", ":memory:"}, n.remoteTLS("central")...)...)
	runRole(t, append([]string{"engine", "--brokers", broker, "--cp", "CP-001", "--listen", engine, "--journal", "memory"}, n.remoteTLS("engine")...)...)
	within(t, 30*time.Second, "central listening", centralLog, func() bool { return strings.Contains(centralLog.String(), "Central is reachable") })

	monitorArgs := []string{"monitor", "--cp", "CP-001", "--secret", "s", "--engine", engine, "--central", central}
	for _, tc := range []struct {
		name  string
		flags []string
		warn  string
	}{
		{"no TLS", nil, "first record does not look like a TLS handshake"},
		{"a certificate of another CA", []string{"--tls-cert", rogue.certs["monitor"].Cert, "--tls-key", rogue.certs["monitor"].Key, "--tls-ca", n.ca},
			"certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := len(centralLog.String())
			monitorLog := runRole(t, append(append(append([]string{}, monitorArgs...), "--listen", freeAddr(t)), tc.flags...)...)
			within(t, 20*time.Second, "central refusing the monitor's connection", centralLog, func() bool {
				return strings.Contains(centralLog.String()[mark:], "Refused a TLS connection from 127.0.0.1") &&
					strings.Contains(centralLog.String()[mark:], tc.warn)
			})
			// The monitor keeps trying; give it a few of its health intervals.
			time.Sleep(3 * time.Second) // not synchronisation: a window in which nothing may happen
			if strings.Contains(centralLog.String(), "Registered new CP: CP-001") || strings.Contains(monitorLog.String(), "Registered CP-001 with Central") {
				t.Fatalf("a monitor without a valid certificate registered:\n%s", centralLog)
			}
			if tc.flags != nil && !strings.Contains(monitorLog.String(), "refused this node's TLS certificate") {
				t.Errorf("the monitor should say that Central refused its certificate:\n%s", monitorLog)
			}
			if n := strings.Count(centralLog.String()[mark:], "Refused a TLS connection"); n != 1 {
				t.Errorf("%d refusal lines, want one (the monitor retries; each cause is said once)", n)
			}
		})
	}
	monitorLog := runRole(t, append(append(append([]string{}, monitorArgs...), "--listen", freeAddr(t)), n.remoteTLS("monitor")...)...)
	within(t, 30*time.Second, "the monitor with the network's certificate registered", monitorLog, func() bool {
		return strings.Contains(monitorLog.String(), "Registered CP-001 with Central")
	})
	if strings.Contains(centralLog.String(), "| ERROR |") {
		t.Errorf("a refused peer is an expected event (WARN), not an ERROR:\n%s", centralLog)
	}
}

// A role given a wrong SASL password, or no trust in the broker's
// certificate, exits 1 at once with one ERROR line naming the cause, where
// it would wait 30 probes 2 s apart for a broker that is not up.
func TestRoleWithWrongKafkaCredentialsExitsOneAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	n := newTLSNetwork(t, "evsim test CA", "broker")
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0", "--tls-cert", n.certs["broker"].Cert, "--tls-key", n.certs["broker"].Key,
		"--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "evsim", "--kafka-sasl-password-file", n.password)
	other := newTLSNetwork(t, "another CA")
	for _, tc := range []struct {
		name, cause string
		kafka       []string
	}{
		{"wrong password", `authentication failed: the broker refused SASL SCRAM-SHA-256 for user "evsim"`,
			[]string{"--brokers", broker, "--kafka-tls-ca", n.ca, "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "evsim", "--kafka-sasl-password", "guess"}},
		{"untrusted certificate", `TLS failure: the broker's certificate is not trusted`,
			[]string{"--brokers", broker, "--kafka-tls-ca", other.ca, "--kafka-sasl-mechanism", "SCRAM-SHA-256", "--kafka-sasl-user", "evsim", "--kafka-sasl-password-file", n.password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr syncBuffer
			cmd := evnodeCommand(t, append([]string{"engine", "--cp", "CP-001", "--listen", freeAddr(t), "--journal", "memory"}, tc.kafka...)...)
			cmd.Stderr = &stderr
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("still running after 30 s:\n%s", &stderr)
			}
			took := time.Since(start)
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, &stderr)
			}
			if took > 10*time.Second {
				t.Errorf("took %v: the gate should not wait for a refusal", took)
			}
			var errs []string
			for _, l := range strings.Split(stderr.String(), "\n") {
				if strings.Contains(l, "| ERROR |") {
					errs = append(errs, l)
				}
			}
			if len(errs) != 1 || !strings.Contains(errs[0], tc.cause) || strings.Contains(stderr.String(), "guess") {
				t.Errorf("ERROR lines %q, want one naming %q (and never the password)", errs, tc.cause)
			}
			t.Logf("exit 1 after %v: %s", took.Round(time.Millisecond), errs)
		})
	}
}

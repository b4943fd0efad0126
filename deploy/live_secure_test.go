package deploy

import (
	"crypto/tls"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// secureServices are the ones TestComposeSecureLive starts: one charge
// point and one driver are enough to prove every secured link (Kafka's
// SASL_SSL for each kind of client, mutual TLS Central <-> monitor <->
// engine), at a fraction of the full deployment's start.
var secureServices = []string{"certs", "kafka", "registry", "enrol", "central", "engine-cp-001", "monitor-cp-001", "driver-alice"}

// gateError is one ERROR line of the bridge's readiness gate.
var gateError = regexp.MustCompile(`(?m)^.*\| ERROR \| Bridge \| .*$`)

// TestComposeSecureLive brings up compose.yaml with compose.secure.yaml
// (Kafka SASL_SSL only with SCRAM-SHA-512, mutual TLS on the actor remote,
// certificates from the certs step) on a Docker engine, with a password of
// its own: every service healthy, a supply ticketed, no ERROR in the logs;
// then a client with a wrong password and one that does not trust the
// deployment's CA are each refused at once with one clear ERROR line and
// exit 1, and a node without a certificate does not reach Central's remote.
// It runs when EVSIM_COMPOSE=1 (scripts/test-compose.sh), on the image
// that script built.
func TestComposeSecureLive(t *testing.T) {
	d := newDeployment(t, liveProject(t)+"-secure")
	d.files = []string{"compose.yaml", "compose.secure.yaml"}
	password := fmt.Sprintf("test-%d", time.Now().UnixNano())
	d.env = append(d.env, "KAFKA_SASL_PASSWORD="+password)
	d.downNowAndAtTheEnd(t)

	up := t.Run("up", func(t *testing.T) {
		d.t = t
		start := time.Now()
		// The driver waits for every monitor in compose.yaml: it is
		// started on its own once its charge point is up.
		d.dc("up", "-d", "--no-build", "monitor-cp-001")
		d.dc("up", "-d", "--no-build", "--no-deps", "driver-alice")
		d.record("secure: up -d (8 containers)", time.Since(start))
		d.record("secure: up -> every service healthy (certs, enrol done)", d.waitHealthy(secureServices, 4*time.Minute))
		d.record("secure: healthy -> CP-001 serving and a ticket", d.waitFor("a ticket", 3*time.Minute, d.serving(1, 0)))
		d.checkLogs("secure start", without(without(secureServices, "certs"), "enrol"), false)
		if logs := d.logs("central"); !strings.Contains(logs, "SASL SCRAM-SHA-512") || !strings.Contains(logs, "TLS") {
			t.Errorf("Central's gate line does not say TLS and SASL SCRAM-SHA-512:\n%s", firstLines(logs, 10))
		}
	})
	if !up {
		return
	}

	t.Run("refused clients", func(t *testing.T) {
		d.t = t
		start := time.Now()
		d.refusedAtOnce("a wrong password", "authentication failed", "-e", "EVSIM_KAFKA_SASL_PASSWORD=not-"+password)
		d.refusedAtOnce("a client without the deployment's CA", "not trusted", "-e", "EVSIM_KAFKA_TLS=true", "-e", "EVSIM_KAFKA_TLS_CA=")
		d.record("secure: two refused clients", time.Since(start))
	})

	t.Run("remote without a certificate", func(t *testing.T) {
		d.t = t
		// A client without a certificate, at Central's published remote
		// port: the handshake is refused (the monitor, with its own, is
		// registered: CP-001 serves). The client skips checking Central's
		// certificate: what is tested is Central's check of the client.
		conn, err := tls.Dial("tcp", "127.0.0.1:"+d.port("CENTRAL_REMOTE_PORT"), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err == nil {
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err = conn.Read(make([]byte, 1))
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("a client without a certificate: %v; want the handshake refused for want of a certificate", err)
		}
		t.Logf("a client without a certificate: %v", err)
		d.waitFor("Central says it refused the connection", 30*time.Second, func() (bool, string) {
			return strings.Contains(d.logs("central"), "Refused a TLS connection"), "no \"Refused a TLS connection\" line in Central's log"
		})
	})
}

// refusedAtOnce runs the readiness gate (`evnode wait-kafka`) as the driver
// with env changed, and wants exit 1 with one ERROR line saying want, at its
// first probe.
func (d *deployment) refusedAtOnce(what, want string, env ...string) {
	d.t.Helper()
	start := time.Now()
	// A few probes only: a broker that is not up fails the test soon.
	args := append(append([]string{"run", "--rm", "-T", "--no-deps", "-e", "KAFKA_WAIT_MAX_ATTEMPTS=5"}, env...), "driver-alice", "wait-kafka")
	out, err := d.tryDC(args...)
	took := time.Since(start)
	lines := gateError.FindAllString(out, -1)
	if err == nil || len(lines) != 1 || !strings.Contains(lines[0], want) || took > 30*time.Second {
		d.t.Fatalf("%s: exit %v after %.1f s, %d ERROR lines; want exit 1 at once and one line saying %q:\n%s", what, err, took.Seconds(), len(lines), want, out)
	}
	d.t.Logf("%s: refused in %.1f s: %s", what, took.Seconds(), lines[0])
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

package bridge

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/pki"
	"github.com/evcharging/evsim/messages"
)

// securedBroker is an embedded broker that requires TLS and SASL, and the
// client security that it accepts.
type securedBroker struct {
	broker *Embedded
	client Security
	ca     *pki.CA
}

func startSecuredBroker(t *testing.T, mechanism string) *securedBroker {
	t.Helper()
	ca, err := pki.NewCA("evsim test CA")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.Issue("broker", "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pair.TLS()
	if err != nil {
		t.Fatal(err)
	}
	user := SASL{Mechanism: mechanism, User: "evsim", Password: "s3cret-" + mechanism}
	b := startEmbedded(t, EmbeddedOptions{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, SASL: user})
	return &securedBroker{broker: b, ca: ca, client: Security{TLS: &tls.Config{RootCAs: ca.Pool()}, SASL: user}}
}

// The secured broker carries records for each SASL mechanism, over TLS.
func TestSecuredBrokerCarriesRecords(t *testing.T) {
	for _, mechanism := range SASLMechanisms {
		t.Run(mechanism, func(t *testing.T) {
			sb := startSecuredBroker(t, mechanism)
			cfg := testConfig(sb.broker.Addr())
			cfg.Security = sb.client
			tb := startBridge(t, cfg)
			tb.awaitState(t, StateReady, 10*time.Second)
			col, _ := tb.subscribe(t, TopicCommands, "engine-CP-001", "CP-001", true)
			tb.publish(TopicCommands, "CP-001", &messages.Command{CommandId: "c-1", CpId: "CP-001"})
			eventually(t, 15*time.Second, "the command came back through the secured broker", func() bool { return col.count.Load() == 1 })
			begin := tb.log.Lines("Waiting for Kafka at")
			if len(begin) != 1 || !strings.Contains(begin[0], `TLS, SASL `+mechanism+` as "evsim"`) || strings.Contains(tb.log.String(), "s3cret") {
				t.Errorf("the first line should say TLS and SASL and never the password: %q", begin)
			}
		})
	}
}

// gateEndsAtOnce starts a bridge that would wait 30 probes a second apart,
// and checks that it ends within a few seconds with exactly one ERROR line
// that says cause, and no "Still waiting" line.
func gateEndsAtOnce(t *testing.T, cfg Config, cause string) {
	t.Helper()
	cfg.WaitAttempts = 30
	cfg.WaitInterval = time.Second
	start := time.Now()
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateFailed, 8*time.Second)
	errs := tb.log.Lines("| ERROR |")
	want := "| ERROR | Bridge | Kafka at " + cfg.Brokers[0] + " refused this client: "
	if len(errs) != 1 || !strings.Contains(errs[0], want) || !strings.Contains(errs[0], cause) {
		t.Fatalf("ERROR lines %q, want one with %q and %q", errs, want, cause)
	}
	if n := len(tb.log.Lines("Still waiting")); n != 0 {
		t.Errorf("%d progress lines: a refusal is not a broker that is still starting", n)
	}
	t.Logf("gate ended after %v: %s", time.Since(start).Round(time.Millisecond), errs[0])
}

func TestWrongSASLPasswordEndsTheGateWithOneLine(t *testing.T) {
	for _, mechanism := range SASLMechanisms {
		t.Run(mechanism, func(t *testing.T) {
			sb := startSecuredBroker(t, mechanism)
			cfg := testConfig(sb.broker.Addr())
			cfg.Security = sb.client
			cfg.Security.SASL.Password = "wrong"
			gateEndsAtOnce(t, cfg, `authentication failed: the broker refused SASL `+mechanism+` for user "evsim"`)
		})
	}
}

func TestUntrustedCertificateEndsTheGateWithOneLine(t *testing.T) {
	sb := startSecuredBroker(t, SASLScramSHA512)
	other, err := pki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(sb.broker.Addr())
	cfg.Security = sb.client
	cfg.Security.TLS = &tls.Config{RootCAs: other.Pool()}
	gateEndsAtOnce(t, cfg, `TLS failure: the broker's certificate is not trusted (signed by "evsim test CA", an authority evsim does not trust)`)
}

func TestCertificateForAnotherNameEndsTheGateWithOneLine(t *testing.T) {
	sb := startSecuredBroker(t, SASLPlain)
	cfg := testConfig(sb.broker.Addr())
	cfg.Security = sb.client
	cfg.Security.TLS = &tls.Config{RootCAs: sb.ca.Pool(), ServerName: "kafka.example"}
	gateEndsAtOnce(t, cfg, `TLS failure: the broker's certificate is not valid for "kafka.example" (it is for localhost, 127.0.0.1)`)
}

// A secured bridge whose broker is not up yet still waits, probe after
// probe, and gives up only after its attempts, as a plaintext one does.
func TestSecuredBridgeStillWaitsForABrokerThatIsNotUp(t *testing.T) {
	sb := startSecuredBroker(t, SASLScramSHA256)
	addr := freeAddr(t)
	cfg := testConfig(addr)
	cfg.Security = sb.client
	cfg.WaitAttempts = 5
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateFailed, 5*100*time.Millisecond+3*time.Second)
	errs := tb.log.Lines("| ERROR |")
	want := "Kafka at " + addr + " did not become available after 5 attempts 0.1s apart: connection refused"
	if len(errs) != 1 || !strings.Contains(errs[0], want) {
		t.Fatalf("ERROR lines %q, want one with %q", errs, want)
	}
	if n := len(tb.log.Lines("Still waiting for Kafka (attempt 5")); n != 0 {
		t.Errorf("the last attempt should end in the ERROR line")
	}
}

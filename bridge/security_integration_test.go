package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/pki"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// Apache Kafka's SASL_SSL listener: each mechanism carries records over
// TLS; a wrong password and an untrusted certificate each end the gate at
// once with one line, as on the embedded broker.
func TestIntegrationSecuredKafka(t *testing.T) {
	k := testutil.SecuredKafkaOf(t)
	pem, err := os.ReadFile(k.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", k.CA)
	}
	secured := func(mechanism string) Security {
		return Security{TLS: &tls.Config{RootCAs: roots}, SASL: SASL{Mechanism: mechanism, User: k.User, Password: k.Password}}
	}
	for _, mechanism := range SASLMechanisms {
		t.Run(mechanism, func(t *testing.T) {
			cfg := testConfig(k.Addr)
			cfg.WaitAttempts = 30
			cfg.Security = secured(mechanism)
			tb := startBridge(t, cfg)
			tb.awaitState(t, StateReady, 30*time.Second)
			group, key := uniqueName(t, "group"), uniqueName(t, "cp")
			col, _ := tb.subscribe(t, TopicCommands, group, key, true)
			tb.publish(TopicCommands, key, &messages.Command{CommandId: "c-1", CpId: key})
			eventually(t, 60*time.Second, "the command came back through Kafka's SASL_SSL listener", func() bool { return col.count.Load() == 1 })
		})
	}
	t.Run("WrongPassword", func(t *testing.T) {
		cfg := testConfig(k.Addr)
		cfg.Security = secured(SASLScramSHA512)
		cfg.Security.SASL.Password = "wrong"
		gateEndsAtOnce(t, cfg, `authentication failed: the broker refused SASL SCRAM-SHA-512 for user "`+k.User+`"`)
	})
	t.Run("UntrustedCertificate", func(t *testing.T) {
		other, err := pki.NewCA("another CA")
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(k.Addr)
		cfg.Security = secured(SASLPlain)
		cfg.Security.TLS = &tls.Config{RootCAs: other.Pool()}
		gateEndsAtOnce(t, cfg, `TLS failure: the broker's certificate is not trusted (signed by "evsim integration CA"`)
	})
}

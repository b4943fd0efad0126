package deploy

import (
	"os"
	"strings"
	"testing"
)

// loadSecure reads compose.secure.yaml as written (variables not expanded).
func loadSecure(t *testing.T) *composeFile {
	t.Helper()
	data, err := os.ReadFile("compose.secure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cf, err := parseCompose(data, nil)
	if err != nil {
		t.Fatalf("compose.secure.yaml: %v", err)
	}
	return cf
}

// TestSecureVariantCoversEveryService keeps compose.secure.yaml in step
// with compose.yaml: every evnode service that uses Kafka connects with
// TLS and SCRAM-SHA-512, every node of the actor remote has its own
// certificate (made by certs) and requires its peers', each waits for
// certs, and Kafka has no plaintext listener but the controller's on
// 127.0.0.1. A service added to compose.yaml and forgotten here fails.
func TestSecureVariantCoversEveryService(t *testing.T) {
	base, sec := loadCompose(t, nil), loadSecure(t)
	certs := sec.Services["certs"]
	if certs == nil || certs.role() != "certs" {
		t.Fatal("compose.secure.yaml has no certs service running `evnode certs`")
	}
	issued := map[string]bool{}
	for _, s := range strings.Split(certs.Environment["EVSIM_SERVICES"], ",") {
		issued[strings.TrimSpace(s)] = true
	}
	for _, name := range sortedKeys(base.Services) {
		if base.Services[name].role() == "" || name == "enrol" {
			continue // Kafka (below); enrol speaks only HTTPS to the Registry
		}
		s := sec.Services[name]
		if s == nil {
			t.Errorf("%s: not in compose.secure.yaml", name)
			continue
		}
		if s.DependsOn["certs"].Condition != "service_completed_successfully" {
			t.Errorf("%s: does not wait for certs to complete", name)
		}
		if !hasMount(s, "certs", "/certs") {
			t.Errorf("%s: does not mount the certs volume at /certs", name)
		}
		env := s.Environment
		if usesKafka(name) {
			if env["EVSIM_KAFKA_SASL_MECHANISM"] != "SCRAM-SHA-512" || env["EVSIM_KAFKA_TLS_CA"] != "/certs/ca.crt" ||
				!strings.Contains(env["EVSIM_KAFKA_SASL_PASSWORD"], "${KAFKA_SASL_PASSWORD") {
				t.Errorf("%s: uses Kafka but not with TLS (the deployment's CA) and SCRAM-SHA-512 with KAFKA_SASL_PASSWORD: %v", name, env)
			}
		}
		if name == "central" || strings.HasPrefix(name, "engine-") || strings.HasPrefix(name, "monitor-") {
			if env["EVSIM_TLS_CERT"] != "/certs/"+name+".crt" || env["EVSIM_TLS_KEY"] != "/certs/"+name+".key" ||
				env["EVSIM_TLS_CA"] != "/certs/ca.crt" || env["EVSIM_TLS_CLIENT_AUTH"] != "true" {
				t.Errorf("%s: the actor remote is not mutual TLS with its own certificate: %v", name, env)
			}
			if !issued[name] {
				t.Errorf("%s: certs does not issue its certificate (EVSIM_SERVICES)", name)
			}
		}
	}
	kafka := sec.Services["kafka"]
	if kafka == nil {
		t.Fatal("compose.secure.yaml does not change kafka")
	}
	if !issued["kafka"] || certs.Environment["EVSIM_KEYSTORE"] != "kafka" {
		t.Error("certs does not write Kafka's keystore")
	}
	for _, entry := range strings.Split(kafka.Environment["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"], ",") {
		name, protocol, _ := strings.Cut(entry, ":")
		if name != "CONTROLLER" && protocol != "SASL_SSL" {
			t.Errorf("kafka: listener %s is %s, want SASL_SSL", name, protocol)
		}
	}
	for _, l := range strings.Split(kafka.Environment["KAFKA_LISTENERS"], ",") {
		if strings.HasPrefix(l, "CONTROLLER://") && l != "CONTROLLER://127.0.0.1:9093" {
			t.Errorf("kafka: %s: the plaintext controller listener must listen on 127.0.0.1 only", l)
		}
	}
	if kafka.Environment["KAFKA_SASL_ENABLED_MECHANISMS"] != "SCRAM-SHA-512" {
		t.Errorf("kafka: KAFKA_SASL_ENABLED_MECHANISMS %q, want SCRAM-SHA-512", kafka.Environment["KAFKA_SASL_ENABLED_MECHANISMS"])
	}
}

func hasMount(s *service, source, target string) bool {
	for _, m := range s.Volumes {
		if m.Source == source && m.Target == target {
			return true
		}
	}
	return false
}

// TestSecureVariantMergesWithCompose has compose itself merge the two
// files, with no variable set: no warning, the certs step is there, and a
// service keeps compose.yaml's settings beside the override's.
func TestSecureVariantMergesWithCompose(t *testing.T) {
	compose := composeCommand(t)
	cf, err := parseCompose(runComposeConfigOf(t, compose, nil, "compose.yaml", "compose.secure.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cf.Services["certs"] == nil {
		t.Fatal("the merged model has no certs service")
	}
	central := cf.Services["central"]
	if central.Environment["EVSIM_HTTP"] == "" || central.Environment["EVSIM_TLS_CERT"] != "/certs/central.crt" ||
		central.DependsOn["kafka"].Condition != "service_healthy" || central.DependsOn["certs"].Condition != "service_completed_successfully" {
		t.Errorf("central, merged: compose.yaml's and the override's settings should both be there: env %v, depends_on %v", central.Environment, central.DependsOn)
	}
	if !hasMount(central, "central-data", "/data") || !hasMount(central, "certs", "/certs") {
		t.Errorf("central, merged: volumes %v", central.Volumes)
	}
}

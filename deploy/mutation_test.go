package deploy

import (
	"os"
	"strings"
	"testing"
)

// TestChecksCatchBrokenFiles breaks compose.yaml in the ways that matter and
// expects the checks to say so: a check that cannot fail proves nothing.
func TestChecksCatchBrokenFiles(t *testing.T) {
	orig, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		old, new string
		raw      bool   // check the file as written instead of interpolated
		want     string // in one of the messages
	}{
		{"health check by port", "KAFKA_HEAP_OPTS=-Xmx128m /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092 >/dev/null",
			"nc -z localhost 9092 || exit 1", false, "probes a port"},
		{"Kafka script not by its path", "/opt/kafka/bin/kafka-broker-api-versions.sh", "kafka-broker-api-versions.sh", false, "does not ask Kafka"},
		{"Kafka not 3.7", "apache/kafka:3.7.2", "bitnami/kafka:3.7", false, "official apache/kafka"},
		{"started, not healthy", "    kafka:\n      condition: service_healthy\n\n# Drivers start", "    kafka:\n      condition: service_started\n\n# Drivers start", false,
			"condition service_healthy"},
		{"a role's health check for another role", `test: ["CMD", "evnode", "health", "engine"]`, `test: ["CMD", "evnode", "health", "monitor"]`, false,
			"want [CMD evnode health engine]"},
		{"no restart policy", "  restart: unless-stopped\n  # tini", "  restart: on-failure\n  # tini", false, "want unless-stopped"},
		{"monitor wired to another engine", "EVSIM_ENGINE: ${ENGINE_HOST:-engine-cp-003}:${CP3_ENGINE_PORT:-9103}",
			"EVSIM_ENGINE: ${ENGINE_HOST:-engine-cp-002}:${CP3_ENGINE_PORT:-9102}", false, "checks the engine at"},
		{"monitor wired to another Central", "EVSIM_CENTRAL: ${CENTRAL_HOST:-central}:${CENTRAL_REMOTE_PORT:-8090}\n      EVSIM_LOCATION: ${CP4",
			"EVSIM_CENTRAL: ${CENTRAL_HOST:-centrale}:${CENTRAL_REMOTE_PORT:-8090}\n      EVSIM_LOCATION: ${CP4", false, "Central advertises"},
		{"two monitors for one charge point", "EVSIM_CP: ${CP2_ID:-CP-002}\n      EVSIM_ENGINE", "EVSIM_CP: ${CP1_ID:-CP-001}\n      EVSIM_ENGINE", false, "both monitor"},
		{"duplicate host port", "${CP2_MONITOR_PORT:-9202}", "${CP2_MONITOR_PORT:-9201}", false, "published by both"},
		{"advertised port not the listened one", "EVSIM_ADVERTISE: ${ENGINE_HOST:-engine-cp-005}:${CP5_ENGINE_PORT:-9105}",
			"EVSIM_ADVERTISE: ${ENGINE_HOST:-engine-cp-005}:9999", false, "advertises port 9999"},
		{"Central's database not on a volume", "      - central-data:/data\n", "", false, "not on a named volume"},
		{"shared secret", "${CP2_SECRET:-demo-only-secret-cp-002}", "${CP2_SECRET:-demo-only-secret-cp-001}", false, "shares its secret"},
		{"monitor starts before enrol", "      enrol:\n        condition: service_completed_successfully\n    environment:\n      <<: *evnode-env\n      EVSIM_CP: ${CP3_ID",
			"      enrol:\n        condition: service_started\n    environment:\n      <<: *evnode-env\n      EVSIM_CP: ${CP3_ID", false, "does not wait for enrol"},
		{"monitor reads another's credential", "/credentials/${CP2_ID:-CP-002}.credential", "/credentials/${CP1_ID:-CP-001}.credential", false, "not its own file"},
		{"signing key shared", "      - registry-public:/registry-public\n", "      - registry-data:/registry-public\n", false, "one volume"},
		{"Central open by default", "EVSIM_AUTH: ${CENTRAL_AUTH:-registry}", "EVSIM_AUTH: ${CENTRAL_AUTH:-open}", false, "want registry"},
		{"enrol runs again and again", "    restart: \"no\"\n", "", false, "restart \"no\""},
		{"hard-coded id", "EVSIM_CP: ${CP4_ID:-CP-004}", "EVSIM_CP: CP-004", true, "hard-coded"},
		{"hard-coded port", "${PUBLISH_HOST:-127.0.0.1}:${CP2_ENGINE_PORT:-9102}:", "127.0.0.1:9102:", true, "should come from the environment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(orig), tc.old) {
				t.Fatalf("compose.yaml no longer contains %q: update this case", tc.old)
			}
			broken := []byte(strings.ReplaceAll(string(orig), tc.old, tc.new))
			var env map[string]string
			if !tc.raw {
				env = map[string]string{}
			}
			cf, err := parseCompose(broken, env)
			if err != nil {
				t.Fatalf("the broken file does not parse: %v", err)
			}
			rec := &recorder{}
			if tc.raw {
				checkFromEnvironment(rec, cf)
			} else {
				checkGraph(rec, "broken", cf, true)
			}
			for _, e := range rec.errs {
				if strings.Contains(e, tc.want) {
					return
				}
			}
			t.Errorf("no check said %q; they said:\n%s", tc.want, strings.Join(rec.errs, "\n"))
		})
	}
}

package config

import (
	"path/filepath"
	"testing"
	"time"
)

// The compose file configures every role through these variables only.
func TestNodeRolesReadTheComposeVariables(t *testing.T) {
	kafka := []string{"KAFKA_BOOTSTRAP", "kafka:9092", "KAFKA_WAIT_MAX_ATTEMPTS", "0", "KAFKA_WAIT_SECONDS", "0.5",
		"EVSIM_LOG_LEVEL", "debug", "EVSIM_LOG_FORMAT", "json"}
	c, err := ParseCentral(nil, env(append(kafka, "EVSIM_LISTEN", "0.0.0.0:8090", "EVSIM_ADVERTISE", "central:8090",
		"EVSIM_HTTP", "0.0.0.0:8080", "EVSIM_DB", "/data/central.db", "EVSIM_OPERATOR_TOKEN", "tok",
		"EVSIM_CP_SECRETS", "CP-001=a, CP-002=b")...))
	if err != nil {
		t.Fatal(err)
	}
	if c.Kafka.Brokers[0] != "kafka:9092" || c.Kafka.WaitAttempts != 0 || c.Kafka.WaitInterval != 500*time.Millisecond ||
		c.Log.Level != "debug" || c.Log.Format != "json" || c.Remote.Listen != "0.0.0.0:8090" ||
		c.Remote.Advertise != "central:8090" || c.HTTP != "0.0.0.0:8080" || c.DB != "/data/central.db" ||
		c.OperatorToken != "tok" || c.CPSecrets["CP-001"] != "a" || c.CPSecrets["CP-002"] != "b" || c.Group != "central" {
		t.Fatalf("central: %+v", c)
	}

	e, err := ParseEngine(nil, env(append(kafka, "EVSIM_CP", "CP-003", "EVSIM_LISTEN", "0.0.0.0:9103",
		"EVSIM_ADVERTISE", "engine-cp-003:9103", "EVSIM_KW", "50", "EVSIM_PRICE", "0.45")...))
	if err != nil {
		t.Fatal(err)
	}
	if e.CP != "CP-003" || e.Remote.Advertise != "engine-cp-003:9103" || e.KW != 50 || e.Price != 0.45 ||
		e.Journal != filepath.Join("evnode-data", "engine-CP-003.json") || e.Group != "engine-CP-003" {
		t.Fatalf("engine: %+v", e)
	}

	m, err := ParseMonitor(nil, env(append(kafka, "EVSIM_CP", "CP-003", "EVSIM_ENGINE", "engine-cp-003:9103",
		"EVSIM_CENTRAL", "central:8090", "EVSIM_LOCATION", "Old Town", "EVSIM_LISTEN", "0.0.0.0:9203",
		"EVSIM_ADVERTISE", "monitor-cp-003:9203", "EVSIM_SECRET", "s3", "EVSIM_KW", "50", "EVSIM_PRICE", "0.45")...))
	if err != nil {
		t.Fatal(err)
	}
	if m.Engine != "engine-cp-003:9103" || m.Central != "central:8090" || m.Location != "Old Town" ||
		m.Secret != "s3" || m.KW != 50 || m.Price != 0.45 || m.Remote.Advertise != "monitor-cp-003:9203" ||
		m.CentralTimeout != 3*time.Second || m.EngineGrace != 15*time.Second {
		t.Fatalf("monitor: %+v", m)
	}

	d, err := ParseDriver(nil, env(append(kafka, "EVSIM_ID", "bob", "EVSIM_REQUESTS", "/etc/evsim/requests/bob.txt")...))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "bob" || d.Requests != "/etc/evsim/requests/bob.txt" || d.Pause != 4*time.Second ||
		d.Progress != filepath.Join("evnode-data", "driver-bob.json") || d.Group != "driver-bob" {
		t.Fatalf("driver: %+v", d)
	}
}

func TestRemoteAdvertiseDefaults(t *testing.T) {
	r := Remote{Listen: "127.0.0.1:9101"}
	if err := r.Finish(); err != nil || r.Advertise != "127.0.0.1:9101" {
		t.Fatalf("advertise %q, err %v", r.Advertise, err)
	}
	r = Remote{Listen: "0.0.0.0:9101"}
	if err := r.Finish(); err != nil || r.Advertise == "" || r.Advertise == "0.0.0.0:9101" {
		t.Fatalf("advertise %q, err %v", r.Advertise, err)
	}
	for _, bad := range []Remote{{Listen: "127.0.0.1:0"}, {Listen: "x"}, {Listen: "127.0.0.1:1", Advertise: "0.0.0.0:1"}, {Listen: "127.0.0.1:1", Advertise: ":1"}} {
		if err := bad.Finish(); err == nil || !IsUsage(err) {
			t.Errorf("%+v: want a usage error, got %v", bad, err)
		}
	}
}

// evsim and evnode central run one after the other in one directory (the
// README's quick starts) must not share Central's registry and its secrets.
func TestEvnodeCentralDoesNotOpenEvsimsDatabase(t *testing.T) {
	node, err := ParseCentral(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	sim, err := ParseSim(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Clean(node.DB) == filepath.Clean(sim.DB) || filepath.Clean(node.DB) != filepath.Join("evnode-data", "central.db") {
		t.Fatalf("evnode central's default database %q, evsim's %q: want ./evnode-data/central.db apart from evsim's", node.DB, sim.DB)
	}
}

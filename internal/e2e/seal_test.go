package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// Issue 12 across real processes, with encryption on by default: Central,
// an engine, a monitor and a driver, each in its own evnode process with
// its own keyring. The records on the charge point's topics are sealed; a
// forged supply end of 999 kWh is refused with one WARN and the charge
// point shows ENCRYPTION_ERROR; a key rotation over HTTP mid-supply and a
// kill -9 of Central lose no ticket.
func TestEvnodeSealedTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evnode processes")
	}
	runSealed(t, "")
}

// TestIntegrationEvnodeSealedTrafficOnKafka is the same on a real Kafka.
func TestIntegrationEvnodeSealedTrafficOnKafka(t *testing.T) {
	brokers := os.Getenv("EVSIM_KAFKA_BROKERS")
	if brokers == "" {
		if mustHaveKafka() {
			t.Fatal("EVSIM_KAFKA_BROKERS is empty in an integration run")
		}
		t.Skip("EVSIM_KAFKA_BROKERS is not set")
	}
	runSealed(t, brokers)
}

func runSealed(t *testing.T, realBrokers string) {
	h := newHarness(t)
	brokers, centralAddr, httpAddr, engineAddr, monitorAddr := realBrokers, freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	cp, driver, group := "CP-001", "alice", "central"
	if realBrokers == "" {
		brokers = freeAddr(t)
		h.add("broker", nil, "broker", "--listen", brokers)
	} else {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		run := hex.EncodeToString(b)
		cp, driver, group = "CP-"+run, "alice-"+run, "central-"+run
	}
	const token = "op-token-0123456789"
	h.add("central", nodeKafkaEnv(brokers), "central", "--listen", centralAddr, "--http", httpAddr, "--group", group,
		"--db", filepath.Join(h.dir, "central.db"), "--cp-secrets", cp+"=s3cret", "--operator-token", token)
	h.add("engine", nodeKafkaEnv(brokers), "engine", "--cp", cp, "--listen", engineAddr,
		"--journal", filepath.Join(h.dir, "engine.json"), "--supply-duration", "6s", "--telemetry-interval", "250ms")
	h.add("monitor", nodeKafkaEnv(brokers), "monitor", "--cp", cp, "--engine", engineAddr, "--central", centralAddr,
		"--listen", monitorAddr, "--secret", "s3cret", "--engine-grace", "10s")
	requests := filepath.Join(h.dir, "requests.txt")
	if err := os.WriteFile(requests, []byte(strings.Repeat(cp+"\n", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	h.add("driver", nodeKafkaEnv(brokers), "driver", "--id", driver, "--requests", requests,
		"--progress", filepath.Join(h.dir, "driver.json"), "--driver-pause", "1s")
	for _, name := range h.order {
		h.start(name)
	}
	tickets := func() int { return strings.Count(h.log("driver", 0), "| Ticket for "+driver+" at ") }
	h.eventually(60*time.Second, "a first ticket", func() (bool, string) { return tickets() >= 1, describe(chargePoints(httpAddr)) })

	// What Kafka carries for the charge point is sealed.
	for _, topic := range []string{bridge.TopicStatus, bridge.TopicSessionEnd, bridge.TopicCommands} {
		env := firstRecord(t, brokers, topic, cp)
		if len(env.GetSealed()) == 0 || len(env.GetPayload()) != 0 || env.GetKeyId() == "" || env.GetCpId() != cp {
			h.fail("a record of %s on %s is not sealed: %v", cp, topic, env)
		}
	}

	// A forged supply end in clear: refused, one WARN, ENCRYPTION_ERROR, no ticket.
	forged, err := bridge.Encode(&messages.SupplyEnded{SessionId: "forged", DriverId: driver, CpId: cp, Kwh: 999, Eur: 299.7,
		StartedAt: timestamppb.Now(), EndedAt: timestamppb.Now(), Reason: messages.EndReason_END_REASON_COMPLETED}, "mallory")
	if err != nil {
		t.Fatal(err)
	}
	testutil.ProduceRecord(t, brokers, bridge.TopicSessionEnd, cp, forged)
	h.eventually(20*time.Second, "the forgery refused and shown", func() (bool, string) {
		cps := chargePoints(httpAddr)
		return strings.Count(h.log("central", 0), "Refused a record for "+cp) == 1 && cps[cp].State == "ENCRYPTION_ERROR", describe(cps)
	})
	if strings.Contains(h.log("driver", 0), "999.00 kWh") || strings.Contains(h.log("central", 0), "999.00 kWh") {
		h.fail("a forged supply end was ticketed")
	}

	// A rotation over HTTP mid-supply: the engine seals with the new key, nothing is refused.
	h.eventually(30*time.Second, cp+" supplying again", func() (bool, string) {
		cps := chargePoints(httpAddr)
		return cps[cp].State == "SUPPLYING", describe(cps)
	})
	before := tickets()
	req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+"/api/chargepoints/"+cp+"/rotate-key", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("rotate-key: %v %v", res, err)
	}
	res.Body.Close()
	h.eventually(20*time.Second, "the engine seals with the new key", func() (bool, string) {
		return strings.Contains(h.log("engine", 0), "Sealing with a new key from Central"), ""
	})
	h.eventually(30*time.Second, "the supply across the rotation ticketed", func() (bool, string) {
		return tickets() > before, describe(chargePoints(httpAddr))
	})

	// Central killed and restarted: its keys come back from its database.
	h.kill("central")
	h.start("central")
	before = tickets()
	h.eventually(60*time.Second, "tickets after Central's restart", func() (bool, string) {
		return tickets() > before, describe(chargePoints(httpAddr))
	})
	for name, want := range map[string]int{"central": 1, "engine": 0, "monitor": 0} {
		log := h.log(name, -1)
		if n := strings.Count(log, "Refused a record"); n != want {
			h.fail("%s refused %d records, want %d (the forgery's):\n%s", name, n, want, log)
		}
		if bad := badLines(log); len(bad) > 0 {
			h.fail("%s logged errors: %q", name, bad)
		}
	}
}

// firstRecord is the first record of key on topic, as its envelope.
func firstRecord(t *testing.T, brokers, topic, key string) *messages.Envelope {
	t.Helper()
	env := new(messages.Envelope)
	if err := proto.Unmarshal(testutil.FirstRecord(t, brokers, topic, key), env); err != nil {
		t.Fatalf("a record on %s: %v", topic, err)
	}
	return env
}

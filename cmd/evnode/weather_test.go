package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// readWeatherAlerts returns the records of the weather alerts topic keyed
// key, in order.
func readWeatherAlerts(t *testing.T, brokers, key string) []*messages.WeatherAlert {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_8_0_0
	client, err := sarama.NewClient([]string{brokers}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	parts, err := c.Partitions(bridge.TopicWeatherAlerts)
	if err != nil {
		return nil
	}
	var out []*messages.WeatherAlert
	for _, part := range parts {
		hw, err := client.GetOffset(bridge.TopicWeatherAlerts, part, sarama.OffsetNewest)
		if err != nil || hw == 0 {
			continue
		}
		pc, err := c.ConsumePartition(bridge.TopicWeatherAlerts, part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for msg := range pc.Messages() {
			m, _, err := bridge.Decode(msg.Value)
			if err != nil {
				t.Fatalf("a record of the weather alerts topic does not decode: %v", err)
			}
			if a := m.(*messages.WeatherAlert); string(msg.Key) == key {
				out = append(out, a)
			}
			if msg.Offset+1 >= hw {
				break
			}
		}
		_ = pc.Close()
	}
	return out
}

// evnode weather with the file provider: a change of the file raises the
// alert, another cancels it; both are on the compacted topic keyed by the
// city, and in the office's audit log, whose chain verifies.
func TestWeatherCommandAlertsFromItsFile(t *testing.T) {
	weatherCommandAlertsFromItsFile(t, startBrokerCommand(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()), "Alicante")
}

// The same on the integration suite's Apache Kafka, for a city of this run
// (the cluster keeps the topic across runs).
func TestIntegrationWeatherCommandOnKafka(t *testing.T) {
	addrs := os.Getenv("EVSIM_KAFKA_BROKERS")
	if addrs == "" {
		if os.Getenv("EVSIM_INTEGRATION") == "1" {
			t.Fatal("EVSIM_INTEGRATION=1 but EVSIM_KAFKA_BROKERS is empty: the real Kafka case cannot run")
		}
		t.Skip("EVSIM_KAFKA_BROKERS is not set (scripts/test-integration.sh runs this against Apache Kafka)")
	}
	weatherCommandAlertsFromItsFile(t, strings.Split(addrs, ",")[0], fmt.Sprintf("Testville %d", time.Now().UnixNano()))
}

func weatherCommandAlertsFromItsFile(t *testing.T, addr, city string) {
	key := strings.ToLower(city)
	dir := t.TempDir()
	temps, auditPath := filepath.Join(dir, "temperatures.txt"), filepath.Join(dir, "audit.log")
	write := func(s string) {
		if err := os.WriteFile(temps, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# city celsius\n" + city + " 5\n")
	log := runRole(t, "weather", "--brokers", addr, "--file", temps, "--interval", "100ms", "--audit-log", auditPath, "--seed", "3")
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(log.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", what, log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("Weather office started: reading file every 100ms")
	deadline := time.Now().Add(15 * time.Second)
	for len(readWeatherAlerts(t, addr, key)) == 0 { // the first reading publishes the state: no alert
		if time.Now().After(deadline) {
			t.Fatal("no alert state published")
		}
		time.Sleep(50 * time.Millisecond)
	}
	write(city + " -3\n")
	waitFor("Weather alert for " + city + ": \u22123 °C")
	write(city + " 2.5\n")
	waitFor("Weather alert for " + city + " cancelled: 2.5 °C")

	var got []*messages.WeatherAlert
	deadline = time.Now().Add(15 * time.Second)
	for got = readWeatherAlerts(t, addr, key); len(got) < 3; got = readWeatherAlerts(t, addr, key) {
		if time.Now().After(deadline) {
			t.Fatalf("want 3 alert records, got %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(got) != 3 || got[0].GetActive() || !got[1].GetActive() || got[1].GetCelsius() != -3 || got[2].GetActive() || got[2].GetCelsius() != 2.5 {
		t.Fatalf("alert records %v", got)
	}
	n, err := audit.VerifyFile(auditPath)
	if err != nil || n != 2 {
		t.Fatalf("audit log: %d records, %v", n, err)
	}
	b, _ := os.ReadFile(auditPath)
	if !strings.Contains(string(b), `"action":"weather.alert","target":"`+city+`"`) || !strings.Contains(string(b), `"action":"weather.cancel"`) {
		t.Fatalf("audit log:\n%s", b)
	}
	checkCompacted(t, addr, bridge.TopicWeatherAlerts)
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "| ERROR |") || strings.Contains(line, "| WARN |") || strings.Contains(line, "panic") {
			t.Errorf("not a clean log line: %s", line)
		}
	}
}

func TestWeatherCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.txt")
	_ = os.WriteFile(scenario, []byte("10s stop CP-001\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"weather", "--provider", "sky"}, "--provider"},
		{[]string{"weather", "--provider", "openweather"}, "--openweather-key"},
		{[]string{"weather", "--file", filepath.Join(dir, "none.txt")}, "--file"},
		{[]string{"weather", "--central-http", "127.0.0.1:8080"}, "--central-http"},
		{[]string{"weather", "--scenario", scenario}, "--scenario"},
		{[]string{"weather", "--interval", "-1s"}, "--interval"},
	} {
		var stdout, stderr strings.Builder
		if code := run(tc.args, noEnv, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", tc.args, code, stderr.String())
		}
		if out := strings.TrimRight(stderr.String(), "\n"); strings.Count(out, "\n") != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: want one line naming %s, got %q", tc.args, tc.want, out)
		}
	}
}

// With --central-http the office reads the cities of Central's charge
// points from its /api/weather and publishes each one's state.
func TestWeatherCommandReadsCentralsCities(t *testing.T) {
	addr := startBrokerCommand(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	var asked atomic.Int32
	central := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/weather" || r.URL.Query().Get("history") != "0" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"cities":[{"city":"Bilbao","celsius":null,"at":null,"alert":false,"alert_since":null,"reason":"",` +
			`"chargepoints":["CP-005"],"chargepoints_total":1,"history":[]}],"alerts":0}`))
	}))
	t.Cleanup(central.Close)
	runRole(t, "weather", "--brokers", addr, "--central-http", central.URL, "--interval", "100ms",
		"--audit-log", filepath.Join(t.TempDir(), "audit.log"), "--seed", "3")
	deadline := time.Now().Add(15 * time.Second)
	for len(readWeatherAlerts(t, addr, "bilbao")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no state published for Bilbao (Central asked %d times)", asked.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

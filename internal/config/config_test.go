package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestSimDefaultsMatchTheContract(t *testing.T) {
	c, err := ParseSim(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.ChargePoints != 5 || c.Drivers != 3 || c.EmbeddedBroker != "127.0.0.1:9092" || c.Panel != "auto" ||
		c.DB != "./evsim-data/central.db" || c.Kafka.WaitAttempts != 30 || c.Kafka.WaitInterval != 2*time.Second ||
		len(c.Kafka.Brokers) != 0 || c.Log.Level != "info" || c.Log.Format != "text" ||
		c.TelemetryInterval != time.Second || c.HealthInterval != time.Second || c.DriverPause != 4*time.Second ||
		c.ChargeKW != 22 || c.PriceEURPerKWh != 0.30 {
		t.Fatalf("defaults differ from cli.md/rules.md: %+v", c)
	}
}

func TestEnvironmentFillsFlagsAndCommandLineWins(t *testing.T) {
	c, err := ParseSim([]string{"--cps", "7"}, env(
		"EVSIM_CPS", "9", "EVSIM_DRIVERS", "4", "KAFKA_BOOTSTRAP", "a:9092, b:9093",
		"KAFKA_WAIT_MAX_ATTEMPTS", "0", "KAFKA_WAIT_SECONDS", "0.25", "EVSIM_LOG_LEVEL", "debug",
		"EVSIM_CHAOS_KO", "0.01", "EVSIM_HTTP_MAX_STREAMS", "42"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ChargePoints != 7 {
		t.Errorf("--cps 7 lost to EVSIM_CPS: %d", c.ChargePoints)
	}
	if c.Drivers != 4 || c.Kafka.WaitAttempts != 0 || c.Kafka.WaitInterval != 250*time.Millisecond ||
		c.Log.Level != "debug" || c.ChaosKO != 0.01 || c.HTTPMaxStreams != 42 || c.HTTPStreamQueue != 64 || strings.Join(c.Kafka.Brokers, ",") != "a:9092,b:9093" {
		t.Errorf("environment not applied: %+v", c)
	}
}

func TestBadValuesNameTheFlag(t *testing.T) {
	cases := []struct {
		args    []string
		env     []string
		flag    string
		mention string
	}{
		{[]string{"--cps", "lots"}, nil, "cps", "--cps"},
		{[]string{"--cps", "0"}, nil, "cps", "out of range"},
		{[]string{"--nope"}, nil, "nope", "no such flag"},
		{[]string{"--panel", "fancy"}, nil, "panel", "fancy"},
		{[]string{"--log-level", "loud"}, nil, "log-level", "loud"},
		{[]string{"--log-format", "xml"}, nil, "log-format", "xml"},
		{[]string{"--kafka-wait-seconds", "-1"}, nil, "kafka-wait-seconds", "negative"},
		{[]string{"--brokers", "kafka"}, nil, "brokers", "HOST:PORT"},
		{[]string{"--chaos-ko", "2"}, nil, "chaos-ko", "probability"},
		{[]string{"--duration", "soon"}, nil, "duration", "--duration"},
		{[]string{"--health-timeout", "2s"}, nil, "health-timeout", "--health-interval"},
		{[]string{"--retention-bytes", "100"}, nil, "retention-bytes", "at least"},
		{nil, []string{"EVSIM_TELEMETRY_RETENTION", "10ms"}, "telemetry-retention", "at least"},
		{[]string{"--segment-bytes", "1"}, nil, "segment-bytes", "at least"},
		{nil, []string{"EVSIM_DRIVERS", "x"}, "drivers", "EVSIM_DRIVERS"},
		{nil, []string{"KAFKA_WAIT_MAX_ATTEMPTS", "-3"}, "kafka-wait-attempts", "negative"},
		{[]string{"--http-max-streams", "0"}, nil, "http-max-streams", "at least 1"},
		{nil, []string{"EVSIM_HTTP_STREAM_QUEUE", "0"}, "http-stream-queue", "at least 1"},
	}
	for _, tc := range cases {
		_, err := ParseSim(tc.args, env(tc.env...))
		var u *UsageError
		if !errors.As(err, &u) {
			t.Errorf("%v %v: want a UsageError, got %v", tc.args, tc.env, err)
			continue
		}
		if u.Flag != tc.flag {
			t.Errorf("%v %v: error names flag %q, want %q (%v)", tc.args, tc.env, u.Flag, tc.flag, err)
		}
		if msg := err.Error(); !strings.Contains(msg, tc.mention) || strings.Contains(msg, "\n") {
			t.Errorf("%v %v: message %q should be one line mentioning %q", tc.args, tc.env, msg, tc.mention)
		}
	}
}

func TestNames(t *testing.T) {
	got := []string{DriverName(0), DriverName(1), DriverName(2), DriverName(3), ChargePointID(0), ChargePointID(41)}
	want := "alice bob charlie driver-004 CP-001 CP-042"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v want %s", got, want)
	}
}

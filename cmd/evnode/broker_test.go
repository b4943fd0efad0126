package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/internal/testutil"
)

type syncBuffer = testutil.SyncBuffer

func noEnv(string) (string, bool) { return "", false }

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

var listening = regexp.MustCompile(`Embedded Kafka broker listening on (127\.0\.0\.1:\d+)`)

// startBrokerCommand runs `evnode broker` until the test ends and returns its address.
func startBrokerCommand(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- runBroker(ctx, args, noEnv, stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("broker exited %d after the signal, want 0", code)
			}
		case <-time.After(10 * time.Second):
			t.Error("broker did not stop")
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m := listening.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker never said where it listens:\n%s", stderr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBrokerCommandServesKafkaUntilStopped(t *testing.T) {
	addr := startBrokerCommand(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	var stderr bytes.Buffer
	if code := runWaitKafka(context.Background(), []string{"--brokers", addr, "--kafka-wait-attempts", "3", "--kafka-wait-seconds", "0.1"}, noEnv, &stderr); code != 0 {
		t.Fatalf("wait-kafka against the broker exited %d:\n%s", code, &stderr)
	}
	if !strings.Contains(stderr.String(), "| INFO | Bridge | Kafka at "+addr+" is ready") {
		t.Fatalf("no ready line:\n%s", &stderr)
	}
}

func TestBrokerCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "nowhere"},
		{"--partitions", "0"},
		{"--advertise", "kafka"},
		{"--advertise", "kafka:0"},
		{"--log-level", "loud"},
		{"--what"},
	} {
		var stderr bytes.Buffer
		if code := runBroker(context.Background(), args, noEnv, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "--") {
			t.Errorf("%v: want one line naming the flag, got %q", args, stderr.String())
		}
	}
}

func TestBrokerCommandReadsItsEnvironment(t *testing.T) {
	c, err := parseBroker(nil, func(k string) (string, bool) {
		v, ok := map[string]string{"EVSIM_LISTEN": "127.0.0.1:19999", "EVSIM_DATA_DIR": "/tmp/x"}[k]
		return v, ok
	})
	if err != nil || c.Listen != "127.0.0.1:19999" || c.DataDir != "/tmp/x" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parseBroker(nil, noEnv)
	if err != nil || c.Listen != "127.0.0.1:9092" || c.DataDir != "" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}

// With --data-dir, a broker stopped and started again keeps its topics and records.
func TestBrokerCommandKeepsRecordsInItsDataDir(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- runBroker(ctx, []string{"--listen", addr, "--data-dir", dir}, noEnv, &syncBuffer{}) }()
	waitKafka(t, addr)
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer([]string{addr}, sc)
	if err != nil {
		t.Fatal(err)
	}
	partition, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "kept", Value: sarama.StringEncoder("still here")})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("broker exited %d", code)
	}

	again := startBrokerCommand(t, "--listen", addr, "--data-dir", dir)
	c, err := sarama.NewConsumer([]string{again}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("kept", partition, sarama.OffsetOldest)
	if err != nil {
		t.Fatalf("the topic did not survive the restart: %v", err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		if string(m.Value) != "still here" {
			t.Fatalf("got %q", m.Value)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the record did not survive the restart")
	}
}

func waitKafka(t *testing.T, addr string) {
	t.Helper()
	var stderr bytes.Buffer
	if code := runWaitKafka(context.Background(), []string{"--brokers", addr, "--kafka-wait-attempts", "50", "--kafka-wait-seconds", "0.1"}, noEnv, &stderr); code != 0 {
		t.Fatalf("broker at %s never answered:\n%s", addr, &stderr)
	}
}

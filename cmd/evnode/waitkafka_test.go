package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWaitKafkaExitsOneAfterTheAttempts(t *testing.T) {
	addr := freeAddr(t)
	var stderr bytes.Buffer
	start := time.Now()
	code := runWaitKafka(context.Background(), nil, func(k string) (string, bool) {
		v, ok := map[string]string{"KAFKA_BOOTSTRAP": addr, "KAFKA_WAIT_MAX_ATTEMPTS": "3", "KAFKA_WAIT_SECONDS": "0.1"}[k]
		return v, ok
	}, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, &stderr)
	}
	if took := time.Since(start); took > 3*100*time.Millisecond+2*time.Second {
		t.Errorf("took %v", took)
	}
	out := stderr.String()
	if !strings.Contains(out, "| INFO | Bridge | Waiting for Kafka at "+addr+" to be ready (max attempts 3, interval 0.1s)") {
		t.Errorf("no waiting line:\n%s", out)
	}
	// Nothing but our own lines: no sarama chatter above DEBUG, no stack trace.
	house := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (INFO|ERROR) \| Bridge \| `)
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !house.MatchString(l) {
			t.Errorf("unexpected line %q", l)
		}
	}
	errs := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "| ERROR |") {
			errs++
			if !strings.Contains(l, "| ERROR | Bridge | Kafka at "+addr+" did not become available after 3 attempts") {
				t.Errorf("unexpected ERROR line %q", l)
			}
		}
	}
	if errs != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", errs, out)
	}
}

func TestWaitKafkaUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--brokers", "kafka"},
		{"--brokers", ""},
		{"--kafka-wait-attempts", "-1"},
		{"--kafka-wait-seconds", "soon"},
	} {
		var stderr bytes.Buffer
		if code := runWaitKafka(context.Background(), args, noEnv, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, &stderr)
		}
		if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 {
			t.Errorf("%v: want one line, got %q", args, stderr.String())
		}
	}
}

func TestDispatchKnowsBrokerAndWaitKafka(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"wait-kafka", "--brokers", "x"}, noEnv, &out, &errb); code != 2 {
		t.Fatalf("wait-kafka with a bad flag: exit %d (%s)", code, &errb)
	}
	errb.Reset()
	if code := run([]string{"broker", "--listen", "x"}, noEnv, &out, &errb); code != 2 {
		t.Fatalf("broker with a bad flag: exit %d (%s)", code, &errb)
	}
}

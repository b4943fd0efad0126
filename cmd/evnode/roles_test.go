package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// A usage error is one line on stderr that names the flag, and exit 2.
func TestRoleUsageErrors(t *testing.T) {
	requests := filepath.Join(t.TempDir(), "alice.txt")
	if err := os.WriteFile(requests, []byte("CP-001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  func(string) (string, bool)
		want []string
	}{
		{"central bad listen", []string{"central", "--listen", "nope"}, noEnv, []string{"--listen"}},
		{"central bad secrets", []string{"central", "--cp-secrets", "CP-001"}, noEnv, []string{"--cp-secrets"}},
		{"central secret not echoed", []string{"central", "--cp-secrets", "CP-001=x,CP-001=y"}, noEnv, []string{"--cp-secrets", "twice"}},
		{"central bad http", []string{"central", "--http", "8080"}, noEnv, []string{"--http"}},
		{"engine without cp", []string{"engine"}, noEnv, []string{"--cp"}},
		{"engine kw from env", []string{"engine", "--cp", "CP-001"}, envOf("EVSIM_KW", "fast"), []string{"--kw", "EVSIM_KW"}},
		{"engine brokers from env", []string{"engine", "--cp", "CP-001"}, envOf("KAFKA_BOOTSTRAP", "kafka"), []string{"--brokers"}},
		{"monitor without secret", []string{"monitor", "--cp", "CP-001"}, noEnv, []string{"--secret"}},
		{"monitor advertise any", []string{"monitor", "--cp", "CP-001", "--secret", "s", "--advertise", "0.0.0.0:9201"}, noEnv, []string{"--advertise"}},
		{"monitor engine port 0", []string{"monitor", "--cp", "CP-001", "--secret", "s", "--engine", "127.0.0.1:0"}, noEnv, []string{"--engine"}},
		{"monitor timeout above interval", []string{"monitor", "--cp", "CP-001", "--secret", "s", "--health-timeout", "2s"}, noEnv, []string{"--health-timeout"}},
		{"driver without requests", []string{"driver", "--id", "alice"}, noEnv, []string{"--requests"}},
		{"driver missing requests file", []string{"driver", "--id", "alice", "--requests", "/nonexistent/alice.txt"}, noEnv, []string{"--requests"}},
		{"driver id from env", []string{"driver", "--requests", requests}, envOf("EVSIM_ID", "a/b"), []string{"--id"}},
		{"unknown flag", []string{"engine", "--cp", "CP-001", "--nope"}, noEnv, []string{"--nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, tc.env, &stdout, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, stderr.String())
			}
			out := strings.TrimRight(stderr.String(), "\n")
			if strings.Count(out, "\n") != 0 {
				t.Errorf("want one line on stderr, got:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stderr %q does not name %q", out, w)
				}
			}
			if strings.Contains(out, "=y") || strings.Contains(out, "=x") {
				t.Errorf("stderr %q shows a secret", out)
			}
		})
	}
}

// A taken port is a runtime failure: one ERROR line, exit 1, no panic.
func TestCentralPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stderr := &syncBuffer{}
	code := runCentral(context.Background(), []string{"--listen", ln.Addr().String(), "--db", ":memory:", "--brokers", freeAddr(t)}, noEnv, stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1; log:\n%s", code, stderr.String())
	}
	out := stderr.String()
	if strings.Count(out, "| ERROR |") != 1 || !strings.Contains(out, "cannot listen on "+ln.Addr().String()) {
		t.Errorf("want one ERROR line saying it cannot listen, got:\n%s", out)
	}
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
		t.Errorf("a stack trace in the log:\n%s", out)
	}
}

// A signal while the bridge waits for Kafka is a clean stop: exit 0.
func TestRolesStopCleanlyWhileWaitingForKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts actor remotes")
	}
	dir := t.TempDir()
	requests := filepath.Join(dir, "alice.txt")
	if err := os.WriteFile(requests, []byte("CP-001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dead := freeAddr(t) // nothing listens there: the bridge keeps waiting
	for _, tc := range []struct {
		role string
		fn   func(context.Context, []string, func(string) (string, bool), io.Writer) int
		args []string
	}{
		{"central", runCentral, []string{"--listen", freeAddr(t), "--db", ":memory:", "--http", freeAddr(t)}},
		{"engine", runEngine, []string{"--cp", "CP-001", "--listen", freeAddr(t), "--journal", filepath.Join(dir, "j.json")}},
		{"driver", runDriver, []string{"--id", "alice", "--requests", requests, "--progress", "memory"}},
	} {
		t.Run(tc.role, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stderr := &syncBuffer{}
			done := make(chan int, 1)
			args := append([]string{"--brokers", dead, "--kafka-wait-seconds", "0.2"}, tc.args...)
			go func() { done <- tc.fn(ctx, args, noEnv, stderr) }()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(stderr.String(), "Waiting for Kafka") {
				if time.Now().After(deadline) {
					t.Fatalf("no waiting line:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("exit %d, want 0; log:\n%s", code, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("did not stop; log:\n%s", stderr.String())
			}
			if out := stderr.String(); strings.Contains(out, "ERROR") || strings.Contains(out, "goroutine ") {
				t.Errorf("ERROR or stack trace in the log:\n%s", out)
			}
		})
	}
}

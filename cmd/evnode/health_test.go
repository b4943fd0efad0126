package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// TestMain lets a test run `evnode ARGS` as a process of its own, as in a
// container: protoactor sets gRPC's global logger whenever a remote starts,
// so the probe and the roles must not share one process (a data race).
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(subprocessEnv); ok {
		os.Exit(run(strings.Split(args, "\x1f"), os.LookupEnv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const subprocessEnv = "EVNODE_TEST_SUBPROCESS_ARGS"

func evnodeCommand(t testing.TB, args ...string) *testutil.Cmd {
	cmd := testutil.Command(t, os.Args[0])
	cmd.Env = append(os.Environ(), subprocessEnv+"="+strings.Join(args, "\x1f"))
	return cmd
}

// runRole runs `evnode ARGS` in a process of its own until the test ends.
func runRole(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	stderr := &syncBuffer{}
	cmd := evnodeCommand(t, args...)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("evnode %v did not stop; log:\n%s", args, stderr.String())
		}
	})
	return stderr
}

// health runs `evnode health ARGS...` in a process of its own and returns
// its exit code and output.
func health(t testing.TB, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	cmd := evnodeCommand(t, append([]string{"health"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		code = -1
	}
	return code, stdout.String(), stderr.String()
}

// healthyWithin polls `evnode health ARGS...` until it exits 0.
func healthyWithin(t *testing.T, bound time.Duration, log *syncBuffer, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		code, out, errOut := health(t, args...)
		if code == 0 {
			if strings.Count(strings.TrimRight(out, "\n"), "\n") != 0 || errOut != "" {
				t.Errorf("a healthy answer should be one line on stdout; stdout %q stderr %q", out, errOut)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("evnode health %v still exits %d after %v: %s\nrole's log:\n%s", args, code, bound, errOut, log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unhealthy expects exit 1 and one line on stderr containing want.
func unhealthy(t *testing.T, want string, args ...string) {
	t.Helper()
	code, out, errOut := health(t, args...)
	if code != 1 || out != "" || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 || !strings.Contains(errOut, want) {
		t.Errorf("evnode health %v: exit %d, stdout %q, stderr %q; want exit 1 and one line saying %q", args, code, out, errOut, want)
	}
}

func TestHealthEngineAndMonitorAnswerOverTheirRemote(t *testing.T) {
	if testing.Short() {
		t.Skip("starts actor remotes")
	}
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	engineAddr, monitorAddr := freeAddr(t), freeAddr(t)
	engineLog := runRole(t, "engine", "--brokers", broker, "--cp", "CP-007", "--listen", engineAddr, "--journal", "memory")
	monitorLog := runRole(t, "monitor", "--cp", "CP-007", "--secret", "s", "--engine", engineAddr,
		"--central", freeAddr(t), "--listen", monitorAddr)

	out := healthyWithin(t, 20*time.Second, engineLog, "engine", "--listen", engineAddr, "--cp", "CP-007")
	if !strings.Contains(out, "engine of CP-007 answered OK") {
		t.Errorf("engine check said %q, want the engine's own answer", out)
	}
	// A listen address that binds every interface is asked on loopback.
	_, port, _ := strings.Cut(monitorAddr, ":")
	out = healthyWithin(t, 20*time.Second, monitorLog, "monitor", "--listen", "0.0.0.0:"+port)
	if !strings.Contains(out, "actor remote at "+monitorAddr+" answered") {
		t.Errorf("monitor check said %q", out)
	}
	// A monitor is not an engine: the engine check wants the engine's answer.
	unhealthy(t, "no answer from engine", "engine", "--listen", monitorAddr, "--probe-timeout", "2s")
	// Nothing listening: unhealthy, for either check.
	dead := freeAddr(t)
	unhealthy(t, "no answer", "monitor", "--listen", dead, "--probe-timeout", "2s")
	unhealthy(t, "no answer", "engine", "--listen", dead, "--probe-timeout", "2s")
}

func TestHealthCentralAsksReadyz(t *testing.T) {
	if testing.Short() {
		t.Skip("starts actor remotes")
	}
	// Kafka never answers: Central's panel is up, /readyz says 503.
	httpAddr := freeAddr(t)
	waiting := runRole(t, "central", "--brokers", freeAddr(t), "--listen", freeAddr(t), "--db", ":memory:", "--http", httpAddr)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, _, errOut := health(t, "central", "--http", httpAddr)
		if code == 1 && strings.Contains(errOut, "503") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want exit 1 with 503 while Kafka is away; got %d %q\n%s", code, errOut, waiting.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	readyHTTP := freeAddr(t)
	ready := runRole(t, "central", "--brokers", broker, "--listen", freeAddr(t), "--db", ":memory:", "--http", readyHTTP)
	if out := healthyWithin(t, 30*time.Second, ready, "central", "--http", readyHTTP); !strings.Contains(out, "/readyz answered 200") {
		t.Errorf("central check said %q", out)
	}
}

func TestHealthDriverNeedsItsProcessAndKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	// The host may run other evnode drivers (other tests): look for a
	// program name of this test's own.
	name := fmt.Sprintf("evnode-health-test-%d", os.Getpid())
	unhealthy(t, "no "+name+" driver process", "driver", "--brokers", broker, "--process-name", name)

	// A process whose command line reads `NAME driver`, as `evnode driver` in a container.
	fake := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := testutil.Command(t, fake, "driver")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if out := healthyWithin(t, 10*time.Second, &syncBuffer{}, "driver", "--brokers", broker, "--process-name", name); !strings.Contains(out, "Kafka answers") {
		t.Errorf("driver check said %q", out)
	}
	unhealthy(t, "does not answer", "driver", "--brokers", freeAddr(t), "--probe-timeout", "2s", "--process-name", name)
}

func TestHealthUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "needs a role"},
		{[]string{"kafka"}, "unknown role"},
		{[]string{"central"}, "--http"},
		{[]string{"engine", "--listen", "nope"}, "--listen"},
		{[]string{"monitor", "--probe-timeout", "0s"}, "--probe-timeout"},
	} {
		code, _, errOut := health(t, tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimRight(errOut, "\n"), "\n") != 0 {
			t.Errorf("evnode health %v: exit %d, stderr %q; want exit 2 and one line naming %s", tc.args, code, errOut, tc.want)
		}
	}
}

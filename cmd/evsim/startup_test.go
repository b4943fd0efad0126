package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// background is an evsim process the test talks to while it runs.
type background struct {
	cmd    *testutil.Cmd
	stderr *testutil.SyncBuffer
	done   chan struct{}
	exit   int
}

// startEvsim starts evsim with args and stops it (SIGKILL) at the end of the test.
func startEvsim(t *testing.T, args ...string) *background {
	t.Helper()
	b := &background{cmd: testutil.Command(t, evsimBinary(t), args...), stderr: &testutil.SyncBuffer{}, done: make(chan struct{})}
	b.cmd.Env = append(os.Environ(), "EVSIM_LOG_FORMAT=text")
	b.cmd.Stderr = b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := b.cmd.Wait()
		if exit, ok := err.(*exec.ExitError); ok {
			b.exit = exit.ExitCode()
		}
		close(b.done)
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		<-b.done
		if t.Failed() {
			t.Logf("stderr of evsim %v:\n%s", args, tail(b.stderr.String(), 40))
		}
	})
	return b
}

// wait waits for the process to end and returns its exit code.
func (b *background) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-b.done:
		return b.exit
	case <-time.After(within):
		t.Fatalf("evsim still runs after %v", within)
		return -1
	}
}

// get answers the status and body of GET url, or 0 when nothing answers.
func get(url string) (int, []byte) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// TestHealthzAnswersWhileWaitingForKafka: the web server starts before the
// bridge waits, so /healthz says 200 and /readyz 503 "waiting" while no
// Kafka answers; a signal then stops evsim cleanly.
func TestHealthzAnswersWhileWaitingForKafka(t *testing.T) {
	web := testutil.FreeAddr(t)
	noKafka := testutil.FreeAddr(t) // nothing listens there
	b := startEvsim(t, "--brokers", noKafka, "--kafka-wait-attempts", "0", "--kafka-wait-seconds", "0.2",
		"--http", web, "--db", ":memory:", "--panel", "off")

	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get("http://" + web + "/healthz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered 200 while evsim waited for Kafka")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body := get("http://" + web + "/readyz")
	var ready struct {
		State string `json:"state"`
		Ready bool   `json:"ready"`
	}
	if err := json.Unmarshal(body, &ready); code != http.StatusServiceUnavailable || err != nil || ready.State != "waiting" || ready.Ready {
		t.Errorf("/readyz while waiting: %d %s; want 503 with state waiting", code, body)
	}
	if code, body := get("http://" + web + "/api/network"); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "not started yet") {
		t.Errorf("/api/network before Central runs: %d %s; want 503 saying Central has not started", code, body)
	}
	_ = b.cmd.Process.Signal(syscall.SIGINT)
	if exit := b.wait(t, 15*time.Second); exit != 0 {
		t.Errorf("exit %d after SIGINT while waiting, want 0", exit)
	}
}

// TestTakenHTTPPortFailsBeforeAnythingStarts: a taken --http port ends evsim
// with exit 1 before the broker or the bridge start, its ERROR line last.
func TestTakenHTTPPortFailsBeforeAnythingStarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res := runEvsim(t, "--http", ln.Addr().String(), "--duration", "10s")
	if res.exit != 1 {
		t.Fatalf("exit %d, want 1", res.exit)
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "| ERROR |") || !strings.Contains(last, ln.Addr().String()) || !strings.Contains(last, "--http") {
		t.Errorf("last line %q; want the ERROR naming the address and --http", last)
	}
	for _, started := range []string{"Embedded Kafka broker", "Kafka bridge", "Starting evsim"} {
		if strings.Contains(res.stderr, started) {
			t.Errorf("%q was logged: something started before the port was checked", started)
		}
	}
}

// TestDBThatIsADirectoryIsAUsageError: --db naming a folder is exit 2 with
// one line that says so, and nothing starts.
func TestDBThatIsADirectoryIsAUsageError(t *testing.T) {
	res := runEvsim(t, "--db", t.TempDir())
	if res.exit != 2 {
		t.Fatalf("exit %d, want 2", res.exit)
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "--db") || !strings.Contains(lines[0], "is a directory") {
		t.Errorf("stderr %q; want one line saying --db is a directory", res.stderr)
	}
}

// TestDBIsOpenedBeforeTheBroker: a database that cannot be opened ends evsim
// with exit 1 before the broker or the bridge start.
func TestDBIsOpenedBeforeTheBroker(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res := runEvsim(t, "--db", filepath.Join(file, "central.db"))
	if res.exit != 1 {
		t.Fatalf("exit %d, want 1", res.exit)
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "| ERROR |") || !strings.Contains(last, "database") {
		t.Errorf("last line %q; want the ERROR about the database", last)
	}
	for _, started := range []string{"Embedded Kafka broker", "Kafka bridge", "Starting evsim"} {
		if strings.Contains(res.stderr, started) {
			t.Errorf("%q was logged: something started before the database was opened", started)
		}
	}
}

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// harness runs evnode processes and looks at them.
type harness struct {
	t   *testing.T
	bin string
	dir string

	// favoured nodes run ahead of the rest of the machine
	// (testutil.FavouredCommand): for tests that judge timing.
	favoured bool

	mu    sync.Mutex
	procs map[string]*proc
	order []string
}

// proc is one named node; each start is a new incarnation with its own log.
type proc struct {
	name string
	bin  string // "" = evnode
	args []string
	env  []string

	cmd     *testutil.Cmd
	logs    []string // one file per incarnation
	done    chan struct{}
	exit    error
	killed  bool // by SIGKILL on purpose
	stopped bool // by SIGTERM on purpose
}

// buildEvnode compiles evnode once for the test.
func buildEvnode(t *testing.T, dir string) string { return buildBinary(t, dir, "evnode") }

// buildBinary compiles cmd/NAME into dir.
func buildBinary(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	cmd := testutil.Command(t, "go", "build", "-o", bin, "github.com/evcharging/evsim/cmd/"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, bin: buildEvnode(t, dir), dir: dir, procs: map[string]*proc{}}
	t.Cleanup(func() {
		h.killAll()
		h.keepLogs(os.Getenv("EVSIM_E2E_LOGS"))
	})
	return h
}

// freeAddr gives each node a port no other node of this test binary got.
func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

// baseEnv is the environment of every node: nothing of ours leaks in from
// the test's own environment.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// add registers a node; start runs it.
func (h *harness) add(name string, env []string, args ...string) *proc {
	return h.addBinary(name, "", env, args...)
}

// addBinary registers a process of another binary than evnode (bin "" = evnode).
func (h *harness) addBinary(name, bin string, env []string, args ...string) *proc {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := &proc{name: name, bin: bin, args: args, env: append(baseEnv(), env...)}
	h.procs[name] = p
	h.order = append(h.order, name)
	return p
}

// start starts a new incarnation of the node.
func (h *harness) start(name string) {
	h.t.Helper()
	h.mu.Lock()
	p := h.procs[name]
	h.mu.Unlock()
	if p == nil {
		h.t.Fatalf("no node %s", name)
	}
	log := filepath.Join(h.dir, "logs", fmt.Sprintf("%s.%d.log", name, len(p.logs)+1))
	if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
		h.t.Fatal(err)
	}
	f, err := os.Create(log)
	if err != nil {
		h.t.Fatal(err)
	}
	bin := h.bin
	if p.bin != "" {
		bin = p.bin
	}
	command := testutil.Command
	if h.favoured {
		command = testutil.FavouredCommand
	}
	cmd := command(h.t, bin, p.args...)
	cmd.Env = p.env
	cmd.Dir = h.dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		h.t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	h.mu.Lock()
	p.cmd, p.done, p.exit, p.killed, p.stopped = cmd, done, nil, false, false
	p.logs = append(p.logs, log)
	h.mu.Unlock()
	go func() {
		err := cmd.Wait()
		f.Close()
		h.mu.Lock()
		p.exit = err
		h.mu.Unlock()
		close(done)
	}()
}

// kill sends SIGKILL to the node's process and waits until it is gone.
func (h *harness) kill(name string) {
	h.t.Helper()
	p := h.procs[name]
	h.mu.Lock()
	p.killed = true
	h.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	h.t.Logf("killed %s (kill -9)", name)
}

// signal sends sig to the node's process.
func (h *harness) signal(name string, sig syscall.Signal) {
	h.t.Helper()
	if err := h.procs[name].cmd.Process.Signal(sig); err != nil {
		h.t.Fatalf("signal %v to %s: %v", sig, name, err)
	}
}

// freeze stops process name with SIGSTOP and waits until every thread of
// it has stopped: kill(2) returns before they have, and a thread still
// running may answer one more message.
func (h *harness) freeze(name string) {
	h.t.Helper()
	h.signal(name, syscall.SIGSTOP)
	pid := h.procs[name].cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for {
		running, err := runningThreads(pid)
		if err == nil && running == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s (pid %d) not stopped 5 s after SIGSTOP: %d threads running (%v)", name, pid, running, err)
		}
		time.Sleep(10 * time.Millisecond) // polling the threads' state
	}
}

// runningThreads counts the threads of pid not in the stopped state (T).
func runningThreads(pid int) (int, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	running := 0
	for _, task := range tasks {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			continue // the thread ended
		}
		// The state follows the command's closing parenthesis.
		f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(f) == 0 || f[0] != "T" {
			running++
		}
	}
	return running, nil
}

// stop sends SIGTERM and returns the exit code (-1 when it had to be killed).
func (h *harness) stop(name string, within time.Duration) int {
	p := h.procs[name]
	h.mu.Lock()
	p.stopped = true
	h.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(within):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

func (h *harness) running(name string) bool {
	p := h.procs[name]
	if p == nil || p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// killAll ends every process still running (cleanup).
func (h *harness) killAll() {
	for _, name := range h.order {
		if h.running(name) {
			p := h.procs[name]
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
		}
	}
}

// keepLogs copies every log into dir (EVSIM_E2E_LOGS), for a look after the run.
func (h *harness) keepLogs(dir string) {
	if dir == "" {
		return
	}
	dir = filepath.Join(dir, h.t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Logf("keep logs: %v", err)
		return
	}
	for _, name := range h.order {
		for _, l := range h.procs[name].logs {
			if data, err := os.ReadFile(l); err == nil {
				_ = os.WriteFile(filepath.Join(dir, filepath.Base(l)), data, 0o644)
			}
		}
	}
	h.t.Logf("logs kept in %s", dir)
}

// checkAlive fails when a node that should run has exited.
func (h *harness) checkAlive() {
	h.t.Helper()
	for _, name := range h.order {
		p := h.procs[name]
		if p.done == nil || p.killed || p.stopped {
			continue
		}
		select {
		case <-p.done:
			h.fail("%s exited unexpectedly: %v", name, p.exit)
		default:
		}
	}
}

// log returns the text of the node's current incarnation (0) or of all (-1).
func (h *harness) log(name string, incarnation int) string {
	p := h.procs[name]
	h.mu.Lock()
	logs := append([]string(nil), p.logs...)
	h.mu.Unlock()
	if len(logs) == 0 {
		return ""
	}
	if incarnation == 0 {
		logs = logs[len(logs)-1:]
	}
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		b.Write(data)
	}
	return b.String()
}

// mark is a place in a node's current log; since reads what came after it.
type mark struct {
	name string
	file string
	off  int
}

func (h *harness) mark(name string) mark {
	p := h.procs[name]
	h.mu.Lock()
	file := p.logs[len(p.logs)-1]
	h.mu.Unlock()
	data, _ := os.ReadFile(file)
	return mark{name: name, file: file, off: len(data)}
}

func (h *harness) since(m mark) string {
	data, _ := os.ReadFile(m.file)
	if len(data) < m.off {
		return ""
	}
	return string(data[m.off:])
}

// fail prints the tail of every log and fails the test now.
func (h *harness) fail(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf(format, args...)
	h.dumpLogs(25)
	h.t.FailNow()
}

func (h *harness) dumpLogs(lines int) {
	for _, name := range h.order {
		p := h.procs[name]
		for _, l := range p.logs {
			data, _ := os.ReadFile(l)
			all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			if len(all) > lines {
				all = all[len(all)-lines:]
			}
			h.t.Logf("---- %s (last %d lines) ----\n%s", filepath.Base(l), len(all), strings.Join(all, "\n"))
		}
	}
}

// eventually polls cond every 100 ms until it holds or the deadline passes;
// cond returns a description of what it saw, for the failure message.
func (h *harness) eventually(within time.Duration, what string, cond func() (bool, string)) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	seen := ""
	for {
		ok, s := cond()
		if ok {
			return
		}
		seen = s
		if time.Now().After(deadline) {
			h.fail("after %v: %s; last seen: %s", within, what, seen)
		}
		h.checkAlive()
		time.Sleep(100 * time.Millisecond)
	}
}

// --- Central's JSON API ------------------------------------------------------

type apiSession struct {
	SessionID string     `json:"session_id"`
	DriverID  string     `json:"driver_id"`
	KWh       float64    `json:"kwh"`
	StartedAt *time.Time `json:"started_at"`
}

type apiChargePoint struct {
	ID      string      `json:"id"`
	State   string      `json:"state"`
	Reason  string      `json:"reason"`
	Session *apiSession `json:"session"`
}

type apiEvent struct {
	Seq      uint64 `json:"seq"`
	Kind     string `json:"kind"`
	CPID     string `json:"cp_id"`
	DriverID string `json:"driver_id"`
	Text     string `json:"text"`
}

func getJSON(url string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// chargePoints returns Central's view by id, or nil when Central does not answer.
func chargePoints(httpAddr string) map[string]apiChargePoint {
	var list []apiChargePoint
	if err := getJSON("http://"+httpAddr+"/api/chargepoints", &list); err != nil {
		return nil
	}
	out := map[string]apiChargePoint{}
	for _, cp := range list {
		out[cp.ID] = cp
	}
	return out
}

// events returns Central's events after since (nil when Central does not answer).
func events(httpAddr string, since uint64) []apiEvent {
	var list []apiEvent
	if err := getJSON(fmt.Sprintf("http://%s/api/events?since=%d&limit=1000", httpAddr, since), &list); err != nil {
		return nil
	}
	return list
}

func describe(cps map[string]apiChargePoint) string {
	if cps == nil {
		return "Central does not answer"
	}
	ids := make([]string, 0, len(cps))
	for id := range cps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		cp := cps[id]
		fmt.Fprintf(&b, "%s=%s", id, cp.State)
		if cp.Session != nil {
			fmt.Fprintf(&b, "(%s)", cp.Session.DriverID)
		}
		b.WriteString(" ")
	}
	return b.String()
}

// --- log checks --------------------------------------------------------------

// badLines returns the ERROR lines and stack-trace lines of a log.
func badLines(text string) []string {
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader([]byte(text)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "| ERROR |") || strings.Contains(line, "level=error") ||
			strings.HasPrefix(line, "goroutine ") || strings.HasPrefix(line, "panic:") ||
			strings.Contains(line, "ERROR") {
			bad = append(bad, line)
		}
	}
	return bad
}

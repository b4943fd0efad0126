package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// One node-level event is one line: a site node of 200 charge points whose
// Central goes away says "cannot reach Central" once and "reachable again"
// once (not once per monitor); killed, it is one WARN on Central naming the
// node and the count (not 200 DISCONNECTED lines). Each charge point still
// shows DISCONNECTED and ACTIVATED on the panel.
func TestSiteNodeEventsAreOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about 30 s")
	}
	const count = 200
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	dir := t.TempDir()
	centralAddr, panel, siteAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	centralArgs := []string{"central", "--brokers", broker, "--listen", centralAddr, "--http", panel,
		"--db", filepath.Join(dir, "central.db"), "--liveness-timeout", "3s"}
	// The site node first: it waits for Central, one line for all.
	site := startRoleProcess(t, "site", "--brokers", broker, "--central", centralAddr, "--listen", siteAddr,
		"--count", fmt.Sprint(count), "--id-pattern", "CP-%03d", "--key-file", filepath.Join(dir, "site.key"), "--journal-dir", "memory")
	untilWithin(t, 30*time.Second, "the site waits for Central", func() (bool, string) {
		n := len(site.lines("INFO", "Waiting for Central"))
		return n >= 1, fmt.Sprintf("%d lines", n)
	}, site)
	central := startRoleProcess(t, centralArgs...)
	allIn := func(state string) func() (bool, string) {
		return func() (bool, string) {
			var list []struct{ ID, State string }
			err := getJSONFrom("http://"+panel+"/api/chargepoints", &list)
			n := 0
			for _, cp := range list {
				if cp.State == state {
					n++
				}
			}
			return err == nil && n == count, fmt.Sprintf("%d of %d %s (%v)", n, len(list), state, err)
		}
	}
	untilWithin(t, 90*time.Second, "all charge points ACTIVATED", allIn("ACTIVATED"), central, site)
	if got := site.lines("INFO", "Waiting for Central"); len(got) != 1 || !strings.Contains(got[0], "the 200 charge points of this node") {
		t.Errorf("site: want one line saying the node waits for Central, got %d:\n%s", len(got), strings.Join(first(got, 5), "\n"))
	}

	// Central away and back: one WARN, then one INFO, on the site node.
	central.stop(t, syscall.SIGTERM)
	// Its new charge points: one line, written at the latest when it stops.
	if got := central.lines("INFO", "node "+siteAddr+": registered 200 new charge points (CP-001 … CP-200)"); len(got) != 1 {
		t.Errorf("central: want one line for the node's new charge points, got %d", len(got))
	}
	// The first looked alone (a lone monitor keeps its line at once); the rest only in the node's line.
	if got := central.lines("INFO", "Registered new CP"); len(got) > 1 {
		t.Errorf("central: %d lines of single new charge points, want the node's line and at most the first's", len(got))
	}
	untilWithin(t, 30*time.Second, "the site says it cannot reach Central", func() (bool, string) {
		n := len(site.lines("WARN", "Cannot reach Central"))
		return n >= 1, fmt.Sprintf("%d lines", n)
	}, site)
	central = startRoleProcess(t, centralArgs...)
	untilWithin(t, 60*time.Second, "all charge points ACTIVATED again", allIn("ACTIVATED"), central, site)
	untilWithin(t, 30*time.Second, "the site says Central is back", func() (bool, string) {
		n := len(site.lines("INFO", "reachable again"))
		return n >= 1, fmt.Sprintf("%d lines", n)
	}, site)
	t.Logf("site node of %d charge points, Central away and back: %d WARN 'Cannot reach Central', %d INFO 'reachable again':\n%s",
		count, len(site.lines("WARN", "Cannot reach Central")), len(site.lines("INFO", "reachable again")),
		strings.Join(append(first(site.lines("WARN", "Cannot reach Central"), 3), first(site.lines("INFO", "reachable again"), 3)...), "\n"))
	if got := site.lines("WARN", "Cannot reach Central"); len(got) != 1 || !strings.Contains(got[0], "200 charge points") {
		t.Errorf("site: want one WARN saying it cannot reach Central for its 200 charge points, got %d:\n%s", len(got), strings.Join(first(got, 5), "\n"))
	}
	if got := site.lines("INFO", "reachable again"); len(got) != 1 {
		t.Errorf("site: want one INFO saying Central is back, got %d:\n%s", len(got), strings.Join(first(got, 5), "\n"))
	}

	// Its monitors registered, at the start and again with the restarted
	// Central: node lines, no line per charge point.
	if per := len(site.lines("INFO", "Registered CP-")) + len(site.lines("INFO", "does not know this charge point")); per != 0 {
		t.Errorf("site: %d registration lines of single charge points, want node lines only", per)
	}
	nodeLines := func() []string {
		return append(site.lines("INFO", "Site node | Registered"), site.lines("INFO", "Site node | Central at "+centralAddr+" did not know")...)
	}
	untilWithin(t, 20*time.Second, "the site's lines: registered, unknown to the new Central, registered again", func() (bool, string) {
		return len(site.lines("INFO", "Site node | Registered")) >= 2 && len(site.lines("INFO", "did not know")) >= 1,
			strings.Join(nodeLines(), "\n")
	}, site)
	t.Logf("site node lines about registrations:\n%s", strings.Join(nodeLines(), "\n"))
	if got := nodeLines(); len(got) > 5 {
		t.Errorf("site: %d node lines about registrations, want 3 (start; unknown and registered again), at most 5:\n%s", len(got), strings.Join(got, "\n"))
	}

	untilWithin(t, 20*time.Second, "Central's line about the node connected again", func() (bool, string) {
		n := len(central.lines("INFO", "node "+siteAddr+": 200 charge points connected: their monitors registered"))
		return n == 1, fmt.Sprintf("%d lines", n)
	}, central)
	if got := central.lines("INFO", "connected: its monitor registered"); len(got) > 1 {
		t.Errorf("central: %d lines of single charge points connected, want the node's line and at most the first's", len(got))
	}

	// The site node killed: its charge points DISCONNECTED, one WARN on Central.
	site.stop(t, syscall.SIGKILL)
	untilWithin(t, 30*time.Second, "all charge points DISCONNECTED", allIn("DISCONNECTED"), central)
	untilWithin(t, 20*time.Second, "Central's line about the node", func() (bool, string) {
		n := len(central.lines("WARN", "DISCONNECTED"))
		return n >= 1, fmt.Sprintf("%d lines", n)
	}, central)
	t.Logf("site node killed: %d WARN DISCONNECTED lines on Central:\n%s", len(central.lines("WARN", "DISCONNECTED")),
		strings.Join(first(central.lines("WARN", "DISCONNECTED"), 3), "\n"))
	want := fmt.Sprintf("node %s: %d charge points DISCONNECTED (CP-001 … CP-200), their monitors silent for", siteAddr, count)
	if got := central.lines("WARN", "DISCONNECTED"); len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("central: want one WARN %q, got %d:\n%s", want, len(got), strings.Join(first(got, 5), "\n"))
	}
}

// roleProcess is `evnode ROLE` in a process of its own that a test stops
// (SIGTERM) or kills (SIGKILL) when it wants; it is stopped at the end.
type roleProcess struct {
	args []string
	cmd  *testutil.Cmd
	log  *syncBuffer
	done chan struct{}
}

func startRoleProcess(t *testing.T, args ...string) *roleProcess {
	t.Helper()
	r := &roleProcess{args: args, cmd: evnodeCommand(t, args...), log: &syncBuffer{}, done: make(chan struct{})}
	r.cmd.Stderr = r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() { r.stop(t, syscall.SIGTERM) })
	return r
}

// stop sends sig and waits for the process to end (killing it after 20 s).
func (r *roleProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
		t.Errorf("evnode %s did not stop after %v", r.args[0], sig)
	}
}

// lines are the process's log lines at level that contain text.
func (r *roleProcess) lines(level, text string) []string {
	var out []string
	for _, l := range strings.Split(r.log.String(), "\n") {
		if strings.Contains(l, " | "+level+" | ") && strings.Contains(l, text) {
			out = append(out, l)
		}
	}
	return out
}

// untilWithin polls cond until it holds or bound passes; then it fails with the
// processes' logs.
func untilWithin(t *testing.T, bound time.Duration, what string, cond func() (bool, string), logs ...*roleProcess) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, r := range logs {
				fmt.Fprintf(&b, "\n--- evnode %s (last lines):\n%s", r.args[0], strings.Join(last(strings.Split(r.log.String(), "\n"), 40), "\n"))
			}
			t.Fatalf("%s: not after %v (%s)%s", what, bound, seen, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

func last(s []string, n int) []string { return s[max(0, len(s)-n):] }

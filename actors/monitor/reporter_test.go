package monitor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
)

// The reporter speaks for the monitors of a node: one WARN when the first
// cannot reach Central, one INFO when the last reaches it again; a monitor
// that stops while waiting does not hold the INFO back, and a second
// outage is a second pair of lines.
func TestNodeReporterSaysOnceForAllMonitors(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	pid := sys.Root.Spawn(monitor.ReporterProps(monitor.ReporterConfig{ChargePoints: 3, Logger: logger}))
	r := monitor.NewNodeReporter(sys.Root, pid)
	warn := func() []string { return logs.Lines("WARN", "Site node", "Cannot reach Central") }
	back := func() []string { return logs.Lines("INFO", "Site node", "reachable again") }

	for _, id := range []string{"CP-1", "CP-2", "CP-3", "CP-2"} {
		r.Unreachable(id, " at 10.0.0.1:9300", 3*time.Second)
	}
	r.Gone("CP-3")
	r.Reachable("CP-1")
	r.Reachable("CP-1") // told twice: still one line at the end
	r.Reachable("CP-2")
	testkit.Eventually(t, wait, func() bool { return len(back()) == 1 }, func() string { return "no line saying Central is back:\n" + logs.String() })
	if got := warn(); len(got) != 1 || !strings.Contains(got[0], "Central at 10.0.0.1:9300") || !strings.Contains(got[0], "the 3 charge points of this node") {
		t.Errorf("want one WARN naming Central and the node's 3 charge points, got %q", got)
	}
	if got := back(); !strings.Contains(got[0], "the 3 charge points of this node that could not reach it") {
		t.Errorf("INFO %q does not count the charge points that waited", got[0])
	}

	r.Unreachable("CP-1", "", time.Second)
	r.Reachable("CP-1")
	testkit.Eventually(t, wait, func() bool { return len(back()) == 2 }, func() string { return "second outage not told:\n" + logs.String() })
	if got := warn(); len(got) != 2 || !strings.Contains(back()[1], "the 1 charge point of this node") {
		t.Errorf("second outage: WARN %q, INFO %q", got, back())
	}
}

// The registrations of a node's monitors, and Central's "unknown" after its
// restart, are one INFO line each once none came for Gather.
func TestNodeReporterGathersRegistrations(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	pid := sys.Root.Spawn(monitor.ReporterProps(monitor.ReporterConfig{ChargePoints: 4, Gather: 100 * time.Millisecond, Logger: logger}))
	r := monitor.NewNodeReporter(sys.Root, pid)
	for _, id := range []string{"CP-3", "CP-1", "CP-4", "CP-2"} {
		r.Unknown(id, " at 10.0.0.1:9300")
		r.Registered(id, " at 10.0.0.1:9300")
	}
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Site node", "Registered")) == 1 },
		func() string { return "no line for the registrations:\n" + logs.String() })
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Site node", "did not know")) == 1 },
		func() string { return "no line for Central's unknown:\n" + logs.String() })
	if got := logs.Lines("Registered"); len(got) != 1 || !strings.Contains(got[0], "Registered 4 charge points of this node with Central at 10.0.0.1:9300 (CP-1 … CP-4)") {
		t.Errorf("registrations: %q", got)
	}
	if got := logs.Lines("did not know"); !strings.Contains(got[0], "did not know 4 charge points of this node") {
		t.Errorf("unknown: %q", got)
	}
	r.Registered("CP-2", "")
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Site node", "Registered")) == 2 },
		func() string { return "a later registration not told:\n" + logs.String() })
	if got := logs.Lines("Registered")[1]; !strings.Contains(got, "Registered 1 charge point of this node with Central (CP-2)") {
		t.Errorf("one registration: %q", got)
	}
}

// Monitors that wait for a Central not up yet are one INFO line for the node.
func TestNodeReporterSaysWaitingOnce(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	pid := sys.Root.Spawn(monitor.ReporterProps(monitor.ReporterConfig{ChargePoints: 2, Logger: logger}))
	r := monitor.NewNodeReporter(sys.Root, pid)
	r.Waiting("CP-1", " at 10.0.0.1:9300")
	r.Waiting("CP-2", " at 10.0.0.1:9300")
	r.Unreachable("CP-1", " at 10.0.0.1:9300", time.Second) // a later message: the two before are handled
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("WARN", "Cannot reach Central")) == 1 },
		func() string { return "reporter did not handle its messages:\n" + logs.String() })
	if got := logs.Lines("INFO", "Site node", "Waiting for Central"); len(got) != 1 ||
		!strings.Contains(got[0], "Waiting for Central at 10.0.0.1:9300 to answer; the 2 charge points of this node") {
		t.Errorf("want one waiting line for the node, got %q", got)
	}
}

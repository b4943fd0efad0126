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

package central

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// A batch closes a window after its latest charge point, or after
// nodeLinesCap windows when charge points keep joining.
func TestNodeBatchClosesAfterTheCapWhenGrowing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &nodeLines{window: time.Second, open: map[nodeCause]*nodeBatch{}}
	key := nodeCause{node: "10.0.0.7:9300", cause: "DISCONNECTED"}
	for i := range 3 * nodeLinesCap {
		now := t0.Add(time.Duration(i) * 500 * time.Millisecond)
		l.add(key, "CP", time.Second, now, func() {})
		if got := l.due(now); len(got) > 0 {
			if i != 2*nodeLinesCap {
				t.Fatalf("batch closed after %d adds, want %d (nodeLinesCap windows)", i+1, 2*nodeLinesCap+1)
			}
			return
		}
	}
	t.Fatal("a growing batch never closed")
}

func TestNodeBatchClosesAWindowAfterTheLatest(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := &nodeLines{window: time.Second, open: map[nodeCause]*nodeBatch{}}
	key := nodeCause{node: "10.0.0.7:9300", cause: "DISCONNECTED"}
	l.add(key, "CP-1", time.Second, t0, func() {})
	l.add(key, "CP-2", 2*time.Second, t0.Add(800*time.Millisecond), func() {})
	if got := l.due(t0.Add(1500 * time.Millisecond)); len(got) != 0 {
		t.Errorf("closed %v 700ms after its latest, want open for a window", got)
	}
	if got := l.due(t0.Add(1800 * time.Millisecond)); len(got) != 1 || got[0] != key {
		t.Errorf("due a window after its latest: got %v", got)
	}
	if b := l.open[key]; len(b.ids) != 2 || b.longest != 2*time.Second {
		t.Errorf("batch %+v: want 2 ids, longest silence 2s", b)
	}
}

// A lone remote monitor and one in Central's process keep their own lines
// at once; the monitors of a node of three are the first's own line and
// one node line that counts all three.
func TestRegistrationLinesPerNode(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	c := &Central{cfg: Config{LivenessTimeout: 3 * time.Second, CheckInterval: 500 * time.Millisecond},
		log: logger.WithField("component", "Central"), cps: map[string]*cpEntry{}}
	t0 := time.Unix(1000, 0)
	infos := func() []string {
		var out []string
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.InfoLevel {
				out = append(out, e.Message)
			}
		}
		return out
	}
	c.logRegistration(actor.NewPID("10.0.0.9:9201", "monitor"), "CP-900", true, t0)
	c.logRegistration(actor.NewPID("nonhost", "evsim/cp-CP-800/monitor"), "CP-800", false, t0)
	for i, id := range []string{"CP-002", "CP-001", "CP-003"} {
		c.logRegistration(actor.NewPID("10.0.0.7:9300", "site/cp-"+id+"/monitor"), id, true, t0.Add(time.Duration(i)*100*time.Millisecond))
	}
	want := []string{"Registered new CP: CP-900", "CP-800 connected: its monitor registered", "Registered new CP: CP-002"}
	if got := infos(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("at once: %q, want %q", got, want)
	}
	c.flushNodeLines(t0.Add(time.Second))
	if got := infos(); len(got) != 3 {
		t.Fatalf("the node line came before its window closed: %q", got)
	}
	c.flushNodeLines(t0.Add(4 * time.Second))
	if got := infos(); len(got) != 4 || got[3] != "node 10.0.0.7:9300: registered 3 new charge points (CP-001, CP-002, CP-003)" {
		t.Fatalf("after the window: %q", got)
	}
}

// A charge point alone on its node keeps its own DISCONNECTED line at once;
// those of a node of two are one node line once the window closes.
func TestDisconnectedLinesPerNode(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	c := &Central{cfg: Config{LivenessTimeout: 3 * time.Second, CheckInterval: 500 * time.Millisecond},
		log: logger.WithField("component", "Central"), cps: map[string]*cpEntry{}}
	for id, addr := range map[string]string{"CP-1": "10.0.0.9:9201", "CP-2": "10.0.0.7:9300", "CP-3": "10.0.0.7:9300"} {
		c.cps[id] = &cpEntry{monitor: actor.NewPID(addr, "monitor-"+id)}
	}
	t0 := time.Unix(1000, 0)
	for _, id := range []string{"CP-1", "CP-2", "CP-3"} {
		c.logDisconnected(c.cps[id], id, 2600*time.Millisecond, t0)
	}
	c.flushNodeLines(t0.Add(3 * time.Second))
	var got []string
	for _, e := range hook.AllEntries() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	want := []string{"warning CP-1 DISCONNECTED: no sign of life from its monitor for 2.6s",
		"warning node 10.0.0.7:9300: 2 charge points DISCONNECTED (CP-2, CP-3), their monitors silent for 2.6s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

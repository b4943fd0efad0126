package central

import (
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/internal/words"
)

// Node lines: when a node that hosts many charge points (an `evnode site`)
// goes away, each of its charge points goes DISCONNECTED for the same cause
// within a moment. The operator reads one WARN line per node and cause
// ("node 10.0.0.7:9300: 20,000 charge points DISCONNECTED (CP-00001 …
// CP-20000), their monitors silent for 3s"); each charge point's own line
// goes to DEBUG. Events, states and the panel stay per charge point. A
// charge point alone on its node (evnode monitor), or in Central's own
// process (evsim), keeps its own WARN line, written at once. The node's
// monitors registering (new, or connected again) are one INFO line the same
// way.

// nodeCause is what a node line is about: one node, one cause.
type nodeCause struct {
	node  string // the monitors' address, as in /api/cluster
	cause string // e.g. "DISCONNECTED"
}

// nodeBatch is the charge points gathered for one node line.
type nodeBatch struct {
	first, last time.Time // when the first and the latest joined
	ids         []string
	longest     time.Duration // the longest silence among them
	// alone is the line of a charge point that stayed alone in its batch:
	// its own line, as it would have been written without batching.
	alone func()
}

// nodeLines gathers, per node and cause, the charge points whose state
// changed; Central owns it (no locking).
type nodeLines struct {
	// window is how long a batch stays open after its latest charge point:
	// the monitors of a dead node fall silent within one of their liveness
	// intervals, which is well under Central's LivenessTimeout.
	window time.Duration
	open   map[nodeCause]*nodeBatch
	// sizes counts the charge points registered from each node; made again
	// at most once per CheckInterval (sizedAt), when a node line may follow.
	sizes   map[string]int
	sizedAt time.Time
	// told is, per node and cause, the charge point whose own line was
	// written at once (it looked alone): one more within the window opens
	// the node's batch, which counts the first too.
	told map[nodeCause]toldLine
}

// toldLine is a charge point's line written at once, and when.
type toldLine struct {
	id string
	at time.Time
}

// nodeLinesCap bounds a batch that keeps growing (a node whose monitors die
// one by one): its line is written at the latest after this many windows.
const nodeLinesCap = 10

func (c *Central) nodeLines() *nodeLines {
	if c.lines == nil {
		c.lines = &nodeLines{window: c.cfg.LivenessTimeout, open: map[nodeCause]*nodeBatch{}, told: map[nodeCause]toldLine{}}
	}
	return c.lines
}

// logDisconnected writes, or keeps for its node's line, the line of a
// charge point whose monitor fell silent for silent.
func (c *Central) logDisconnected(cp *cpEntry, id string, silent time.Duration, now time.Time) {
	entry := c.log.WithField("cp_id", id)
	line := fmt.Sprintf("%s DISCONNECTED: no sign of life from its monitor for %v", id, silent)
	node := ""
	if cp.monitor != nil {
		node = nodeAddress(cp.monitor.GetAddress())
	}
	if node == "" || node == "local" || c.nodeSize(node, now) < 2 {
		entry.Warn(line)
		return
	}
	entry.Debug(line)
	c.nodeLines().add(nodeCause{node: node, cause: "DISCONNECTED"}, id, silent, now, func() { entry.Warn(line) })
}

// Causes of node lines besides DISCONNECTED: monitors that registered
// again (a site node back, or Central restarted), and new charge points.
const (
	causeConnected  = "connected"
	causeRegistered = "registered"
)

// logRegistration writes, or keeps for its node's line, the line of a
// charge point whose monitor registered: new, or connected again. Monitors
// in Central's process (evsim) keep their own line at once; so does the
// first from a node not known to host others (a lone evnode monitor), and
// the node line of those that follow within the window counts it too.
func (c *Central) logRegistration(monitor *actor.PID, id string, isNew bool, now time.Time) {
	entry := c.log.WithField("cp_id", id)
	line, cause := id+" connected: its monitor registered", causeConnected
	if isNew {
		line, cause = "Registered new CP: "+id, causeRegistered
	}
	node := nodeAddress(monitor.GetAddress())
	if node == "local" {
		entry.Info(line)
		return
	}
	l, key := c.nodeLines(), nodeCause{node: node, cause: cause}
	if l.open[key] == nil && c.nodeSize(node, now) < 2 {
		first, ok := l.told[key]
		if !ok || now.Sub(first.at) >= l.window {
			entry.Info(line)
			l.told[key] = toldLine{id: id, at: now}
			return
		}
		delete(l.told, key)
		l.add(key, first.id, 0, first.at, func() {}) // told already
	}
	entry.Debug(line)
	l.add(key, id, 0, now, func() { entry.Info(line) })
}

// nodeSize is how many charge points registered from node.
func (c *Central) nodeSize(node string, now time.Time) int {
	l := c.nodeLines()
	if l.sizes == nil || now.Sub(l.sizedAt) >= c.cfg.CheckInterval || now.Before(l.sizedAt) {
		l.sizes, l.sizedAt = map[string]int{}, now
		for _, cp := range c.cps {
			if cp.monitor != nil {
				l.sizes[nodeAddress(cp.monitor.GetAddress())]++
			}
		}
	}
	return l.sizes[node]
}

func (l *nodeLines) add(key nodeCause, id string, silent time.Duration, now time.Time, alone func()) {
	b := l.open[key]
	if b == nil {
		b = &nodeBatch{first: now}
		l.open[key] = b
	}
	b.last = now
	b.ids = append(b.ids, id)
	b.longest = max(b.longest, silent)
	b.alone = alone
}

// flushNodeLines writes the lines of the batches whose window closed.
func (c *Central) flushNodeLines(now time.Time) {
	if c.lines == nil || len(c.lines.open) == 0 {
		return
	}
	l := c.lines
	for _, k := range l.due(now) {
		b := l.open[k]
		delete(l.open, k)
		if len(b.ids) == 1 {
			b.alone()
			continue
		}
		entry := c.log.WithFields(logrus.Fields{"node": k.node, "count": len(b.ids)})
		n, span := words.Thousands(len(b.ids)), words.Span(b.ids)
		switch k.cause {
		case causeConnected:
			entry.Infof("node %s: %s charge points connected: their monitors registered (%s)", k.node, n, span)
		case causeRegistered:
			entry.Infof("node %s: registered %s new charge points (%s)", k.node, n, span)
		default:
			entry.Warnf("node %s: %s charge points %s (%s), their monitors silent for %v", k.node, n, k.cause, span, b.longest)
		}
	}
}

// tellNodeLinesNow writes the lines of every open batch, before Central
// stops or restarts and forgets them.
func (c *Central) tellNodeLinesNow() {
	if c.lines != nil {
		c.flushNodeLines(c.cfg.Now().Add(nodeLinesCap * c.lines.window))
	}
}

// due lists, in order, the batches whose window closed at now.
func (l *nodeLines) due(now time.Time) []nodeCause {
	var keys []nodeCause
	for k, b := range l.open {
		if now.Sub(b.last) >= l.window || now.Sub(b.first) >= nodeLinesCap*l.window {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].node < keys[j].node || keys[i].node == keys[j].node && keys[i].cause < keys[j].cause
	})
	return keys
}

package monitor

import "github.com/evcharging/evsim/internal/words"

// The site reporter's gathered lines: the monitors of a node register with
// Central together (at the start, and again when a restarted Central did not
// know them); one INFO line says it for all of them.

const (
	kindRegistered = "registered"
	kindUnknown    = "unknown"
)

// gathered is one monitor's news of a kind.
type gathered struct {
	kind, cpID, at string
}

// gatherTick asks the reporter to look whether the gathering is done.
type gatherTick struct{}

// gathering is the monitors gathered for one kind's line.
type gathering struct {
	ids []string
	at  string
}

func (r *reporter) gather(msg *gathered) {
	if len(r.gathered) == 0 {
		r.timers.After(r.cfg.Gather, &gatherTick{})
	}
	g := r.gathered[msg.kind]
	if g == nil {
		g = &gathering{at: msg.at}
		r.gathered[msg.kind] = g
	}
	g.ids = append(g.ids, msg.cpID)
	r.lastGathered = r.cfg.Now()
}

// tellGathered writes the lines once none came for Gather (Central's
// "unknown" before the registrations that follow it); else it looks again
// then.
func (r *reporter) tellGathered() {
	if len(r.gathered) == 0 {
		return
	}
	if wait := r.cfg.Gather - r.cfg.Now().Sub(r.lastGathered); wait > 0 {
		r.timers.After(wait, &gatherTick{})
		return
	}
	if g := r.gathered[kindUnknown]; g != nil {
		r.log.Infof("Central%s did not know %s of this node (it restarted, or ended their registrations): registering again (%s)",
			g.at, countOf(g.ids), words.Span(g.ids))
	}
	if g := r.gathered[kindRegistered]; g != nil {
		r.log.Infof("Registered %s of this node with Central%s (%s)", countOf(g.ids), g.at, words.Span(g.ids))
	}
	clear(r.gathered)
}

// countOf is "1 charge point", "20,000 charge points".
func countOf(ids []string) string {
	if len(ids) == 1 {
		return "1 charge point"
	}
	return words.Thousands(len(ids)) + " charge points"
}

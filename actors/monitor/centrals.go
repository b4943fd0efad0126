package monitor

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Several Centrals of one shared group: the monitor talks to one of them
// (any Central passes its messages on to the owner of its charge point),
// then to the owner itself once the owner's acceptance names it, and turns
// to the next of the list when the one it talks to stays silent, e.g.
// killed.

// turnIfSilent turns to the next Central when the one asked has not
// answered for CentralTimeout since the oldest request (or the last turn).
func (m *Monitor) turnIfSilent(now time.Time) {
	others := m.cfg.OtherCentrals
	if len(others) == 0 || m.asked.IsZero() {
		return
	}
	since := m.asked
	if m.turnedAt.After(since) {
		since = m.turnedAt
	}
	// Half the Central timeout: another Central is there to ask, and the
	// owner must hear the monitor again before its own liveness timeout.
	if m.silence(since, now) <= m.cfg.CentralTimeout/2 {
		return
	}
	all := len(others) + 1
	was := m.cfg.Central
	// Central is always the one in use; the list rotates through it.
	m.cfg.OtherCentrals = append(others[1:len(others):len(others)], was)
	m.cfg.Central = others[0]
	m.turnedAt = now
	m.turns++
	if m.turns < all {
		// The next Central has its own CentralTimeout before the monitor
		// says that Central cannot be reached: only when none answers.
		m.asked = now
	}
	line := m.log.Entry().Debugf
	if m.cfg.Reporter == nil && m.turns <= all {
		line = m.log.Entry().Infof
	}
	line("Central at %s does not answer; %s turns to the Central at %s", was.GetAddress(), m.cfg.CPID, m.cfg.Central.GetAddress())
}

// followOwner makes the Central that accepted the registration (the owner
// of the charge point in a shared group) the one the monitor talks to:
// otherwise the loss of the Central that passed its messages on would
// silence a charge point whose owner is alive, long enough for the owner to
// mark it DISCONNECTED.
func (m *Monitor) followOwner(addr string) {
	cur := m.cfg.Central
	if addr == "" || cur == nil || addr == cur.GetAddress() {
		return
	}
	others := slices.DeleteFunc(slices.Clone(m.cfg.OtherCentrals), func(p *actor.PID) bool { return p.GetAddress() == addr })
	m.cfg.OtherCentrals = append(others, cur)
	m.cfg.Central = actor.NewPID(addr, cur.GetId())
	m.log.Entry().Debugf("%s talks to the Central that owns it, at %s", m.cfg.CPID, addr)
}

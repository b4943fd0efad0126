package monitor

import "time"

// Several Centrals of one shared group: the monitor talks to one of them
// (any Central passes its messages on to the owner of its charge point) and
// turns to the next of the list when that one stays silent, e.g. killed.

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
	if m.silence(since, now) <= m.cfg.CentralTimeout {
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

package monitor

import "github.com/evcharging/evsim/messages"

// Keys: Central hands the monitor its charge point's key (or its
// revocation) in the registration reply and, when the monitor's liveness
// names another key id, in a liveness ack; the monitor passes it on to its
// engine in the next health check whose answer named another key id. The
// key only travels on these authenticated actor channels, never logged.

// takeKey keeps the key (or revocation) Central sent, if it is news.
func (m *Monitor) takeKey(k *messages.ChargePointKey) {
	if k == nil || k.GetCpId() != m.cfg.CPID {
		return
	}
	was := m.key
	switch {
	case k.GetRevoked():
		if was == nil || !was.GetRevoked() {
			m.log.Entry().Warnf("Central revoked the keys of %s; its engine sends nothing until Central issues a new key", m.cfg.CPID)
		}
	case was == nil:
		m.log.Entry().WithField("key_id", k.GetKeyId()).Debugf("Central issued %s its key", m.cfg.CPID)
	case was.GetRevoked() || was.GetKeyId() != k.GetKeyId():
		m.log.Entry().WithField("key_id", k.GetKeyId()).Infof("Central issued %s a new key", m.cfg.CPID)
	default:
		return
	}
	m.key = k
}

// keyID is the id of the key the monitor holds, "" if none (or revoked).
func (m *Monitor) keyID() string {
	if m.key == nil || m.key.GetRevoked() {
		return ""
	}
	return m.key.GetKeyId()
}

// keyForEngine is what the next health check carries: the key (or the
// revocation) when the engine's last answer named another key id.
func (m *Monitor) keyForEngine() *messages.ChargePointKey {
	if m.key == nil {
		return nil
	}
	if a := m.answer; a != nil && a.GetKeyId() == m.keyID() {
		return nil
	}
	return m.key
}

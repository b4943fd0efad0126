package monitor

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/messages"
)

// Keys: Central hands the monitor its charge point's key (or its
// revocation) in the registration reply and, when the monitor's liveness
// names another key id, in a liveness ack; the monitor passes it on to its
// engine in the next health check whose answer named another key id. The
// key only travels on these authenticated actor channels, never logged.

// takeKey keeps the key (or revocation) Central sent, if it is news, and
// hands it to the engine at once rather than at the next health check.
func (m *Monitor) takeKey(ctx actor.Context, k *messages.ChargePointKey) {
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
	m.check(ctx) // no-op while a check is out: its answer brings the next one
}

// keyHeld tells Central at once when the engine's answer names another key
// than its previous answer did: Central seals with a new key only once the
// engine holds it, and waits for this liveness to know.
func (m *Monitor) keyHeld(ctx actor.Context, prev, a *messages.HealthAnswer) {
	if a.GetKeyId() != "" && a.GetKeyId() != prev.GetKeyId() && m.registered {
		m.answer = a
		m.sendLiveness(ctx)
	}
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

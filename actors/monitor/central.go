package monitor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/messages"
)

// Central: registration with the secret, a sign of life every interval,
// and Central's silence, judged from the oldest request it left unanswered.

func (m *Monitor) register(ctx actor.Context) {
	m.lastReg = m.cfg.Now()
	if m.cfg.Token != nil && !m.tokenUsable() {
		m.fetchToken(ctx) // registers when the token arrives
		return
	}
	m.askRegistration(ctx, "")
}

// askRegistration sends Central the registration; noToken says why it
// carries no token where one is expected.
func (m *Monitor) askRegistration(ctx actor.Context, noToken string) {
	m.sentWithoutToken = noToken != ""
	m.ask(ctx, &messages.RegisterChargePoint{
		CpId: m.cfg.CPID, Location: m.cfg.Location, PriceEurPerKwh: m.cfg.PriceEURPerKWh, Kw: m.cfg.KW,
		Secret: m.cfg.Secret, MonitorAddress: m.cfg.Address, Token: m.token, NoTokenReason: noToken,
	})
}

// ask sends Central a request; its silence is counted from the oldest one
// still unanswered.
func (m *Monitor) ask(ctx actor.Context, msg any) {
	if m.asked.IsZero() {
		m.asked = m.cfg.Now()
	}
	ctx.Request(m.cfg.Central, msg)
}

func (m *Monitor) liveness(ctx actor.Context) {
	now := m.cfg.Now()
	m.turnIfSilent(now)
	m.judgeCentral(now)
	if !m.registered {
		retry := m.cfg.LivenessInterval
		if m.rejected != "" {
			retry = 5 * m.cfg.LivenessInterval
		}
		if now.Sub(m.lastReg) >= retry {
			m.register(ctx)
		}
		return
	}
	m.renewToken(ctx, now)
	m.sendLiveness(ctx)
}

func (m *Monitor) sendLiveness(ctx actor.Context) {
	m.liveSeq++
	l := &messages.Liveness{CpId: m.cfg.CPID, Seq: m.liveSeq, EngineOk: m.engineOK, EngineWaiting: m.waiting, RegistrationId: m.registrationID, KeyId: m.answer.GetKeyId()}
	if a := m.answer; a != nil {
		l.EngineState, l.SessionId, l.DriverId = a.GetEngineState(), a.GetSessionId(), a.GetDriverId()
	}
	m.ask(ctx, l)
}

// judgeCentral says once that Central does not answer: at INFO while it
// never answered yet (it may not be up yet) for up to notUpYet, at WARN
// otherwise.
func (m *Monitor) judgeCentral(now time.Time) {
	if m.unreachable || m.asked.IsZero() || m.silence(m.asked, now) <= m.cfg.CentralTimeout {
		return
	}
	if !m.heard && now.Sub(m.started) < m.notUpYet() {
		if !m.toldWaiting {
			m.toldWaiting = true
			if r := m.cfg.Reporter; r != nil {
				r.Waiting(m.cfg.CPID, m.centralAt()) // one line for the node
				return
			}
			m.log.Entry().Infof("Waiting for Central%s to answer; %s accepts nothing new until it is registered", m.centralAt(), m.cfg.CPID)
		}
		return
	}
	m.unreachable = true
	if r := m.cfg.Reporter; r != nil {
		r.Unreachable(m.cfg.CPID, m.centralAt(), m.silence(m.asked, now).Round(time.Millisecond))
		return
	}
	m.log.Entry().Warnf("Cannot reach Central%s, retrying (no answer for %v); %s accepts nothing new until it is back",
		m.centralAt(), m.silence(m.asked, now).Round(time.Millisecond), m.cfg.CPID)
}

func (m *Monitor) registrationResult(ctx actor.Context, r *messages.RegistrationResult) {
	m.heardFromCentral()
	switch {
	case r.GetWaiting():
		m.registered = false
		m.centralIsWaiting(r.GetReason())
		return
	case !r.GetAccepted():
		m.registered = false
		m.token = "" // refused: the next attempt gets a new token (or hears why not)
		if m.rejected != r.GetReason() {
			m.rejected = r.GetReason()
			if m.sentWithoutToken {
				return // the monitor said why already (tokenFailed)
			}
			m.log.Entry().Warnf("Central%s rejected the registration of %s: %s; asking again every %v",
				m.centralAt(), m.cfg.CPID, r.GetReason(), 5*m.cfg.LivenessInterval)
		}
		return
	}
	if m.rejected != "" {
		m.log.Entry().Infof("Central accepted %s after rejecting it (%s)", m.cfg.CPID, m.rejected)
	}
	m.rejected, m.centralWaiting = "", ""
	m.registrationID = r.GetRegistrationId()
	m.followOwner(r.GetCentralAddress())
	m.takeKey(ctx, r.GetKey())
	if !m.registered {
		m.registered = true
		if r := m.cfg.Reporter; r != nil {
			r.Registered(m.cfg.CPID, m.centralAt()) // one line for the node
		} else {
			m.log.Entry().Infof("Registered %s with Central", m.cfg.CPID)
		}
		// Central hears the engine's health at once, not a second later.
		m.sendLiveness(ctx)
	}
	if !m.engineOK {
		m.report(ctx, true)
	}
}

func (m *Monitor) livenessAck(ctx actor.Context, a *messages.LivenessAck) {
	m.heardFromCentral()
	m.takeKey(ctx, a.GetKey())
	switch {
	case a.GetWaiting():
		m.registered = false
		m.centralIsWaiting("")
	case a.GetKnown():
		m.followOwner(a.GetCentralAddress())
	case !a.GetKnown() && m.registered:
		m.registered = false
		if r := m.cfg.Reporter; r != nil {
			r.Unknown(m.cfg.CPID, m.centralAt()) // one line for the node
		} else {
			m.log.Entry().Info("Central does not know this charge point (it restarted, or ended its registration); registering again")
		}
		m.register(ctx)
	}
}

// centralIsWaiting notes, once, a Central that is up but not ready yet.
func (m *Monitor) centralIsWaiting(reason string) {
	if reason == "" {
		reason = "Central is not ready yet"
	}
	if m.centralWaiting == reason {
		return
	}
	m.centralWaiting = reason
	if r := m.cfg.Reporter; r != nil {
		r.CentralWaits(m.cfg.CPID, m.centralAt(), reason) // one line for the node
		return
	}
	m.log.Entry().Infof("%s%s; %s registers as soon as it is ready", reason, m.centralAt(), m.cfg.CPID)
}

func (m *Monitor) heardFromCentral() {
	m.asked = time.Time{}
	m.turns = 0
	m.heard = true
	if m.unreachable {
		m.unreachable = false
		if r := m.cfg.Reporter; r != nil {
			r.Reachable(m.cfg.CPID)
			return
		}
		m.log.Entry().Infof("Central%s is reachable again", m.centralAt())
	}
}

// notUpYet is how long after the start a Central that never answered is
// taken as not started yet (an INFO line), not as unreachable: the start
// grace, and at least 10 Central timeouts (30 s by default), so that nodes
// started in any order need no WARN.
func (m *Monitor) notUpYet() time.Duration { return max(m.cfg.StartGrace, 10*m.cfg.CentralTimeout) }

// centralAt is " at HOST:PORT" when Central lives in another process.
func (m *Monitor) centralAt() string {
	if a := m.cfg.Central.GetAddress(); a != m.selfAddr {
		return " at " + a
	}
	return ""
}

package monitor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// The engine's health: a check every interval, a fault at the first answer
// that is KO or missing, the recovery, and the engine that answers but is
// not ready yet (waiting), which is not a fault.

// minRest is the shortest extra wait for an answer after a stall.
const minRest = 10 * time.Millisecond

// finalTimeout is a health check's timeout that waited its turn behind what
// was in the mailbox when it first came (checkTimedOut).
type finalTimeout struct{ seq uint64 }

// notAnsweringYet is what an engine that never answered is, within the start grace.
const notAnsweringYet = "not answering yet (it may still be starting)"

func (m *Monitor) check(ctx actor.Context) {
	if m.pending != 0 {
		return // its timeout decides
	}
	m.seq++
	m.pending = m.seq
	m.sentAt = m.cfg.Now()
	ctx.Request(m.cfg.Engine, &messages.HealthCheck{CpId: m.cfg.CPID, Seq: m.seq, Key: m.keyForEngine()})
	m.dropTimeout = m.timers.After(m.cfg.HealthTimeout, &healthTimeout{seq: m.seq})
}

// checkTimedOut judges a check whose answer did not come within the
// timeout. The timeout counts only the time this process ran: when it was
// itself stalled meanwhile (stopped, starved of CPU), the engine had less
// than the timeout to answer, and the monitor waits the rest before it
// calls the silence a fault.
//
// The timeout is judged after all that is in the mailbox: a monitor that
// itself waited to run (its actors' worker pool busy at scale) finds its
// engine's answer queued behind the timeout, though the engine answered as
// soon as it was asked. So the first verdict of silence goes back to the end
// of the mailbox once (a finalTimeout), and only that one is a fault.
func (m *Monitor) checkTimedOut(ctx actor.Context, seq uint64, final bool) {
	if m.pending != seq {
		return
	}
	now := m.cfg.Now()
	if ran := m.silence(m.sentAt, now); ran < m.cfg.HealthTimeout {
		rest := max(m.cfg.HealthTimeout-ran, minRest)
		m.log.Entry().Debugf("Health check %d unanswered after %v, but this process was stalled for %v of it; waiting %v more",
			seq, now.Sub(m.sentAt).Round(time.Millisecond), (now.Sub(m.sentAt) - ran).Round(time.Millisecond), rest.Round(time.Millisecond))
		m.dropTimeout = m.timers.After(rest, &healthTimeout{seq: seq})
		return
	}
	if !final {
		ctx.Send(ctx.Self(), &finalTimeout{seq: seq})
		return
	}
	m.pending = 0
	m.answer = nil
	if !m.answered && now.Sub(m.started) < m.cfg.StartGrace {
		m.setWaiting(ctx, notAnsweringYet) // still starting: the grace period decides
		return
	}
	m.fault(ctx, "engine not answering health checks")
}

func (m *Monitor) engineAnswered(ctx actor.Context, a *messages.HealthAnswer) {
	if a.GetSeq() != m.pending {
		return // late: its timeout already counted
	}
	m.pending = 0
	if m.dropTimeout != nil {
		m.dropTimeout() // answered in time: the timeout need not reach the mailbox
		m.dropTimeout = nil
	}
	m.keyHeld(ctx, m.answer, a)
	m.answer = a
	m.answered = true
	switch {
	case a.GetStatus() == messages.HealthStatus_HEALTH_STATUS_WAITING:
		// Alive, not ready: not a fault (and no longer one).
		m.recovered(ctx)
		detail := a.GetDetail()
		if detail == "" {
			detail = "not ready yet"
		}
		m.setWaiting(ctx, detail)
	case a.GetOk():
		m.setWaiting(ctx, "")
		m.recovered(ctx)
	default:
		m.setWaiting(ctx, "")
		m.fault(ctx, "engine reports KO")
	}
}

// setWaiting notes what the engine waits for ("" once it is ready): one
// INFO line for each change, and Central hears it at once.
func (m *Monitor) setWaiting(ctx actor.Context, detail string) {
	if detail == m.waiting {
		return
	}
	was := m.waiting
	m.waiting = detail
	switch {
	case detail != "":
		m.log.Entry().Infof("%s is not available yet: its engine is %s", m.cfg.CPID, detail)
	case was != "":
		m.log.Entry().Infof("%s engine is ready", m.cfg.CPID)
	}
	if m.registered {
		m.sendLiveness(ctx)
	}
}

func (m *Monitor) fault(ctx actor.Context, detail string) {
	if !m.engineOK {
		// Still the same fault: one WARN line per fault, but Central hears
		// the newer cause (e.g. a crashed engine that stays silent).
		if detail != m.faultDetail {
			m.faultDetail = detail
			m.log.Entry().Debugf("%s still FAULT, now: %s", m.cfg.CPID, detail)
			m.report(ctx, true)
		}
		return
	}
	m.engineOK = false
	m.faultDetail = detail
	m.log.Entry().Warnf("%s FAULT: %s", m.cfg.CPID, detail)
	m.report(ctx, true)
}

func (m *Monitor) recovered(ctx actor.Context) {
	if m.engineOK {
		return
	}
	m.engineOK = true
	m.faultDetail = ""
	m.log.Entry().Infof("%s recovered: engine answers health checks again", m.cfg.CPID)
	m.report(ctx, false)
}

func (m *Monitor) report(ctx actor.Context, faulty bool) {
	// A request (not a plain send) so that Central sees who reports: it only
	// believes the monitor that registered with the secret.
	ctx.Request(m.cfg.Central, &messages.FaultReport{
		CpId: m.cfg.CPID, Faulty: faulty, Detail: m.faultDetail, At: timestamppb.New(m.cfg.Now()), RegistrationId: m.registrationID})
}

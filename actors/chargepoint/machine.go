package chargepoint

import (
	"errors"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// Why an engine refuses to start a supply.
var (
	ErrKnockedOut = errors.New("the engine is KO")
	ErrStopped    = errors.New("the charge point is stopped by Central")
	ErrBusy       = errors.New("the engine is supplying another vehicle")
	ErrDuplicate  = errors.New("this supply was already started here")
	ErrInvalid    = errors.New("the command has no session id")

	errShuttingDown = errors.New("the charge point is shutting down")
)

// doneKept is how many ended session ids the journal remembers.
const doneKept = 64

// Machine is the engine's state machine without any actor or transport: it
// decides, the engine actor publishes. Its whole state is a Record, so it can
// be journalled and rebuilt after a crash.
type Machine struct {
	cpID     string
	kw       float64
	price    float64
	duration time.Duration
	rec      Record
	// timeScale is copied into each new supply (see SessionRecord.TimeScale).
	timeScale float64
}

// SetTimeScale makes each real second of a new supply worth f simulated
// seconds of charging (f > 0; 1 is real time).
func (m *Machine) SetTimeScale(f float64) { m.timeScale = f }

// NewMachine returns a machine for one charge point that resumes from rec.
// duration is how long a vehicle stays plugged in when a command sets no limit.
func NewMachine(cpID string, kw, price float64, duration time.Duration, rec Record) *Machine {
	return &Machine{cpID: cpID, kw: kw, price: price, duration: duration, rec: rec}
}

// Record returns the state to journal.
func (m *Machine) Record() Record {
	r := m.rec
	if r.Session != nil {
		s := *r.Session
		r.Session = &s
	}
	if r.Pending != nil {
		p := *r.Pending
		r.Pending = &p
	}
	r.Done = slices.Clone(r.Done)
	return r
}

// State is the engine's own view of its state.
func (m *Machine) State() messages.ChargePointState {
	switch {
	case m.rec.KO:
		return messages.ChargePointState_CHARGE_POINT_STATE_FAULT
	case m.rec.Session != nil:
		return messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING
	case m.rec.Stopped:
		return messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
	}
	return messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
}

// KO reports whether the engine is knocked out.
func (m *Machine) KO() bool { return m.rec.KO }

// Session returns the running supply, or nil.
func (m *Machine) Session() *SessionRecord { return m.rec.Session }

// Start begins a supply, or says why not.
func (m *Machine) Start(cmd *messages.StartSupply, now time.Time) (*messages.SupplyStarted, error) {
	id := cmd.GetSessionId()
	switch {
	case id == "":
		return nil, ErrInvalid
	case m.rec.Session != nil && m.rec.Session.SessionID == id, slices.Contains(m.rec.Done, id),
		m.rec.Pending != nil && m.rec.Pending.Session.SessionID == id:
		return nil, ErrDuplicate
	case m.rec.KO:
		return nil, ErrKnockedOut
	case m.rec.Stopped:
		return nil, ErrStopped
	case m.rec.Session != nil:
		return nil, ErrBusy
	}
	s := &SessionRecord{
		SessionID: id, RequestID: cmd.GetRequestId(), DriverID: cmd.GetDriverId(),
		KW: m.kw, Price: m.price, StartedAt: now, LastAt: now, TargetKWh: cmd.GetTargetKwh(), TimeScale: m.timeScale,
	}
	switch {
	case cmd.GetMaxSeconds() > 0:
		s.Until = now.Add(time.Duration(cmd.GetMaxSeconds() * float64(time.Second)))
	case cmd.GetTargetKwh() <= 0:
		s.Until = now.Add(m.duration)
	}
	m.rec.Session = s
	return &messages.SupplyStarted{
		SessionId: id, RequestId: s.RequestID, DriverId: s.DriverID, CpId: m.cpID,
		Kw: s.KW, PriceEurPerKwh: s.Price, StartedAt: timestamppb.New(now),
	}, nil
}

// Advance brings the running supply up to now and returns a telemetry
// reading, or nil when idle.
func (m *Machine) Advance(now time.Time) *messages.Telemetry {
	s := m.rec.Session
	if s == nil {
		return nil
	}
	at := now
	if !s.Until.IsZero() && at.After(s.Until) {
		at = s.Until
	}
	if at.After(s.LastAt) {
		s.KWh += s.rate() * at.Sub(s.LastAt).Hours()
		s.LastAt = at
	}
	if s.TargetKWh > 0 && s.KWh > s.TargetKWh {
		s.KWh = s.TargetKWh
	}
	s.Seq++
	return &messages.Telemetry{
		SessionId: s.SessionID, DriverId: s.DriverID, CpId: m.cpID, Kw: s.KW,
		Kwh: s.KWh, Eur: s.KWh * s.Price, At: timestamppb.New(now), Seq: s.Seq,
	}
}

// Finished reports whether the running supply reached its energy or duration.
func (m *Machine) Finished(now time.Time) bool {
	s := m.rec.Session
	if s == nil {
		return false
	}
	return (s.TargetKWh > 0 && s.KWh >= s.TargetKWh) || (!s.Until.IsZero() && !now.Before(s.Until))
}

// End finishes the running supply for reason (bringing it up to now first)
// and returns its end, which stays pending until Published. Nil when idle.
func (m *Machine) End(now time.Time, reason messages.EndReason) *messages.SupplyEnded {
	if m.rec.Session == nil {
		return nil
	}
	m.Advance(now)
	return m.closeSession(now, reason)
}

func (m *Machine) closeSession(endedAt time.Time, reason messages.EndReason) *messages.SupplyEnded {
	s := *m.rec.Session
	m.rec.Session = nil
	m.rec.Pending = &EndRecord{Session: s, EndedAt: endedAt, Reason: int32(reason)}
	m.remember(s.SessionID)
	return m.pendingEnd()
}

func (m *Machine) pendingEnd() *messages.SupplyEnded {
	p := m.rec.Pending
	if p == nil {
		return nil
	}
	return &messages.SupplyEnded{
		SessionId: p.Session.SessionID, RequestId: p.Session.RequestID, DriverId: p.Session.DriverID,
		CpId: m.cpID, Kwh: p.Session.KWh, Eur: p.Session.KWh * p.Session.Price, PriceEurPerKwh: p.Session.Price,
		StartedAt: timestamppb.New(p.Session.StartedAt), EndedAt: timestamppb.New(p.EndedAt),
		Reason: messages.EndReason(p.Reason),
	}
}

// Close remembers that Central closed session sid, which this engine does
// not run, so that a start of it never runs here. It reports whether the
// record changed.
func (m *Machine) Close(sid string) bool {
	if sid == "" || slices.Contains(m.rec.Done, sid) || (m.rec.Pending != nil && m.rec.Pending.Session.SessionID == sid) {
		return false
	}
	m.remember(sid)
	return true
}

// remember adds sid to the sessions that never start here again.
func (m *Machine) remember(sid string) {
	m.rec.Done = append(m.rec.Done, sid)
	if len(m.rec.Done) > doneKept {
		m.rec.Done = slices.Clone(m.rec.Done[len(m.rec.Done)-doneKept:])
	}
}

// EndPending returns the session whose end is not yet published, or "".
func (m *Machine) EndPending() string {
	if m.rec.Pending == nil {
		return ""
	}
	return m.rec.Pending.Session.SessionID
}

// Published forgets the pending end once the bridge has it.
func (m *Machine) Published() { m.rec.Pending = nil }

// Recover is called when an engine (re)starts from its journal: it returns
// the end still to publish — a pending one again, or the supply the crash
// interrupted, ended as of its last reading with reason ENGINE_RESTART.
func (m *Machine) Recover() *messages.SupplyEnded {
	if m.rec.Pending != nil {
		return m.pendingEnd()
	}
	if m.rec.Session != nil {
		return m.closeSession(m.rec.Session.LastAt, messages.EndReason_END_REASON_ENGINE_RESTART)
	}
	return nil
}

// SetStopped carries out Central's stop (true) or resume (false) order.
func (m *Machine) SetStopped(stopped bool) { m.rec.Stopped = stopped }

// SetKO knocks the engine out (true) or repairs it (false).
func (m *Machine) SetKO(ko bool) { m.rec.KO = ko }

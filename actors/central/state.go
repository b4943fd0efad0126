package central

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// Facts is what Central knows of one charge point: the input of Derive.
type Facts struct {
	// Alive: the monitor registered with this Central and is heard from.
	Alive bool
	// EngineOK: the monitor reports the engine working (or not ready yet).
	EngineOK bool
	// Stopped by the operator's order; Supplying a vehicle.
	Stopped, Supplying bool
	// Fault is the monitor's reason for a fault.
	Fault string
	// Waiting is what an engine that answers but is not ready waits for.
	Waiting string
	// Rejected is why Central refused the last registration of a monitor
	// that is not alive (e.g. a wrong secret).
	Rejected string
	// Revoked and Unregistered say why the Registry refuses the charge
	// point (its tokens revoked; not registered or deregistered).
	Revoked, Unregistered string
	// Weather is why a weather alert holds it out of service, e.g.
	// "weather alert: Alicante −2 °C" ("" = none).
	Weather string
	// KeyRevoked says why its keys are revoked (by the operator);
	// EncryptionError why its last record did not open.
	KeyRevoked, EncryptionError string
}

// Derive is the rules' table: the state Central shows from what it knows of
// the monitor (alive, or rejected), the engine (ok, or waiting), the
// operator's order (stopped) and the session (supplying). The reason says
// why, for the panel. Waiting is not a fault: the charge point is shown as
// not available yet, with what it waits for.
func Derive(f Facts) (messages.ChargePointState, string) {
	switch {
	case !f.Alive && f.Revoked != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, f.Revoked
	case !f.Alive && f.Unregistered != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED, f.Unregistered
	case f.KeyRevoked != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_REVOKED, f.KeyRevoked
	case !f.Alive && f.Rejected != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_REJECTED, "registration rejected: " + f.Rejected
	case !f.Alive:
		return messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED, "no sign of life from its monitor"
	case f.EncryptionError != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_ENCRYPTION_ERROR, f.EncryptionError
	case !f.EngineOK:
		fault := f.Fault
		if fault == "" {
			fault = "engine broken"
		}
		return messages.ChargePointState_CHARGE_POINT_STATE_FAULT, fault
	case f.Waiting != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_WAITING, "not available yet: engine " + f.Waiting
	case f.Weather != "" && f.Stopped:
		return messages.ChargePointState_CHARGE_POINT_STATE_STOPPED, f.Weather + "; and out of order by Central's order"
	case f.Weather != "":
		return messages.ChargePointState_CHARGE_POINT_STATE_STOPPED, f.Weather
	case f.Stopped:
		return messages.ChargePointState_CHARGE_POINT_STATE_STOPPED, "out of order by Central's order"
	case f.Supplying:
		return messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING, "supplying a vehicle"
	}
	return messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED, "ready"
}

// StateName is a state as the panel prints it (e.g. "ACTIVATED").
func StateName(s messages.ChargePointState) string {
	switch s {
	case messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED:
		return "ACTIVATED"
	case messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING:
		return "SUPPLYING"
	case messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:
		return "STOPPED"
	case messages.ChargePointState_CHARGE_POINT_STATE_FAULT:
		return "FAULT"
	case messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED:
		return "DISCONNECTED"
	case messages.ChargePointState_CHARGE_POINT_STATE_WAITING:
		return "WAITING"
	case messages.ChargePointState_CHARGE_POINT_STATE_REJECTED:
		return "REJECTED"
	case messages.ChargePointState_CHARGE_POINT_STATE_REVOKED:
		return "REVOKED"
	case messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED:
		return "UNREGISTERED"
	case messages.ChargePointState_CHARGE_POINT_STATE_ENCRYPTION_ERROR:
		return "ENCRYPTION_ERROR"
	}
	return "UNKNOWN"
}

// DenyText is a denial reason in words.
func DenyText(r messages.DenyReason) string {
	switch r {
	case messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT:
		return "unknown charge point"
	case messages.DenyReason_DENY_REASON_BUSY:
		return "busy"
	case messages.DenyReason_DENY_REASON_STOPPED:
		return "stopped"
	case messages.DenyReason_DENY_REASON_FAULT:
		return "faulty"
	case messages.DenyReason_DENY_REASON_DISCONNECTED:
		return "disconnected"
	case messages.DenyReason_DENY_REASON_ENGINE_REFUSED:
		return "engine refused"
	case messages.DenyReason_DENY_REASON_INVALID_REQUEST:
		return "invalid request"
	case messages.DenyReason_DENY_REASON_DRIVER_BUSY:
		return "driver already busy"
	case messages.DenyReason_DENY_REASON_NOT_AVAILABLE:
		return "not available yet"
	}
	return "unspecified"
}

// denyFor says why a request for a charge point in state s is denied, or
// UNSPECIFIED when it may go ahead.
func denyFor(s messages.ChargePointState, id string, fault string) (messages.DenyReason, string) {
	switch s {
	case messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED:
		return messages.DenyReason_DENY_REASON_DISCONNECTED, fmt.Sprintf("%s is disconnected (no sign of life from its monitor)", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_REJECTED:
		return messages.DenyReason_DENY_REASON_DISCONNECTED, fmt.Sprintf("%s is not connected (Central rejected its monitor's registration)", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_REVOKED:
		return messages.DenyReason_DENY_REASON_DISCONNECTED, fmt.Sprintf("%s is out of service (revoked in the Registry)", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_UNREGISTERED:
		return messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT, fmt.Sprintf("%s is not registered in the Registry", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_WAITING:
		return messages.DenyReason_DENY_REASON_NOT_AVAILABLE, fmt.Sprintf("%s is not available yet (it is still starting)", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_ENCRYPTION_ERROR:
		return messages.DenyReason_DENY_REASON_DISCONNECTED, fmt.Sprintf("%s is out of service: its records do not open with its key", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_FAULT:
		return messages.DenyReason_DENY_REASON_FAULT, fmt.Sprintf("%s is out of service: %s", id, fault)
	case messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:
		return messages.DenyReason_DENY_REASON_STOPPED, fmt.Sprintf("%s is stopped by Central (out of order)", id)
	case messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING:
		return messages.DenyReason_DENY_REASON_BUSY, fmt.Sprintf("%s is supplying another vehicle", id)
	}
	return messages.DenyReason_DENY_REASON_UNSPECIFIED, ""
}

// cpEntry is everything Central knows about one charge point.
type cpEntry struct {
	reg store.ChargePoint

	alive       bool       // the monitor registered with this Central and is heard from
	monitor     *actor.PID // who registered: only its liveness and fault reports count
	lastSeen    time.Time
	engineOK    bool
	fault       string
	waiting     string    // what the engine waits for, as its monitor says ("" = ready)
	rejected    string    // why the last registration was refused while no monitor is alive
	rejectedAt  time.Time // when
	stopped     bool
	weather     string                    // why a weather alert holds it out of service ("" = none; weather.go)
	engineState messages.ChargePointState // as the engine last said
	lastOrder   time.Time                 // when an order was last (re)sent

	// engineSession is the supply the engine runs, as its monitor last said.
	engineSession string
	// unconfirmed are supplies heard of in Kafka records that the engine has
	// not confirmed (see unconfirmed.go).
	unconfirmed map[string]*unconfirmedSupply

	session  *SessionView
	request  string // the session's request id
	released bool   // the session's driver was released (see Config.ReleaseAfter)
	pending  *pendingStart

	connectedOnce bool

	// tokenVersion is the Registry's token version its monitor registered with.
	tokenVersion uint64
	// tokenExpires is when the token its monitor last presented expires
	// (zero without tokens): the monitor renews it before, or the
	// registration ends (see expiry.go).
	tokenExpires time.Time
	// registrationID is the random id of its accepted registration (with
	// tokens): its monitor's liveness and fault reports must carry it.
	registrationID string
	// identity is why the Registry refuses it (REVOKED, UNREGISTERED), nil if it does not.
	identity *identityDenial
	// seal is what Central knows of its keys (keys.go).
	seal cpSeal

	state  messages.ChargePointState
	reason string
	since  time.Time
}

type pendingStart struct {
	sessionID, requestID, driverID string
	cancel                         func()
	// held: its charge point went DISCONNECTED while the START was still
	// valid (heldstart.go)
	held bool
	// revoked: its charge point's keys were revoked while the START was
	// still valid (revokedstart.go)
	revoked bool
}

// isMonitor reports whether pid is the monitor that registered (by address
// and id, so a restarted monitor actor is still the same monitor).
func (c *cpEntry) isMonitor(pid *actor.PID) bool {
	if c.monitor == nil || pid == nil {
		return c.monitor == nil && pid == nil
	}
	return c.monitor.GetAddress() == pid.GetAddress() && c.monitor.GetId() == pid.GetId()
}

// busy reports whether the charge point has a supply running or being started.
func (c *cpEntry) busy() bool { return c.session != nil || c.pending != nil }

func (c *cpEntry) derive() (messages.ChargePointState, string) {
	f := Facts{Alive: c.alive, EngineOK: c.engineOK, Stopped: c.stopped, Supplying: c.session != nil,
		Fault: c.fault, Waiting: c.waiting, Rejected: c.rejected, EncryptionError: c.seal.encError, Weather: c.weather}
	if c.seal.revoked {
		f.KeyRevoked = "keys revoked by the operator; waiting for a new key"
	}
	if d := c.identity; d != nil && d.state == messages.ChargePointState_CHARGE_POINT_STATE_REVOKED {
		f.Revoked = d.reason
	} else if d != nil {
		f.Unregistered = d.reason
	}
	st, why := Derive(f)
	if st == messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED && c.pending != nil {
		why = "starting a supply"
	}
	return st, why
}

func (c *cpEntry) view() ChargePointView {
	v := ChargePointView{
		ID: c.reg.ID, Location: c.reg.Location, PriceEURPerKWh: c.reg.PriceEURPerKWh, KW: c.reg.KW,
		State: c.state, Reason: c.reason, Since: c.since,
	}
	if c.session != nil && c.state == messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING {
		s := *c.session
		v.Session = &s
	}
	return v
}

// recent is a bounded set of ids that forgets the oldest first.
type recent struct {
	max   int
	set   map[string]struct{}
	order []string
}

func newRecent(max int) *recent { return &recent{max: max, set: map[string]struct{}{}} }

func (r *recent) has(id string) bool { _, ok := r.set[id]; return ok }

func (r *recent) add(id string) {
	if r.has(id) {
		return
	}
	r.set[id] = struct{}{}
	r.order = append(r.order, id)
	if len(r.order) > r.max {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
}

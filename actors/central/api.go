package central

import (
	"context"
	"time"

	"github.com/evcharging/evsim/messages"
)

// This file is Central's public surface for panels (terminal, web) and
// operators. The actor accepts the message types below; Panel wraps them as
// plain Go calls for code that is not an actor (HTTP handlers, the terminal
// panel, evsim's stdin commands).

// StopChargePoint puts one charge point (or all, when CPID is "") out of
// order: a running supply ends with a ticket, the state becomes STOPPED.
// Central answers with *OperatorResult.
type StopChargePoint struct{ CPID string }

// ResumeChargePoint puts one (or all, when CPID is "") stopped charge points
// back in service. Central answers with *OperatorResult.
type ResumeChargePoint struct{ CPID string }

// KnockOut makes a charge point's engine fail (KO true) or recover (false).
// Central answers with *OperatorResult.
type KnockOut struct {
	CPID string
	KO   bool
}

// OperatorResult answers an operator command. Err is empty on success, else a
// sentence such as "unknown charge point CP-099".
type OperatorResult struct {
	Affected int
	Err      string
	// Owner is the address of the Central of the group that carried the
	// order out (or did not answer), "" when this Central did.
	Owner string
	// OwnerSilent: Owner did not answer in time; Err says so.
	OwnerSilent bool
	// Members are the other Centrals of a shared group that an order for
	// all was passed on to, each with its answer (Affected counts theirs too).
	Members []MemberOrderResult
}

// MemberOrderResult is one other Central's answer to an order for all.
type MemberOrderResult struct {
	Address  string
	Affected int
	Err      string // its refusal, or that it did not answer in time
}

// GetSnapshot asks Central for the whole panel; it answers with *Snapshot.
type GetSnapshot struct{}

// Snapshot is the panel at one moment.
type Snapshot struct {
	ChargePoints []ChargePointView // sorted by id
	Totals       Totals
	// LastEvent is the Seq of the newest event, for Events(since).
	LastEvent uint64
}

// ChargePointView is one charge point as the panel shows it. It carries no
// personal data beyond the driver id.
type ChargePointView struct {
	ID             string
	Location       string
	PriceEURPerKWh float64
	KW             float64 // the charge point's rated power
	State          messages.ChargePointState
	// Reason says why the state is what it is, e.g. "engine not answering health checks".
	Reason  string
	Session *SessionView // nil unless SUPPLYING
	Since   time.Time    // when State last changed
}

// SessionView is a running supply.
type SessionView struct {
	SessionID string
	DriverID  string
	KW        float64 // current power
	KWh       float64 // delivered so far
	EUR       float64 // cost so far
	StartedAt time.Time
}

// Totals are network-wide figures.
type Totals struct {
	ChargePoints   int
	ByState        map[messages.ChargePointState]int
	ActiveSupplies int
	KWh            float64 // energy of every ticket so far
	EUR            float64 // revenue of every ticket so far
	Tickets        int64
}

// Event kinds for the panel's feed.
const (
	EventRegistered   = "registered"
	EventRejected     = "rejected" // a registration with a bad secret
	EventAccepted     = "accepted"
	EventDenied       = "denied"
	EventStarted      = "started"
	EventTicket       = "ticket"
	EventFault        = "fault"
	EventRecovered    = "recovered"
	EventWaiting      = "waiting" // a charge point not available yet (its engine waits)
	EventReady        = "ready"   // ... and available now
	EventDisconnected = "disconnected"
	EventStopped      = "stopped"
	EventResumed      = "resumed"
	EventRestart      = "restart"
)

// Event is one line of the panel's feed.
type Event struct {
	Seq      uint64
	At       time.Time
	Kind     string // one of the Event* constants
	CPID     string
	DriverID string
	Text     string // a sentence for an operator
}

// GetEvents asks for the events after Since (at most Limit, newest last);
// Central answers with *Events. Central keeps a bounded history.
type GetEvents struct {
	Since uint64
	Limit int
}

// Events answers GetEvents.
type Events struct{ Events []Event }

// Update is what a panel watcher receives: a charge point that changed, an
// event, or both.
type Update struct {
	ChargePoint *ChargePointView
	Event       *Event
}

// Panel is Central seen from code that is not an actor. Every method is safe
// for concurrent use.
type Panel interface {
	// Snapshot returns the whole panel.
	Snapshot(ctx context.Context) (*Snapshot, error)
	// Events returns the first limit events after since, oldest first (limit 0: all kept).
	Events(ctx context.Context, since uint64, limit int) ([]Event, error)
	// Watch streams updates until ctx ends; the channel is closed then. A slow
	// reader loses intermediate updates (each charge point's latest view is kept), never blocks Central.
	Watch(ctx context.Context) <-chan Update
	// Stop, Resume and KnockOut are the operator actions; cpID "" means all (not for KnockOut).
	Stop(ctx context.Context, cpID string) (*OperatorResult, error)
	Resume(ctx context.Context, cpID string) (*OperatorResult, error)
	KnockOut(ctx context.Context, cpID string, ko bool) (*OperatorResult, error)
}

package web

import (
	"math"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// The JSON shapes of the API and of the live stream. Field names are part of
// the contract (doc.go lists them): add fields freely, never rename one.

// ChargePoint is one charge point as the API shows it.
type ChargePoint struct {
	ID             string  `json:"id"`
	Location       string  `json:"location"`
	PriceEURPerKWh float64 `json:"price_eur_per_kwh"`
	RatedKW        float64 `json:"rated_kw"`
	// State is ACTIVATED, SUPPLYING, STOPPED, FAULT, DISCONNECTED (or UNKNOWN).
	State string `json:"state"`
	// Colour is green, orange, red or grey (rules.md).
	Colour string `json:"colour"`
	// Label is what the panel writes, e.g. "Out of order" for STOPPED.
	Label  string     `json:"label"`
	Reason string     `json:"reason"`
	Since  *time.Time `json:"since"`
	// Session is null unless the charge point is supplying.
	Session *Session `json:"session"`
}

// Session is a running supply. It carries no personal data beyond the driver id.
type Session struct {
	SessionID string     `json:"session_id"`
	DriverID  string     `json:"driver_id"`
	KW        float64    `json:"kw"`
	KWh       float64    `json:"kwh"`
	EUR       float64    `json:"eur"`
	StartedAt *time.Time `json:"started_at"`
}

// Event is one line of the feed.
type Event struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	CPID     string    `json:"cp_id"`
	DriverID string    `json:"driver_id"`
	Text     string    `json:"text"`
}

// Totals are the network-wide figures. ByState always holds every state.
// KWh, EUR and Tickets are Central's all-time figures: every ticket in its
// database, earlier runs on the same database included. ThisRun holds this
// process's own.
type Totals struct {
	ChargePoints   int            `json:"charge_points"`
	ByState        map[string]int `json:"by_state"`
	ActiveSupplies int            `json:"active_supplies"`
	KWh            float64        `json:"kwh"`
	EUR            float64        `json:"eur"`
	Tickets        int64          `json:"tickets"`
	ThisRun        RunTotals      `json:"this_run"`
}

// RunTotals are the tickets of this run of the process.
type RunTotals struct {
	KWh     float64 `json:"kwh"`
	EUR     float64 `json:"eur"`
	Tickets int64   `json:"tickets"`
}

// Bridge is the bridge's state as /readyz and /api/network show it.
type Bridge struct {
	State  string `json:"state"`
	Detail string `json:"detail"`
	Ready  bool   `json:"ready"`
}

// Network answers GET /api/network.
type Network struct {
	Totals          Totals        `json:"totals"`
	LastEvent       uint64        `json:"last_event"`
	Bridge          Bridge        `json:"bridge"`
	Run             stats.Summary `json:"run"`
	OperatorEnabled bool          `json:"operator_enabled"`
}

// ActionResult answers a successful operator action.
type ActionResult struct {
	Action   string `json:"action"`
	CPID     string `json:"cp_id"` // "" for stop-all and resume-all
	Affected int    `json:"affected"`
	// Owner is the Central of the shared group that carried the order out
	// when not this one (it owns the charge point).
	Owner string `json:"owner,omitempty"`
	// Members: a stop-all or resume-all in a shared group was passed on to
	// these other Centrals; Affected counts theirs too.
	Members []MemberAction `json:"members,omitempty"`
}

// MemberAction is one other Central's answer to an order for all.
type MemberAction struct {
	Address  string `json:"address"`
	Affected int    `json:"affected"`
	Error    string `json:"error,omitempty"` // its refusal, or that it did not answer in time
}

// apiError is every error body: {"error": "a sentence"}.
type apiError struct {
	Error string `json:"error"`
}

// The states by their panel names, in the panel's order.
var stateNames = []string{"ACTIVATED", "SUPPLYING", "STOPPED", "FAULT", "DISCONNECTED", "WAITING", "REJECTED", "REVOKED", "UNREGISTERED"}

// stateName turns CHARGE_POINT_STATE_ACTIVATED into ACTIVATED, and anything
// that is not one of the states into UNKNOWN.
func stateName(s messages.ChargePointState) string {
	name := strings.TrimPrefix(s.String(), "CHARGE_POINT_STATE_")
	if _, ok := looks[name]; !ok {
		return "UNKNOWN"
	}
	return name
}

type look struct{ colour, label string }

var looks = map[string]look{
	"ACTIVATED":    {"green", "Activated"},
	"SUPPLYING":    {"green", "Supplying"},
	"STOPPED":      {"orange", "Out of order"},
	"FAULT":        {"red", "Fault"},
	"DISCONNECTED": {"grey", "Disconnected"},
	"WAITING":      {"grey", "Not yet available"},
	"REJECTED":     {"red", "Registration rejected"},
	"REVOKED":      {"red", "Revoked"},
	"UNREGISTERED": {"grey", "Not registered"},
}

func toChargePoint(v *central.ChargePointView) ChargePoint {
	state := stateName(v.State)
	l, ok := looks[state]
	if !ok {
		l = look{"grey", "Unknown"}
	}
	cp := ChargePoint{
		ID:             v.ID,
		Location:       v.Location,
		PriceEURPerKWh: round(v.PriceEURPerKWh, 4),
		RatedKW:        round(v.KW, 2),
		State:          state,
		Colour:         l.colour,
		Label:          l.label,
		Reason:         v.Reason,
		Since:          timePtr(v.Since),
	}
	if s := v.Session; s != nil {
		cp.Session = &Session{
			SessionID: s.SessionID,
			DriverID:  s.DriverID,
			KW:        round(s.KW, 2),
			KWh:       round(s.KWh, 4),
			EUR:       round(s.EUR, 4),
			StartedAt: timePtr(s.StartedAt),
		}
	}
	return cp
}

func toChargePoints(views []central.ChargePointView) []ChargePoint {
	out := make([]ChargePoint, len(views))
	for i := range views {
		out[i] = toChargePoint(&views[i])
	}
	return out
}

func toEvent(e *central.Event) Event {
	return Event{Seq: e.Seq, At: e.At.UTC(), Kind: e.Kind, CPID: e.CPID, DriverID: e.DriverID, Text: e.Text}
}

func toEvents(events []central.Event) []Event {
	out := make([]Event, len(events))
	for i := range events {
		out[i] = toEvent(&events[i])
	}
	return out
}

// snapshotTotals counts the charge points by state and the running supplies
// from the snapshot's own list, so the figures always agree with the tiles;
// energy, revenue and tickets come from Central's totals.
func snapshotTotals(snap *central.Snapshot) Totals {
	by := make(map[string]int, len(stateNames)+1)
	for _, n := range stateNames {
		by[n] = 0
	}
	active := 0
	for i := range snap.ChargePoints {
		cp := &snap.ChargePoints[i]
		by[stateName(cp.State)]++
		if cp.Session != nil {
			active++
		}
	}
	return Totals{
		ChargePoints:   len(snap.ChargePoints),
		ByState:        by,
		ActiveSupplies: active,
		KWh:            round(snap.Totals.KWh, 4),
		EUR:            round(snap.Totals.EUR, 4),
		Tickets:        snap.Totals.Tickets,
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func round(x float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(x*p) / p
}

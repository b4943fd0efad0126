package web

import (
	"time"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/messages"
)

// The driver app's JSON shapes (openapi.yaml describes them). Add fields
// freely, never rename one.

// DriverDirectory answers GET /api/drivers.
type DriverDirectory struct {
	// Auth is "open" (anyone may act as any driver: Central runs without an
	// operator token) or "token" (a driver's token, or the operator's).
	Auth string `json:"auth"`
	// Drivers are the ids Central knows: with tickets, or supplying now.
	Drivers []string `json:"drivers"`
}

// DriverRequest is one request made through the driver app, as far as it got.
type DriverRequest struct {
	RequestID      string     `json:"request_id"`
	DriverID       string     `json:"driver_id"`
	CPID           string     `json:"cp_id"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason"`
	SessionID      string     `json:"session_id"`
	KW             float64    `json:"kw"`
	KWh            float64    `json:"kwh"`
	EUR            float64    `json:"eur"`
	PriceEURPerKWh float64    `json:"price_eur_per_kwh"`
	RequestedAt    time.Time  `json:"requested_at"`
	StartedAt      *time.Time `json:"started_at"`
	EndedAt        *time.Time `json:"ended_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Ticket         *Ticket    `json:"ticket"`
}

// Ticket is Central's ticket of one supply.
type Ticket struct {
	TicketID       string     `json:"ticket_id"`
	SessionID      string     `json:"session_id"`
	RequestID      string     `json:"request_id"`
	DriverID       string     `json:"driver_id"`
	CPID           string     `json:"cp_id"`
	KWh            float64    `json:"kwh"`
	EUR            float64    `json:"eur"`
	PriceEURPerKWh float64    `json:"price_eur_per_kwh"`
	StartedAt      *time.Time `json:"started_at"`
	EndedAt        *time.Time `json:"ended_at"`
	// Reason is how the supply ended: completed, stopped by Central, fault...
	Reason string `json:"reason"`
}

// DriverToken answers POST /api/drivers/{id}/token.
type DriverToken struct {
	DriverID string `json:"driver_id"`
	Token    string `json:"token"`
}

func toTicket(t *messages.Ticket) *Ticket {
	if t == nil {
		return nil
	}
	return &Ticket{
		TicketID: t.GetTicketId(), SessionID: t.GetSessionId(), RequestID: t.GetRequestId(),
		DriverID: t.GetDriverId(), CPID: t.GetCpId(),
		KWh: round(t.GetKwh(), 4), EUR: round(t.GetEur(), 4), PriceEURPerKWh: round(t.GetPriceEurPerKwh(), 4),
		StartedAt: timePtr(t.GetStartedAt().AsTime()), EndedAt: timePtr(t.GetEndedAt().AsTime()),
		Reason: chargepoint.EndReasonText(t.GetReason()),
	}
}

func toTickets(ts []*messages.Ticket) []*Ticket {
	out := make([]*Ticket, len(ts))
	for i, t := range ts {
		out[i] = toTicket(t)
	}
	return out
}

func toDriverRequest(r *driverdesk.Request) DriverRequest {
	return DriverRequest{
		RequestID: r.RequestID, DriverID: r.DriverID, CPID: r.CPID, Status: r.Status, Reason: r.Reason,
		SessionID: r.SessionID, KW: round(r.KW, 2), KWh: round(r.KWh, 4), EUR: round(r.EUR, 4),
		PriceEURPerKWh: round(r.Price, 4),
		RequestedAt:    r.RequestedAt.UTC(), StartedAt: timePtr(r.StartedAt), EndedAt: timePtr(r.EndedAt),
		UpdatedAt: r.UpdatedAt.UTC(), Ticket: toTicket(r.Ticket),
	}
}

func toDriverRequests(rs []driverdesk.Request) []DriverRequest {
	out := make([]DriverRequest, len(rs))
	for i := range rs {
		out[i] = toDriverRequest(&rs[i])
	}
	return out
}

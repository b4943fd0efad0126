package web

import (
	"context"
	"sync/atomic"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/messages"
)

// DriverDesk is where the driver app's requests go: a driverdesk.Desk
// publishes them as a driver process would, so Central treats them as any
// driver's. Its methods must be safe for concurrent use.
type DriverDesk interface {
	Request(ctx context.Context, driverID, cpID string) (driverdesk.Request, error)
	Requests(ctx context.Context, driverID string) ([]driverdesk.Request, error)
	Watch(ctx context.Context, driverID string) (<-chan driverdesk.Update, error)
}

// TicketHistory is Central's database of tickets, read by driver (a
// *store.Store). Its methods must be safe for concurrent use.
type TicketHistory interface {
	DriverTickets(ctx context.Context, driverID string, limit int) ([]*messages.Ticket, error)
	DriverIDs(ctx context.Context, limit int) ([]string, error)
}

// DriverSlot holds the driver desk, which a process starts once its bridge
// is ready, after its web server. Until Set the driver app's actions answer
// 503. Safe for concurrent use.
type DriverSlot struct {
	d atomic.Pointer[DriverDesk]
}

// Set hands over the desk.
func (s *DriverSlot) Set(d DriverDesk) {
	if s != nil {
		s.d.Store(&d)
	}
}

// Desk is the desk, or nil before Set.
func (s *DriverSlot) Desk() DriverDesk {
	if s == nil {
		return nil
	}
	if d := s.d.Load(); d != nil {
		return *d
	}
	return nil
}

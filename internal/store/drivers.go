package store

import (
	"context"
	"fmt"
	"time"

	"github.com/evcharging/evsim/messages"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ticketColumns are what scanTicket reads, in its order.
const ticketColumns = `session_id, ticket_id, request_id, driver_id, cp_id, kwh, eur, price, started_at, ended_at, reason`

// scanTicket reads one row of ticketColumns.
func scanTicket(row interface{ Scan(...any) error }) (*messages.Ticket, error) {
	var t messages.Ticket
	var started, ended int64
	var reason int32
	if err := row.Scan(&t.SessionId, &t.TicketId, &t.RequestId, &t.DriverId, &t.CpId, &t.Kwh, &t.Eur,
		&t.PriceEurPerKwh, &started, &ended, &reason); err != nil {
		return nil, err
	}
	t.StartedAt = timestamppb.New(time.UnixMilli(started))
	t.EndedAt = timestamppb.New(time.UnixMilli(ended))
	t.Reason = messages.EndReason(reason)
	return &t, nil
}

// DriverTickets returns a driver's tickets, newest first, at most limit.
func (s *Store) DriverTickets(ctx context.Context, driverID string, limit int) ([]*messages.Ticket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE driver_id = ?
ORDER BY ended_at DESC, session_id DESC LIMIT ?`, driverID, limit)
	if err != nil {
		return nil, fmt.Errorf("load the tickets of driver %s: %w", driverID, err)
	}
	defer rows.Close()
	out := []*messages.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("load the tickets of driver %s: %w", driverID, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load the tickets of driver %s: %w", driverID, err)
	}
	return out, nil
}

// DriverIDs returns the drivers that have tickets, sorted, at most limit.
func (s *Store) DriverIDs(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT driver_id FROM tickets ORDER BY driver_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list the drivers with tickets: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list the drivers with tickets: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestADriversTicketsComeNewestFirst(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	base := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for i, driver := range []string{"alice", "bob", "alice", "alice"} {
		end := base.Add(time.Duration(i) * time.Minute)
		if _, err := s.SaveTicket(ctx, &messages.Ticket{
			TicketId: fmt.Sprintf("T-%d", i), SessionId: fmt.Sprintf("S-%d", i), RequestId: fmt.Sprintf("R-%d", i),
			DriverId: driver, CpId: "CP-001", Kwh: float64(i + 1), Eur: 0.3 * float64(i+1), PriceEurPerKwh: 0.3,
			StartedAt: timestamppb.New(end.Add(-time.Minute)), EndedAt: timestamppb.New(end),
			Reason: messages.EndReason_END_REASON_COMPLETED,
		}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.DriverTickets(ctx, "alice", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].GetSessionId() != "S-3" || got[1].GetSessionId() != "S-2" {
		t.Fatalf("alice's newest two: %v", got)
	}
	if !got[0].GetEndedAt().AsTime().Equal(base.Add(3*time.Minute)) || got[0].GetReason() != messages.EndReason_END_REASON_COMPLETED || got[0].GetKwh() != 4 {
		t.Errorf("the newest ticket read back: %v", got[0])
	}
	if none, err := s.DriverTickets(ctx, "carol", 10); err != nil || len(none) != 0 || none == nil {
		t.Errorf("a driver without tickets: %v %v (want an empty list)", none, err)
	}
	ids, err := s.DriverIDs(ctx, 10)
	if err != nil || fmt.Sprint(ids) != "[alice bob]" {
		t.Errorf("DriverIDs: %v %v", ids, err)
	}
}

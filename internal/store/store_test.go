package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRegistrySurvivesReopenWithStopOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db", "central.db")
	s := open(t, path)
	h, err := HashSecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"CP-002", "CP-001"} {
		if err := s.SaveChargePoint(ctx, ChargePoint{ID: id, Location: "Alicante", PriceEURPerKWh: 0.3, KW: 22, SecretHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetStopped(ctx, "CP-002", true); err != nil {
		t.Fatal(err)
	}
	// a re-registration updates the details but keeps the operator's order
	if err := s.SaveChargePoint(ctx, ChargePoint{ID: "CP-002", Location: "Elche", PriceEURPerKWh: 0.4, KW: 50, SecretHash: h}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s = open(t, path)
	cps, err := s.ChargePoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 || cps[0].ID != "CP-001" || cps[1].ID != "CP-002" || !cps[1].Stopped || cps[0].Stopped ||
		cps[1].Location != "Elche" || cps[1].KW != 50 || !CheckSecret(cps[1].SecretHash, "s3cret") {
		t.Fatalf("unexpected registry %+v", cps)
	}
	if err := s.SetStopped(ctx, "", false); err != nil {
		t.Fatal(err)
	}
	cps, _ = s.ChargePoints(ctx)
	if cps[1].Stopped {
		t.Fatal("resume all did not clear the order")
	}
}

func TestTicketIsSavedOncePerSession(t *testing.T) {
	ctx := context.Background()
	s := open(t, ":memory:")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tk := &messages.Ticket{TicketId: "T1", SessionId: "S1", RequestId: "R1", DriverId: "alice", CpId: "CP-003",
		Kwh: 4.12, Eur: 1.236, PriceEurPerKwh: 0.3, StartedAt: timestamppb.New(at), EndedAt: timestamppb.New(at.Add(time.Minute)),
		Reason: messages.EndReason_END_REASON_COMPLETED}
	for i, want := range []bool{true, false, false} {
		got, err := s.SaveTicket(ctx, tk)
		if err != nil || got != want {
			t.Fatalf("save #%d: new=%v err=%v, want new=%v", i, got, err, want)
		}
	}
	back, err := s.Ticket(ctx, "S1")
	if err != nil {
		t.Fatal(err)
	}
	if back.GetDriverId() != "alice" || back.GetKwh() != 4.12 || !back.GetEndedAt().AsTime().Equal(at.Add(time.Minute)) ||
		back.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("ticket changed on the way: %v", back)
	}
	if _, err := s.Ticket(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	n, kwh, eur, err := s.TicketTotals(ctx)
	if err != nil || n != 1 || kwh != 4.12 || eur != 1.236 {
		t.Fatalf("totals %d %v %v %v", n, kwh, eur, err)
	}
	if _, err := s.SaveTicket(ctx, &messages.Ticket{}); err == nil {
		t.Fatal("a ticket without a session must be refused")
	}
}

func TestSecretCheck(t *testing.T) {
	h, err := HashSecret("right")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashSecret("right")
	if h == h2 {
		t.Fatal("hashes are not salted")
	}
	for secret, want := range map[string]bool{"right": true, "wrong": false, "": false, "right ": false} {
		if got := CheckSecret(h, secret); got != want {
			t.Errorf("CheckSecret(%q) = %v", secret, got)
		}
	}
	if CheckSecret("garbage", "right") || CheckSecret("zz$zz", "right") {
		t.Error("a malformed hash must never match")
	}
}

func TestEnsureSecretIsStable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	s := open(t, path)
	a, err := s.EnsureSecret(ctx, "network")
	if err != nil || len(a) != 64 {
		t.Fatalf("%q %v", a, err)
	}
	_ = s.Close()
	s = open(t, path)
	b, _ := s.EnsureSecret(ctx, "network")
	c, _ := s.EnsureSecret(ctx, "other")
	if a != b || a == c {
		t.Fatalf("secrets %s %s %s", a, b, c)
	}
}

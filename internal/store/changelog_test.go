package store

import (
	"context"
	"testing"
)

// An entry of the group's changelog replaces every field, the operator's
// stop included (SaveChargePoint keeps the stop of an existing row).
func TestPutChargePointReplacesTheStop(t *testing.T) {
	ctx := context.Background()
	s := open(t, ":memory:")
	if err := s.SaveChargePoint(ctx, ChargePoint{ID: "CP-001", Location: "Alicante", PriceEURPerKWh: 0.3, KW: 22, SecretHash: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStopped(ctx, "CP-001", true); err != nil {
		t.Fatal(err)
	}
	if err := s.PutChargePoint(ctx, ChargePoint{ID: "CP-001", Location: "Elche", PriceEURPerKWh: 0.4, KW: 50, SecretHash: "new"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutChargePoint(ctx, ChargePoint{ID: "CP-002", Location: "Murcia", SecretHash: "h", Stopped: true}); err != nil {
		t.Fatal(err)
	}
	cps, err := s.ChargePoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) != 2 || cps[0].Stopped || cps[0].Location != "Elche" || cps[0].SecretHash != "new" || !cps[1].Stopped {
		t.Fatalf("registry after the group's entries: %+v", cps)
	}
}

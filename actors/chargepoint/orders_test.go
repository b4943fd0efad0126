package chargepoint

import (
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// The last order wins by the time Central sent it, also across an
// engine's restart (the journal keeps it): an older one is not taken, one
// sent at the same time or later is, and one without a send time is taken
// without moving the mark.
func TestOrdersOlderThanTheLastTakenAreNotTaken(t *testing.T) {
	j := FileJournal{Path: filepath.Join(t.TempDir(), "engine.json")}
	m := NewMachine("CP-001", 22, 0.30, time.Minute, Record{})
	stopAt, resumeAt := timestamppb.New(t0), timestamppb.New(t0.Add(20*time.Second))
	if !m.TakeOrder(stopAt) || !m.TakeOrder(resumeAt) {
		t.Fatal("orders in the order Central sent them were not taken")
	}
	if err := j.Save(m.Record()); err != nil {
		t.Fatal(err)
	}
	rec, err := j.Load()
	if err != nil {
		t.Fatal(err)
	}
	m = NewMachine("CP-001", 22, 0.30, time.Minute, rec)
	if m.TakeOrder(stopAt) {
		t.Fatal("after a restart, the STOP sent before the RESUME was taken again")
	}
	if !m.TakeOrder(resumeAt) || !m.TakeOrder(nil) || !m.LastOrderAt().Equal(resumeAt.AsTime()) {
		t.Fatalf("the last order again, or one without a time: not taken, or the mark moved to %v", m.LastOrderAt())
	}
}

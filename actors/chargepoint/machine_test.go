package chargepoint

import (
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func start(id string) *messages.StartSupply {
	return &messages.StartSupply{SessionId: id, RequestId: "R-" + id, DriverId: "alice"}
}

func TestSupplyAccruesEnergyAndCompletes(t *testing.T) {
	m := NewMachine("CP-001", 22, 0.30, 10*time.Minute, Record{})
	st, err := m.Start(start("S1"), t0)
	if err != nil || st.GetKw() != 22 || st.GetPriceEurPerKwh() != 0.30 || st.GetCpId() != "CP-001" {
		t.Fatalf("start: %v %v", st, err)
	}
	if m.State() != messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING {
		t.Fatal("not supplying")
	}
	tel := m.Advance(t0.Add(6 * time.Minute))
	if math.Abs(tel.GetKwh()-2.2) > 1e-9 || math.Abs(tel.GetEur()-0.66) > 1e-9 || tel.GetSeq() != 1 {
		t.Fatalf("after 6 min at 22 kW: %v", tel)
	}
	if m.Finished(t0.Add(9 * time.Minute)) {
		t.Fatal("finished early")
	}
	// energy stops at the configured duration even if the tick is late
	end := m.End(t0.Add(12*time.Minute), messages.EndReason_END_REASON_COMPLETED)
	if math.Abs(end.GetKwh()-22.0/6) > 1e-9 || end.GetReason() != messages.EndReason_END_REASON_COMPLETED {
		t.Fatalf("end: %v", end)
	}
	if m.State() != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED || m.Record().Pending == nil {
		t.Fatal("end not pending or state wrong")
	}
	m.Published()
	if m.Record().Pending != nil || m.Recover() != nil {
		t.Fatal("published end still pending")
	}
}

func TestTargetEnergyEndsTheSupply(t *testing.T) {
	m := NewMachine("CP-001", 60, 0.5, time.Hour, Record{})
	if _, err := m.Start(&messages.StartSupply{SessionId: "S", TargetKwh: 1}, t0); err != nil {
		t.Fatal(err)
	}
	tel := m.Advance(t0.Add(2 * time.Minute))
	if tel.GetKwh() != 1 || !m.Finished(t0.Add(2*time.Minute)) {
		t.Fatalf("target not honoured: %v", tel)
	}
}

func TestRefusals(t *testing.T) {
	m := NewMachine("CP-001", 22, 0.3, time.Minute, Record{})
	if _, err := m.Start(&messages.StartSupply{}, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("no session id: %v", err)
	}
	if _, err := m.Start(start("S1"), t0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(start("S1"), t0); !errors.Is(err, ErrDuplicate) {
		t.Errorf("same start again: %v", err)
	}
	if _, err := m.Start(start("S2"), t0); !errors.Is(err, ErrBusy) {
		t.Errorf("second supply: %v", err)
	}
	m.End(t0.Add(time.Second), messages.EndReason_END_REASON_STOPPED_BY_CENTRAL)
	m.Published()
	if _, err := m.Start(start("S1"), t0); !errors.Is(err, ErrDuplicate) {
		t.Errorf("an ended supply started again (command delivered twice): %v", err)
	}
	m.SetStopped(true)
	if _, err := m.Start(start("S3"), t0); !errors.Is(err, ErrStopped) {
		t.Errorf("stopped: %v", err)
	}
	if m.State() != messages.ChargePointState_CHARGE_POINT_STATE_STOPPED {
		t.Error("not STOPPED")
	}
	m.SetKO(true)
	if _, err := m.Start(start("S4"), t0); !errors.Is(err, ErrKnockedOut) {
		t.Errorf("KO: %v", err)
	}
	if m.State() != messages.ChargePointState_CHARGE_POINT_STATE_FAULT {
		t.Error("KO is not FAULT")
	}
}

// After a crash the engine reports the interrupted supply as of its last
// reading, with reason ENGINE_RESTART, once; an end that was pending is
// sent again unchanged (Central makes one ticket per session).
func TestRecoverFromJournal(t *testing.T) {
	j := FileJournal{Path: filepath.Join(t.TempDir(), "cp", "engine.json")}
	m := NewMachine("CP-001", 22, 0.3, time.Hour, Record{})
	if _, err := m.Start(start("S1"), t0); err != nil {
		t.Fatal(err)
	}
	m.Advance(t0.Add(3 * time.Minute))
	if err := j.Save(m.Record()); err != nil {
		t.Fatal(err)
	}
	// crash: a new machine from the journal
	rec, err := j.Load()
	if err != nil {
		t.Fatal(err)
	}
	m2 := NewMachine("CP-001", 22, 0.3, time.Hour, rec)
	end := m2.Recover()
	if end == nil || end.GetReason() != messages.EndReason_END_REASON_ENGINE_RESTART || math.Abs(end.GetKwh()-1.1) > 1e-9 ||
		!end.GetEndedAt().AsTime().Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("recovered end %v", end)
	}
	_ = j.Save(m2.Record())
	// crash again before it was published: the same end, not a second one
	rec, _ = j.Load()
	m3 := NewMachine("CP-001", 22, 0.3, time.Hour, rec)
	again := m3.Recover()
	if again.GetSessionId() != "S1" || again.GetKwh() != end.GetKwh() || again.GetReason() != end.GetReason() {
		t.Fatalf("second recovery differs: %v", again)
	}
	m3.Published()
	if m3.Recover() != nil {
		t.Fatal("an end reported twice after it was published (Python defect 6)")
	}
}

func TestJournalsStartEmptyAndKeepOrders(t *testing.T) {
	for name, j := range map[string]Journal{"memory": NewMemoryJournal(), "file": FileJournal{Path: filepath.Join(t.TempDir(), "j.json")}} {
		r, err := j.Load()
		if err != nil || r.Session != nil || r.Stopped || r.KO {
			t.Fatalf("%s: fresh journal %+v %v", name, r, err)
		}
		if err := j.Save(Record{Stopped: true, KO: true, Done: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		r, _ = j.Load()
		if !r.Stopped || !r.KO || len(r.Done) != 1 {
			t.Fatalf("%s: %+v", name, r)
		}
	}
}

func TestFlushJournalClosesTheSupplyOfADeadEngine(t *testing.T) {
	j := NewMemoryJournal()
	m := NewMachine("CP-001", 22, 0.3, time.Hour, Record{})
	_, _ = m.Start(start("S1"), t0)
	m.Advance(t0.Add(time.Minute))
	_ = j.Save(m.Record())
	rec, _ := j.Load()
	mm := NewMachine("CP-001", 0, 0, time.Second, rec)
	end := mm.closeSession(rec.Session.LastAt, messages.EndReason_END_REASON_FAULT)
	if end.GetReason() != messages.EndReason_END_REASON_FAULT || end.GetKwh() <= 0 || end.GetPriceEurPerKwh() != 0.3 {
		t.Fatalf("%v", end)
	}
	for r := range messages.EndReason_name {
		if r != 0 && EndReasonText(messages.EndReason(r)) == "unknown" {
			t.Errorf("end reason %v has no text", r)
		}
	}
}

func TestTimeScaleSpeedsUpEnergyAndTravelsWithTheSupply(t *testing.T) {
	m := NewMachine("CP-001", 22, 0.30, 10*time.Second, Record{})
	m.SetTimeScale(60) // a real second is a simulated minute
	if _, err := m.Start(start("S1"), t0); err != nil {
		t.Fatal(err)
	}
	tel := m.Advance(t0.Add(5 * time.Second))
	if want := 22.0 * 5 / 60; math.Abs(tel.GetKwh()-want) > 1e-9 {
		t.Fatalf("5 s at 22 kW x60: %v kWh, want %v", tel.GetKwh(), want)
	}
	// An engine that restarts with another scale carries on at the supply's own.
	again := NewMachine("CP-001", 22, 0.30, 10*time.Second, m.Record())
	end := again.End(t0.Add(10*time.Second), messages.EndReason_END_REASON_COMPLETED)
	if want := 22.0 * 10 / 60; math.Abs(end.GetKwh()-want) > 1e-9 || math.Abs(end.GetEur()-want*0.30) > 1e-9 {
		t.Fatalf("10 s at 22 kW x60 across a restart: %v kWh %v EUR, want %v kWh", end.GetKwh(), end.GetEur(), want)
	}
}

// The in-memory journal keeps its own copy: what an incarnation changes
// after a save, or in what it loaded, never reaches the journal.
func TestMemoryJournalSharesNothing(t *testing.T) {
	j := NewMemoryJournal()
	rec := Record{Session: &SessionRecord{SessionID: "S-1", KWh: 1}, Pending: &EndRecord{Session: SessionRecord{SessionID: "S-0"}}, Done: []string{"S-0"}}
	if err := j.Save(rec); err != nil {
		t.Fatal(err)
	}
	rec.Session.KWh, rec.Pending.Session.SessionID, rec.Done[0] = 9, "changed", "changed"
	got, err := j.Load()
	if err != nil {
		t.Fatal(err)
	}
	got.Session.KWh = 7
	again, _ := j.Load()
	if again.Session.KWh != 1 || again.Pending.Session.SessionID != "S-0" || again.Done[0] != "S-0" {
		t.Fatalf("the journal shares memory with its users: %+v %+v %v", again.Session, again.Pending, again.Done)
	}
}

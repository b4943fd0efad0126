package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

func TestShippedRequestFilesGiveTheDefaultDriversAtLeastTenRequests(t *testing.T) {
	src, err := LoadRequests("")
	if err != nil {
		t.Fatal(err)
	}
	plan := src.Plan(3, 5, 1)
	for _, d := range []string{"alice", "bob", "charlie"} {
		if len(plan[d]) < 10 {
			t.Errorf("%s has %d requests, want at least 10", d, len(plan[d]))
		}
		for _, id := range plan[d] {
			if !strings.HasPrefix(id, "CP-") {
				t.Errorf("%s: odd id %q", d, id)
			}
		}
	}
}

func TestSameSeedGivesTheSameRequestSequence(t *testing.T) {
	src, err := LoadRequests("")
	if err != nil {
		t.Fatal(err)
	}
	a := src.Plan(50, 1000, 42)
	b := src.Plan(50, 1000, 42)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans with one seed differ")
	}
	c := src.Plan(50, 1000, 43)
	if reflect.DeepEqual(a["driver-010"], c["driver-010"]) {
		t.Fatal("a different seed gave the same generated requests")
	}
	if len(a["driver-004"]) != MinGeneratedRequests {
		t.Fatalf("generated driver has %d requests", len(a["driver-004"]))
	}
	for _, id := range a["driver-049"] {
		var n int
		if _, err := fmt.Sscanf(id, "CP-%d", &n); err != nil || n < 1 || n > 1000 {
			t.Fatalf("generated id %q is not one of CP-001..CP-1000", id)
		}
	}
}

func TestRequestsFromAFileAndAFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "one.txt")
	os.WriteFile(file, []byte("# comment\n\nCP-003\n  CP-001  \n"), 0o644)
	src, err := LoadRequests(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := src.Plan(4, 5, 1); !reflect.DeepEqual(got["driver-004"], []string{"CP-003", "CP-001"}) || !reflect.DeepEqual(got["alice"], got["driver-004"]) {
		t.Fatalf("a single file is for every driver: %v", got)
	}

	folder := filepath.Join(dir, "folder")
	os.Mkdir(folder, 0o755)
	os.WriteFile(filepath.Join(folder, "bob.txt"), []byte("CP-002\n"), 0o644)
	src, err = LoadRequests(folder)
	if err != nil {
		t.Fatal(err)
	}
	plan := src.Plan(2, 5, 1)
	if !reflect.DeepEqual(plan["bob"], []string{"CP-002"}) || len(plan["alice"]) != MinGeneratedRequests {
		t.Fatalf("folder plan %v", plan)
	}

	for name, content := range map[string]string{"bad.txt": "CP-001 CP-002\n", "empty.txt": "# nothing\n"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o644)
		if _, err := LoadRequests(p); err == nil || !strings.Contains(err.Error(), "--requests") {
			t.Errorf("%s: want an error naming --requests, got %v", name, err)
		}
	}
	if _, err := LoadRequests(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path was accepted")
	}
}

func TestParseCommand(t *testing.T) {
	good := map[string]Command{
		"stop CP-002":     {VerbStop, "CP-002"},
		"RESUME all":      {VerbResume, "all"},
		"ko CP-004":       {VerbKO, "CP-004"},
		"restart-central": {VerbRestartCentral, ""},
		"kill-driver bob": {VerbKillDriver, "bob"},
	}
	for in, want := range good {
		got, err := ParseCommand(in)
		if err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "fly CP-001", "stop", "ko all", "restart-central now", "stop CP-1 CP-2"} {
		if _, err := ParseCommand(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestTheShippedScenarioParsesInTimeOrder(t *testing.T) {
	f, err := os.Open("../../scenarios/demo.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	steps, err := ParseScenario(f, "demo.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) < 5 {
		t.Fatalf("only %d steps", len(steps))
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].At < steps[i-1].At {
			t.Fatalf("steps out of order: %v", steps)
		}
	}
	if steps[0].At != 10*time.Second || steps[0].Command != (Command{VerbStop, "CP-002"}) {
		t.Fatalf("first step %+v", steps[0])
	}
}

func TestScenarioErrorsNameTheLine(t *testing.T) {
	_, err := ParseScenario(strings.NewReader("10s stop CP-001\n\nsoon ko CP-002\n"), "s.txt")
	if err == nil || !strings.Contains(err.Error(), "s.txt line 3") {
		t.Fatalf("got %v", err)
	}
	_, err = ParseScenario(strings.NewReader("5s explode CP-001\n"), "s.txt")
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "explode") {
		t.Fatalf("got %v", err)
	}
}

func sampleSnapshot() *central.Snapshot {
	return &central.Snapshot{
		ChargePoints: []central.ChargePointView{
			{ID: "CP-001", Location: "Alicante", PriceEURPerKWh: 0.30, KW: 22, State: messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING,
				Session: &central.SessionView{DriverID: "alice", KW: 22, KWh: 1.234, EUR: 0.37}},
			{ID: "CP-002", Location: "Madrid", PriceEURPerKWh: 0.35, State: messages.ChargePointState_CHARGE_POINT_STATE_STOPPED},
			{ID: "CP-003", Location: "Valencia", PriceEURPerKWh: 0.30, State: messages.ChargePointState_CHARGE_POINT_STATE_FAULT},
			{ID: "CP-004", Location: "Sevilla", PriceEURPerKWh: 0.30, State: messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED},
		},
		Totals: central.Totals{ChargePoints: 4, ActiveSupplies: 1, Tickets: 3, KWh: 9.5, EUR: 2.85,
			ByState: map[messages.ChargePointState]int{messages.ChargePointState_CHARGE_POINT_STATE_STOPPED: 1}},
	}
}

func TestPanelShowsStatesAndLiveFiguresInColour(t *testing.T) {
	var b bytes.Buffer
	RenderPanel(&b, sampleSnapshot(), PanelOptions{Colour: true, Now: time.Now()})
	out := b.String()
	for _, want := range []string{
		ansiBGreen + "SUPPLYING", ansiOrange + "STOPPED Out of order", ansiRed + "FAULT", ansiGrey + "DISCONNECTED",
		"alice", "1.234", "0.37", "Madrid", "tickets 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("panel lacks %q:\n%s", want, out)
		}
	}
}

func TestPanelWithoutColourAndWithARowLimit(t *testing.T) {
	var b bytes.Buffer
	RenderPanel(&b, sampleSnapshot(), PanelOptions{MaxRows: 2, Now: time.Now()})
	out := b.String()
	if strings.Contains(out, "\x1b[") {
		t.Fatalf("colour codes without colour:\n%q", out)
	}
	if strings.Contains(out, "CP-003") || !strings.Contains(out, "... and 2 more") || !strings.Contains(out, "STOPPED 1") {
		t.Fatalf("row limit not applied:\n%s", out)
	}
}

func TestSummaryJSONHasTheContractKeys(t *testing.T) {
	r := stats.New()
	r.SuppliesStarted.Add(3)
	r.SuppliesCompleted.Add(2)
	r.SuppliesInterrupted.Add(1)
	r.Tickets.Add(3)
	r.AddEnergy(4.5, 1.35)
	path := filepath.Join(t.TempDir(), "summary.json")
	if err := WriteSummaryJSON(path, r.Snapshot()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var got map[string]float64
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := []string{"registered_cps", "supplies_started", "supplies_completed", "supplies_interrupted", "tickets",
		"kwh", "eur", "faults", "restarts", "kafka_records_out", "kafka_records_in", "startup_ms"}
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	if got["supplies_started"] != 3 || got["kwh"] != 4.5 || got["eur"] != 1.35 {
		t.Errorf("values wrong: %v", got)
	}
	var table bytes.Buffer
	PrintSummary(&table, r.Snapshot(), 3*time.Second)
	if !strings.Contains(table.String(), "supplies interrupted") || !strings.Contains(table.String(), "4.500") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestChaosPlanIsReproducibleAndFollowsTheRates(t *testing.T) {
	cfg := ChaosConfig{PanicRate: 0.01, KORate: 0.02, KOMin: 3 * time.Second, KOMax: 8 * time.Second, Seed: 7}
	var panics, kos int
	for tick := 1; tick <= 200; tick++ {
		a, b := ChaosPlan(cfg, tick, 100), ChaosPlan(cfg, tick, 100)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("tick %d: one seed, two plans", tick)
		}
		for _, ev := range a {
			if ev.Panic {
				panics++
			} else {
				kos++
				if ev.Length < cfg.KOMin || ev.Length >= cfg.KOMax {
					t.Fatalf("KO length %v out of bounds", ev.Length)
				}
			}
		}
	}
	// 20,000 engine-seconds: expect ~200 panics and ~200 KOs (a KO is drawn only when no panic is).
	if panics < 120 || panics > 290 || kos < 270 || kos > 520 {
		t.Fatalf("rates off: %d panics, %d KOs in 20000 engine-seconds", panics, kos)
	}
	if ChaosPlan(ChaosConfig{Seed: 7}, 1, 100) != nil {
		t.Fatal("zero rates must plan nothing")
	}
}

func TestScenarioWeatherSteps(t *testing.T) {
	steps, err := ParseScenario(strings.NewReader("30s weather Alicante -2\n40s weather San  Sebastian \u22120.5\n50s weather Alicante 3\n"), "w.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		city    string
		celsius float64
		text    string
	}{{"Alicante", -2, "weather Alicante -2"}, {"San Sebastian", -0.5, "weather San Sebastian -0.5"}, {"Alicante", 3, "weather Alicante 3"}}
	for i, w := range want {
		city, celsius, err := steps[i].Command.Weather()
		if err != nil || city != w.city || celsius != w.celsius || steps[i].Command.String() != w.text {
			t.Errorf("step %d: %q %g %v (%s), want %+v", i, city, celsius, err, steps[i].Command, w)
		}
	}
	for _, bad := range []string{"10s weather Alicante", "10s weather Alicante cold", "10s weather -2"} {
		if _, err := ParseScenario(strings.NewReader(bad), "w.txt"); err == nil || !strings.Contains(err.Error(), "w.txt line 1: weather:") {
			t.Errorf("%q: got %v", bad, err)
		}
	}
}

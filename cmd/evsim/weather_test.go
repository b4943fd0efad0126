package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A scenario freezes Alicante (CP-001, as evsim places its charge points)
// and thaws it: Central stops CP-001 with the weather's reason and brings it
// back; Madrid (CP-002) is untouched; the log stays clean.
func TestWeatherScenarioFreezesAndThawsACity(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "w.txt")
	if err := os.WriteFile(scenario, []byte("1s weather Alicante -2\n4s weather Alicante 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runEvsim(t, "--duration", "8s", "--seed", "5", "--scenario", scenario, "--weather-interval", "200ms", "--auth", "open")
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	assertIncidentFree(t, res.stderr)
	for _, want := range []string{"weather Alicante -2: done", "Weather alert for Alicante: \u22122 °C",
		"CP-001 STOPPED: weather alert: Alicante \u22122 °C", "Weather alert for Alicante cancelled: 5 °C",
		"CP-001 back in service: the weather alert is over"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(res.stderr, "CP-002 STOPPED") {
		t.Errorf("CP-002 (Madrid) was stopped")
	}
	if s := res.summary; s["tickets"] != s["supplies_started"] {
		t.Errorf("every supply must end in one ticket: %v", s)
	}
}

// badWeatherFile is a temperature file with a bad line.
func badWeatherFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(path, []byte("Alicante -2\nMadrid warm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// weatherStepFile is a scenario with a weather step.
func weatherStepFile(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "s.txt")
	if err := os.WriteFile(path, []byte("5s weather Alicante -2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

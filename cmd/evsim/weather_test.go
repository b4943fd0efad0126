package main

import (
	"bytes"
	"os"
	"os/exec"
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

func TestBadWeatherFlagsExitTwoNamingTheFlag(t *testing.T) {
	bin := evsimBinary(t)
	dir := t.TempDir()
	badFile := filepath.Join(dir, "t.txt")
	weatherStep := filepath.Join(dir, "s.txt")
	os.WriteFile(badFile, []byte("Alicante -2\nMadrid warm\n"), 0o644)
	os.WriteFile(weatherStep, []byte("5s weather Alicante -2\n"), 0o644)
	cases := map[string][]string{
		"--weather-provider":   {"--weather-provider", "sky"},
		"--weather-file":       {"--weather-file", badFile},
		"--openweather-key":    {"--weather-provider", "openweather"},
		"--scenario":           {"--weather-provider", "off", "--scenario", weatherStep},
		"--weather-interval":   {"--weather-interval", "0s"},
		"--openweather-url":    {"--openweather-url", "ftp://x"},
		"--weather-file (dir)": {"--weather-file", dir},
	}
	for name, args := range cases {
		flagName := strings.Fields(name)[0]
		cmd := exec.Command(bin, args...)
		cmd.Env = os.Environ()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 {
			t.Errorf("%v: want exit 2, got %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], flagName) {
			t.Errorf("%v: want one line naming %s, got %q", args, flagName, stderr.String())
		}
	}
}

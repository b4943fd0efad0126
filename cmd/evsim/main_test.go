package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// evsimBinary builds the real binary once per test run.
func evsimBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evsim-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "evsim")
		out, err := testutil.Command(t, "go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build evsim: %v", buildErr)
	}
	return binPath
}

// fastFlags make a run short: supplies of 2 s, half-second pauses.
var fastFlags = []string{
	"--embedded-broker", "127.0.0.1:0", "--db", ":memory:", "--panel", "off",
	"--supply-duration", "2s", "--driver-pause", "500ms", "--telemetry-interval", "250ms",
	"--health-interval", "250ms", "--health-timeout", "150ms", "--liveness-timeout", "1s",
}

type runResult struct {
	exit    int
	stdout  string
	stderr  string
	summary map[string]float64
}

func runEvsim(t *testing.T, args ...string) runResult {
	t.Helper()
	summaryPath := filepath.Join(t.TempDir(), "summary.json")
	args = append(append(append([]string{}, fastFlags...), args...), "--summary-json", summaryPath)
	cmd := testutil.Command(t, evsimBinary(t), args...)
	cmd.Env = append(os.Environ(), "EVSIM_LOG_FORMAT=text")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := runResult{stdout: stdout.String(), stderr: stderr.String()}
	if exit, ok := err.(*exec.ExitError); ok {
		res.exit = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(summaryPath); err == nil {
		if err := json.Unmarshal(b, &res.summary); err != nil {
			t.Fatalf("summary is not JSON: %v\n%s", err, b)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stderr of evsim %v:\n%s\nstdout:\n%s", args, tail(res.stderr, 60), res.stdout)
		}
	})
	return res
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var stackTrace = regexp.MustCompile(`(?m)^goroutine \d+ \[|^panic: |\.go:\d+ \+0x`)

// assertIncidentFree checks the rules' "incident-free": no ERROR line, no stack trace.
func assertIncidentFree(t *testing.T, log string) {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "| ERROR |") {
			t.Errorf("ERROR line: %s", line)
		}
	}
	if loc := stackTrace.FindStringIndex(log); loc != nil {
		t.Errorf("stack trace in the log near: %q", log[max(0, loc[0]-200):min(len(log), loc[1]+200)])
	}
}

func TestBadFlagExitsTwoNamingTheFlag(t *testing.T) {
	bin := evsimBinary(t)
	cases := map[string][]string{
		"--cps":        {"--cps", "many"},
		"--panel":      {"--panel", "3d"},
		"--log-format": {"--log-format", "xml"},
		"--requests":   {"--requests", "/no/such/file"},
		"--scenario":   {"--scenario", "/no/such/scenario"},
		// the weather office's (weather_test.go writes the files)
		"--weather-provider": {"--weather-provider", "sky"},
		"--weather-file":     {"--weather-file", badWeatherFile(t)},
		"--openweather-key":  {"--weather-provider", "openweather"},
		"--scenario ":        {"--weather-provider", "off", "--scenario", weatherStepFile(t)},
		"--weather-interval": {"--weather-interval", "0s"},
		"--openweather-url":  {"--openweather-url", "ftp://x"},
		"--topic-prefix":     {"--topic-prefix", "lab/a"},
	}
	for flagName, args := range cases {
		cmd := testutil.Command(t, bin, args...)
		cmd.Env = os.Environ()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		exit, ok := err.(*exec.ExitError)
		if !ok || exit.ExitCode() != 2 {
			t.Errorf("%v: want exit 2, got %v", args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], strings.TrimSpace(flagName)) {
			t.Errorf("%v: want one line naming %s, got %q", args, flagName, stderr.String())
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, func(string) (string, bool) { return "", false }, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestDefaultNetworkSuppliesAndTicketsIncidentFree runs the default network
// (5 charge points, alice, bob, charlie with the shipped request files) and
// checks that supplies and tickets flow, the summary adds up, and the log is clean.
func TestDefaultNetworkSuppliesAndTicketsIncidentFree(t *testing.T) {
	res := runEvsim(t, "--duration", "12s", "--seed", "1")
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	assertIncidentFree(t, res.stderr)
	s := res.summary
	if s == nil {
		t.Fatal("no summary JSON")
	}
	if s["registered_cps"] != 5 {
		t.Errorf("registered_cps %v, want 5", s["registered_cps"])
	}
	if s["supplies_started"] < 3 || s["tickets"] < 3 || s["kwh"] <= 0 || s["eur"] <= 0 {
		t.Errorf("too little happened in 12 s: %v", s)
	}
	if s["tickets"] != s["supplies_completed"]+s["supplies_interrupted"] {
		t.Errorf("tickets %v != completed %v + interrupted %v", s["tickets"], s["supplies_completed"], s["supplies_interrupted"])
	}
	if s["tickets"] != s["supplies_started"] {
		t.Errorf("every started supply must end in a ticket by the end of a clean run: %v", s)
	}
	if s["startup_ms"] <= 0 {
		t.Errorf("startup_ms not measured: %v", s)
	}
	for _, want := range []string{"Registered new CP: CP-001", "Sent START_SUPPLY to CP-", "Ticket for", "Run summary", "CP-099"} {
		if !strings.Contains(res.stderr+res.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestChaosRunRestartsWithoutStackTraces crashes and knocks out engines at
// random (seeded) and checks that supervisors restart them in clean lines.
func TestChaosRunRestartsWithoutStackTraces(t *testing.T) {
	res := runEvsim(t, "--duration", "12s", "--seed", "7", "--chaos-panic", "0.08", "--chaos-ko", "0.04")
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	assertIncidentFree(t, res.stderr)
	s := res.summary
	if s["restarts"] < 1 {
		t.Errorf("chaos caused no restart: %v", s)
	}
	if s["tickets"] != s["supplies_completed"]+s["supplies_interrupted"] {
		t.Errorf("tickets %v != completed %v + interrupted %v", s["tickets"], s["supplies_completed"], s["supplies_interrupted"])
	}
	if !strings.Contains(res.stderr, "Chaos: crashing the engine of") {
		t.Errorf("no chaos line in the log")
	}
}

// TestScenarioStepsAreCarriedOut runs a short scenario and checks each step's line.
func TestScenarioStepsAreCarriedOut(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "s.txt")
	os.WriteFile(scenario, []byte("1s stop CP-002\n2s ko CP-004\n3s resume all\n3s unko CP-004\n4s kill-monitor CP-001\n6s start-monitor CP-001\n"), 0o644)
	res := runEvsim(t, "--duration", "9s", "--seed", "3", "--scenario", scenario)
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	assertIncidentFree(t, res.stderr)
	for _, want := range []string{"stop CP-002: done", "ko CP-004: done", "resume all: done", "kill-monitor CP-001: done", "start-monitor CP-001: done"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("scenario line %q missing", want)
		}
	}
}

// TestKafkaNeverReadyExitsOne points evsim at a port where no Kafka answers.
func TestKafkaNeverReadyExitsOne(t *testing.T) {
	start := time.Now()
	res := runEvsim(t, "--brokers", "127.0.0.1:1", "--kafka-wait-attempts", "3", "--kafka-wait-seconds", "0.2")
	if res.exit != 1 {
		t.Fatalf("exit %d, want 1", res.exit)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %v to give up after 3 x 0.2 s", time.Since(start))
	}
	errors := 0
	for _, line := range strings.Split(res.stderr, "\n") {
		if strings.Contains(line, "| ERROR |") {
			errors++
			if !strings.Contains(line, "did not become available after 3 attempts") {
				t.Errorf("unexpected ERROR line: %s", line)
			}
		}
	}
	if errors != 1 {
		t.Errorf("want exactly one ERROR line, got %d", errors)
	}
	if stackTrace.MatchString(res.stderr) {
		t.Error("stack trace in the log")
	}
}

// TestThousandsOfChargePointsRunClean guards scale: with 3,000 charge points
// and 1,500 drivers at the default timings (telemetry, health and liveness
// every second), nothing may be marked faulty or disconnected by mistake and
// the log stays free of WARN lines. Quadratic paths that once crept into
// registration and shutdown fail this test. evsim runs ahead of the rest
// of the machine (nice -10): on a loaded machine it got 0.14 of a core
// (cpu_seconds 3.9 in 28 s), took 15.7 s to register 3,000 charge points and
// marked some DISCONNECTED, which says nothing about evsim's own paths.
func TestThousandsOfChargePointsRunClean(t *testing.T) {
	bin := evsimBinary(t)
	summaryPath := filepath.Join(t.TempDir(), "summary.json")
	cmd := testutil.FavouredCommand(t, bin, "--cps", "3000", "--drivers", "1500", "--duration", "15s", "--seed", "5",
		"--embedded-broker", "127.0.0.1:0", "--db", ":memory:", "--panel", "off", "--log-level", "warn",
		"--summary-json", summaryPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("evsim: %v\n%s", err, tail(stderr.String(), 30))
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("a 15 s run took %v: shutdown or start-up is too slow", took)
	}
	if log := strings.TrimSpace(stderr.String()); log != "" {
		t.Errorf("WARN or ERROR lines at 3,000 charge points:\n%s", tail(log, 20))
	}
	b, err := os.ReadFile(summaryPath)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]float64
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s["registered_cps"] != 3000 || s["faults"] != 0 || s["supplies_started"] < 1000 {
		t.Errorf("summary %v", s)
	}
	if s["tickets"] != s["supplies_started"] || s["tickets"] != s["supplies_completed"]+s["supplies_interrupted"] {
		t.Errorf("every supply must end in one ticket: %v", s)
	}
}

// TestLivePanelOnATerminal runs evsim on a real pseudo-terminal (util-linux's
// script, in every Debian system) and checks that it draws the live panel:
// redrawn in place, states in colour, live figures, then the summary.
func TestLivePanelOnATerminal(t *testing.T) {
	bin := evsimBinary(t)
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no util-linux script to give evsim a terminal")
	}
	command := bin + " --duration 8s --db :memory: --embedded-broker 127.0.0.1:0 --supply-duration 3s --driver-pause 500ms"
	cmd := testutil.Command(t, scriptBin, "-qfec", command, "/dev/null")
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("evsim on a terminal: %v\n%s", err, tail(string(out), 30))
	}
	screen := string(out)
	for name, want := range map[string]string{
		"cursor home (redraw in place)": "\x1b[H",
		"table header":                  "CP         STATE",
		"a supplying row in green":      "\x1b[1;32mSUPPLYING",
		"an activated row in green":     "\x1b[32mACTIVATED",
		"the log under the table":       "── log ",
		"the summary at the end":        "Run summary",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal shows no %s (%q)", name, want)
		}
	}
	if strings.Count(screen, "\x1b[H") < 5 {
		t.Errorf("the panel was drawn %d times in 8 s; want it refreshed", strings.Count(screen, "\x1b[H"))
	}
	if stackTrace.MatchString(screen) || strings.Contains(screen, "| ERROR |") {
		t.Errorf("stack trace or ERROR on the terminal:\n%s", tail(screen, 30))
	}
}

// TestProfilesAreWritten runs evsim with --cpu-profile and --mem-profile
// (the second through its environment variable) and checks that both files
// are Go profiles (gzip-compressed protobuf) that pprof can open.
func TestProfilesAreWritten(t *testing.T) {
	dir := t.TempDir()
	cpu, heap := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "heap.pprof")
	t.Setenv("EVSIM_MEM_PROFILE", heap)
	res := runEvsim(t, "--cps", "3", "--drivers", "1", "--duration", "2s", "--cpu-profile", cpu)
	if res.exit != 0 {
		t.Fatalf("exit %d", res.exit)
	}
	for _, p := range []string{cpu, heap} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("profile not written: %v", err)
		}
		if len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s is not a gzip-compressed profile (%d bytes)", p, len(b))
		}
	}
}

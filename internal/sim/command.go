package sim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/weather"
)

// Verb is an operator command, typed on evsim's stdin or timed in a scenario.
type Verb string

// The verbs. Each takes a target: a charge point id, a driver id, or "all"
// where the description says so.
const (
	VerbStop           Verb = "stop"            // CP|all: operator stop
	VerbResume         Verb = "resume"          // CP|all: operator resume
	VerbKO             Verb = "ko"              // CP: the engine fails
	VerbUnKO           Verb = "unko"            // CP: the engine recovers
	VerbPanicEngine    Verb = "panic-engine"    // CP: crash the engine actor
	VerbKillMonitor    Verb = "kill-monitor"    // CP: stop the monitor
	VerbStartMonitor   Verb = "start-monitor"   // CP: start the monitor again
	VerbKillDriver     Verb = "kill-driver"     // driver id
	VerbStartDriver    Verb = "start-driver"    // driver id
	VerbRestartCentral Verb = "restart-central" // no target
	VerbWeather        Verb = "weather"         // CITY CELSIUS: the file provider's temperature of a city
)

type verbSpec struct {
	target string // "cp", "cp|all", "driver", ""
	help   string
}

var verbs = map[Verb]verbSpec{
	VerbStop:           {"cp|all", "put a charge point (or all) out of order"},
	VerbResume:         {"cp|all", "put a stopped charge point (or all) back in service"},
	VerbKO:             {"cp", "make a charge point's engine fail"},
	VerbUnKO:           {"cp", "make a charge point's engine recover"},
	VerbPanicEngine:    {"cp", "crash the engine actor (its supervisor restarts it)"},
	VerbKillMonitor:    {"cp", "stop a charge point's monitor"},
	VerbStartMonitor:   {"cp", "start a charge point's monitor again"},
	VerbKillDriver:     {"driver", "stop a driver"},
	VerbStartDriver:    {"driver", "start a driver again"},
	VerbRestartCentral: {"", "stop Central and start it again"},
	VerbWeather:        {"city", "set a city's temperature (at 0 °C or below: a weather alert)"},
}

// Command is one parsed operator command.
type Command struct {
	Verb   Verb
	Target string // "" for restart-central; "all" allowed for stop/resume; "CITY CELSIUS" for weather
}

// Weather is a weather command's city and temperature.
func (c Command) Weather() (city string, celsius float64, err error) {
	return weather.ParseCityTemperature(strings.Fields(c.Target))
}

func (c Command) String() string {
	if c.Target == "" {
		return string(c.Verb)
	}
	return string(c.Verb) + " " + c.Target
}

// CommandHelp lists the verbs, one per line, for the stdin prompt and errors.
func CommandHelp() string {
	names := make([]string, 0, len(verbs))
	for v := range verbs {
		names = append(names, string(v))
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		spec := verbs[Verb(n)]
		arg := map[string]string{"cp": " CP", "cp|all": " CP|all", "driver": " DRIVER", "city": " CITY CELSIUS", "": ""}[spec.target]
		fmt.Fprintf(&b, "  %-22s %s\n", n+arg, spec.help)
	}
	return b.String()
}

// ParseCommand parses "verb [target]".
func ParseCommand(line string) (Command, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return Command{}, fmt.Errorf("empty command")
	}
	v := Verb(strings.ToLower(fields[0]))
	spec, ok := verbs[v]
	if !ok {
		return Command{}, fmt.Errorf("unknown command %q (try: stop, resume, ko, unko, panic-engine, kill-monitor, start-monitor, kill-driver, start-driver, restart-central, weather)", fields[0])
	}
	args := fields[1:]
	if v == VerbWeather {
		city, celsius, err := weather.ParseCityTemperature(args)
		if err != nil {
			return Command{}, fmt.Errorf("weather: %v", err)
		}
		return Command{Verb: v, Target: fmt.Sprintf("%s %g", city, celsius)}, nil
	}
	switch {
	case spec.target == "" && len(args) != 0:
		return Command{}, fmt.Errorf("%s takes no target", v)
	case spec.target != "" && len(args) != 1:
		return Command{}, fmt.Errorf("%s needs exactly one target", v)
	}
	c := Command{Verb: v}
	if len(args) == 1 {
		c.Target = args[0]
		if strings.EqualFold(c.Target, "all") {
			if spec.target != "cp|all" {
				return Command{}, fmt.Errorf("%s does not take \"all\"", v)
			}
			c.Target = "all"
		}
	}
	return c, nil
}

// Step is a command timed from the start of a run.
type Step struct {
	At      time.Duration
	Command Command
	Line    int
}

// ReadScenarioFile opens and parses a scenario file (see ParseScenario).
func ReadScenarioFile(path string) ([]Step, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseScenario(f, path)
}

// ParseScenario reads "<offset> <command> [target]" lines; blank lines and #
// comments are skipped. Steps come back sorted by time (stable for ties).
func ParseScenario(r io.Reader, name string) ([]Step, error) {
	var steps []Step
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at, rest, _ := strings.Cut(line, " ")
		d, err := time.ParseDuration(at)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s line %d: %q is not a time offset such as 10s", name, n, at)
		}
		cmd, err := ParseCommand(rest)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %v", name, n, err)
		}
		steps = append(steps, Step{At: d, Command: cmd, Line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At < steps[j].At })
	return steps, nil
}

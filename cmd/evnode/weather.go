package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/actors/weather"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/sim"
)

// runWeather is `evnode weather`: the weather office. It reads each city's
// temperature every --interval and publishes readings and alerts to Kafka,
// where Central (any number of lives of it) reads them.
func runWeather(parent context.Context, args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseWeather(args, getenv)
	if err != nil {
		return usageExit("weather", err, stderr)
	}
	steps, err := loadWeatherScenario(c.Scenario)
	if err != nil {
		return usageExit("weather", err, stderr)
	}
	seed := c.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	var provider weather.Provider
	var file *weather.FileProvider
	n, err := newNode("Weather office", c.Log, stderr)
	if err != nil {
		return usageExit("weather", err, stderr)
	}
	if c.Office.Provider == config.WeatherOpenWeather {
		provider = &weather.OpenWeather{URL: c.Office.OpenWeatherURL, Key: c.Office.OpenWeatherKey, Timeout: c.Office.OpenWeatherTimeout}
	} else {
		if file, err = weather.NewFileProvider(c.Office.File, seed, n.logger); err != nil {
			n.shutdown()
			return usageExit("weather", config.Usagef("file", "%v", err), stderr)
		}
		provider = file
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	defer n.shutdown()

	if err := os.MkdirAll(filepath.Dir(c.AuditLog), 0o755); err != nil {
		n.log.Errorf("Cannot create the audit log's folder: %v", err)
		return 1
	}
	auditLog, err := audit.Open(c.AuditLog, audit.Options{Sync: true})
	if err != nil {
		n.log.Errorf("Cannot open the audit log: %v", err)
		return 1
	}
	defer auditLog.Close()

	bridgePID, code, ok := n.gate(ctx, c.Kafka, "evnode-weather", nil)
	if !ok {
		return code
	}
	cfg := weather.Config{Bridge: bridgePID, Provider: provider, Interval: c.Office.Interval, Cities: c.Office.Cities,
		Audit: auditLog, Logger: n.logger}
	if c.CentralHTTP != "" {
		cfg.Locations = centralCities(c.CentralHTTP)
	}
	props, err := weather.Props(cfg)
	if err != nil {
		n.log.Errorf("Cannot configure the weather office: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	if _, err := n.spawnRole(supervision.Child{Name: weather.ActorName, Display: "Weather office", Props: props}, ""); err != nil {
		n.log.Errorf("Cannot start the weather office: %v", err)
		n.stopBridge(bridgePID)
		return 1
	}
	if len(steps) > 0 {
		go sim.RunScenario(ctx, weatherSteps{file: file}, steps, time.Now(), logging.Component(n.logger, "Scenario"))
	}

	code = n.wait(ctx)
	n.stopRole("")
	n.stopBridge(bridgePID)
	n.log.Info("Weather office stopped")
	return code
}

// loadWeatherScenario reads a scenario of weather steps only.
func loadWeatherScenario(path string) ([]sim.Step, error) {
	if path == "" {
		return nil, nil
	}
	steps, err := sim.ReadScenarioFile(path)
	if err != nil {
		return nil, config.Usagef("scenario", "%v", err)
	}
	for _, s := range steps {
		if s.Command.Verb != sim.VerbWeather {
			return nil, config.Usagef("scenario", "%s line %d: the weather office takes only \"OFFSET weather CITY CELSIUS\" steps", path, s.Line)
		}
	}
	return steps, nil
}

// weatherSteps carries out a scenario's weather steps on the file provider.
// It is a sim.Network for sim.RunScenario, whose other operations it does
// not have (nil): loadWeatherScenario lets only weather steps through.
type weatherSteps struct {
	sim.Network
	file *weather.FileProvider
}

// SetWeather implements sim.WeatherSetter.
func (w weatherSteps) SetWeather(_ context.Context, city string, celsius float64) error {
	w.file.SetTemperature(city, celsius)
	return nil
}

// centralCities reads the cities of the charge points from Central's API
// (/api/weather lists each city once, however many charge points it has).
func centralCities(base string) func(ctx context.Context) ([]string, error) {
	url := strings.TrimSuffix(base, "/") + "/api/weather?history=0"
	client := &http.Client{}
	return func(ctx context.Context) ([]string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		res, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s answered %s", url, res.Status)
		}
		var list struct {
			Cities []struct {
				City string `json:"city"`
			} `json:"cities"`
		}
		if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&list); err != nil {
			return nil, fmt.Errorf("read %s: %w", url, err)
		}
		out := make([]string, len(list.Cities))
		for i, c := range list.Cities {
			out[i] = c.City
		}
		return out, nil
	}
}

package main

import (
	"context"
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/actors/weather"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/sim"
)

// weatherOffice is evsim's weather office (--weather-provider).
type weatherOffice struct {
	pid  *actor.PID
	file *weather.FileProvider // nil unless the provider is file
}

// checkWeather reads the temperature file and refuses weather steps that no
// provider would take, before anything starts.
func checkWeather(cfg *config.Sim, steps []sim.Step) error {
	w := cfg.Weather
	if w.Provider == config.WeatherFile && w.File != "" {
		if _, err := weather.NewFileProvider(w.File, 0, nil); err != nil {
			return config.Usagef("weather-file", "%v", err)
		}
	}
	for _, s := range steps {
		if s.Command.Verb == sim.VerbWeather && w.Provider != config.WeatherFile {
			return config.Usagef("scenario", "line %d sets a temperature, which needs --weather-provider file (it is %s)", s.Line, w.Provider)
		}
	}
	return nil
}

// startWeather starts the weather office for the network's cities, unless
// it is off. Its alerts go to Central through Kafka, as from evnode weather.
func (r *runner) startWeather(system *actor.ActorSystem, bridgePID *actor.PID, cps []network.ChargePoint, seed int64, log *audit.Log) (*weatherOffice, error) {
	w := r.cfg.Weather
	if w.Provider == config.WeatherOff {
		return nil, nil
	}
	office := &weatherOffice{}
	var provider weather.Provider
	if w.Provider == config.WeatherOpenWeather {
		provider = &weather.OpenWeather{URL: w.OpenWeatherURL, Key: w.OpenWeatherKey, Timeout: w.OpenWeatherTimeout}
	} else {
		file, err := weather.NewFileProvider(w.File, seed, r.logger)
		if err != nil {
			return nil, err
		}
		office.file, provider = file, file
	}
	// The network's cities are known here: no need to ask Central for its
	// charge points (a snapshot of many thousands) every round.
	cities := append([]string(nil), w.Cities...)
	seen := map[string]bool{}
	for _, cp := range cps {
		if c := weather.CityOf(cp.Location); c != "" && !seen[c] {
			seen[c] = true // once each: the office reads its list every round
			cities = append(cities, c)
		}
	}
	pid, err := weather.Start(system, weather.Config{Bridge: bridgePID, Provider: provider, Interval: w.Interval,
		Cities: cities, Audit: log, Logger: r.logger}, supervision.DefaultBudget(), r.stats)
	if err != nil {
		return nil, err
	}
	office.pid = pid
	return office, nil
}

// stop stops the office (before the bridge it publishes through).
func (o *weatherOffice) stop(system *actor.ActorSystem) {
	if o != nil {
		_ = system.Root.StopFuture(o.pid).Wait()
	}
}

// SetWeather implements sim.WeatherSetter: a scenario's or the operator's
// "weather CITY CELSIUS".
func (o *operations) SetWeather(_ context.Context, city string, celsius float64) error {
	if o.weather == nil || o.weather.file == nil {
		return errors.New("the weather office of this run does not take temperatures (it needs --weather-provider file)")
	}
	o.weather.file.SetTemperature(city, celsius)
	return nil
}

var _ sim.WeatherSetter = (*operations)(nil)

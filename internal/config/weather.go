package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Weather providers (--provider, evsim's --weather-provider).
const (
	WeatherFile        = "file"
	WeatherOpenWeather = "openweather"
	// WeatherOff (evsim only) runs no weather office.
	WeatherOff = "off"
)

// WeatherOffice configures a weather office: evsim's (flags prefixed
// weather-) or `evnode weather`'s.
type WeatherOffice struct {
	// Provider is file (default), openweather, or (evsim) off.
	Provider string
	// Interval is how often every city is read.
	Interval time.Duration
	// File is the file provider's "CITY CELSIUS" file; empty = none.
	File string
	// Cities are read besides the charge points' cities.
	Cities []string
	// OpenWeatherURL, OpenWeatherKey and OpenWeatherTimeout configure the
	// openweather provider.
	OpenWeatherURL     string
	OpenWeatherKey     string
	OpenWeatherTimeout time.Duration
}

// DefaultOpenWeatherURL is OpenWeather's current-weather endpoint.
const DefaultOpenWeatherURL = "https://api.openweathermap.org/data/2.5/weather"

// addWeatherFlags registers a weather office's flags; prefix is "weather-"
// in evsim (--weather-provider ...) and "" in evnode weather (--provider ...).
func addWeatherFlags(fs *FlagSet, w *WeatherOffice, prefix string, cities *string) {
	providers := "file (offline: --" + prefix + "file and scenario steps) or openweather"
	if prefix != "" {
		providers += ", or off (no weather office)"
	}
	fs.String(&w.Provider, prefix+"provider", "", WeatherFile, "where the weather office reads temperatures: "+providers)
	fs.Duration(&w.Interval, prefix+"interval", "", 4*time.Second, "how often the weather office reads every city's temperature")
	fs.String(&w.File, prefix+"file", "", "", "file provider: a file of \"CITY CELSIUS\" lines, read again when it changes; a city not in it gets a mild temperature drawn from the seed")
	fs.String(cities, prefix+"cities", "", "", "comma-separated cities read besides those of the charge points' locations")
	fs.String(&w.OpenWeatherURL, "openweather-url", "", DefaultOpenWeatherURL, "openweather provider: the current-weather endpoint")
	fs.String(&w.OpenWeatherKey, "openweather-key", "", "", "openweather provider: the API key (required with it)")
	fs.Duration(&w.OpenWeatherTimeout, "openweather-timeout", "", 3*time.Second, "openweather provider: how long one request may take")
}

// validate checks the office's flags; prefix as in addWeatherFlags.
func (w *WeatherOffice) validate(prefix, cities string) error {
	w.Cities = nil
	for _, c := range strings.Split(cities, ",") {
		if c = strings.TrimSpace(c); c != "" {
			w.Cities = append(w.Cities, c)
		}
	}
	switch {
	case w.Provider != WeatherFile && w.Provider != WeatherOpenWeather && (prefix == "" || w.Provider != WeatherOff):
		return Usagef(prefix+"provider", "%q is not file, openweather%s", w.Provider, map[bool]string{true: " or off", false: ""}[prefix != ""])
	case w.Provider == WeatherOff:
		return nil
	case w.Interval < 10*time.Millisecond:
		return Usagef(prefix+"interval", "%v must be at least 10ms", w.Interval)
	case w.Provider == WeatherOpenWeather && w.OpenWeatherKey == "":
		return Usagef("openweather-key", "must be given with --%sprovider openweather (or EVSIM_OPENWEATHER_KEY)", prefix)
	case w.OpenWeatherTimeout <= 0:
		return Usagef("openweather-timeout", "must be more than 0")
	}
	if u, err := url.Parse(w.OpenWeatherURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Usagef("openweather-url", "%q is not an http(s) URL", w.OpenWeatherURL)
	}
	if w.File != "" {
		if fi, err := os.Stat(w.File); err != nil {
			return Usagef(prefix+"file", "%v", err)
		} else if fi.IsDir() {
			return Usagef(prefix+"file", "%s is a folder, not a file of \"CITY CELSIUS\" lines", w.File)
		}
	}
	return nil
}

// --- evnode weather ----------------------------------------------------------

// Weather is the configuration of `evnode weather`.
type Weather struct {
	Kafka  Kafka
	Log    Log
	Office WeatherOffice
	// CentralHTTP, when set, is Central's web address: the office reads the
	// charge points' cities from its /api/weather.
	CentralHTTP string
	// AuditLog records every alert raised and cancelled.
	AuditLog string
	// Seed draws the file provider's temperatures; 0 = time-based.
	Seed int64
	// Scenario is a file of timed "OFFSET weather CITY CELSIUS" steps.
	Scenario string
	cities   string
}

// WeatherFlags registers every flag of `evnode weather` on a new FlagSet.
func WeatherFlags(c *Weather) *FlagSet {
	fs := NewFlagSet("evnode weather")
	AddKafkaFlags(fs, &c.Kafka, DefaultNodeBrokers)
	AddLogFlags(fs, &c.Log)
	addWeatherFlags(fs, &c.Office, "", &c.cities)
	fs.String(&c.CentralHTTP, "central-http", "", "", "Central's web address (e.g. http://127.0.0.1:8080): read the charge points' cities from its /api/weather")
	fs.String(&c.AuditLog, "audit-log", "", filepath.Join(DefaultNodeDataDir, "weather-audit.log"), "the audit log of alerts raised and cancelled")
	fs.Int64(&c.Seed, "seed", "", 0, "file provider: the seed of the temperatures of cities not in the file; 0 = time-based")
	fs.String(&c.Scenario, "scenario", "", "", "a file of timed steps \"OFFSET weather CITY CELSIUS\" (file provider)")
	return fs
}

// ParseWeather parses args and the environment into a validated Weather.
func ParseWeather(args []string, getenv func(string) (string, bool)) (*Weather, error) {
	c := &Weather{}
	if err := parse(WeatherFlags(c), args, getenv, &c.Kafka, c.Validate); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks every field.
func (c *Weather) Validate() error {
	if err := validateNode(&c.Kafka, &c.Log, true); err != nil {
		return err
	}
	if err := c.Office.validate("", c.cities); err != nil {
		return err
	}
	if c.CentralHTTP != "" {
		if u, err := url.Parse(c.CentralHTTP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Usagef("central-http", "%q is not an http(s) URL such as http://127.0.0.1:8080", c.CentralHTTP)
		}
	}
	switch {
	case c.AuditLog == "":
		return Usagef("audit-log", "must not be empty")
	case c.Scenario != "" && c.Office.Provider != WeatherFile:
		return Usagef("scenario", "sets temperatures of the file provider; --provider is %s", c.Office.Provider)
	}
	return nil
}

package weather

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Provider reads a city's temperature.
type Provider interface {
	// Name names the provider in logs and readings (e.g. "file").
	Name() string
	// Read returns the city's temperature in °C. A failure is a *ReadError
	// (or any error, counted as "unavailable"); it must return by the
	// context's deadline.
	Read(ctx context.Context, city string) (float64, error)
}

// CityLister is a Provider that knows cities of its own (e.g. the cities of
// a temperature file); the office reads them as well as the charge points'.
type CityLister interface {
	Cities() []string
}

// Kinds of failure of a reading; the office warns once per kind.
const (
	FailTimeout      = "timeout"
	FailUnauthorized = "unauthorized"
	FailRateLimited  = "rate limited"
	FailMalformed    = "malformed answer"
	FailNotFound     = "city not found"
	FailUnavailable  = "unavailable"
)

// ReadError is a failed reading: its kind and what happened.
type ReadError struct {
	Kind   string
	Detail string
}

func (e *ReadError) Error() string { return e.Kind + ": " + e.Detail }

// failKind is the kind of a reading's failure.
func failKind(err error) string {
	var re *ReadError
	if errors.As(err, &re) {
		return re.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return FailTimeout
	}
	return FailUnavailable
}

// CityOf is the city of a charge point's location: the text before the
// first comma or " · " ("Madrid · Gran Vía 30" is in Madrid). The default
// location of a charge point with none ("Site CP-001", "unknown") names no
// city: "".
func CityOf(location string) string {
	city := location
	if i := strings.Index(city, " · "); i >= 0 {
		city = city[:i]
	}
	if i := strings.Index(city, ","); i >= 0 {
		city = city[:i]
	}
	city = strings.Join(strings.Fields(city), " ")
	if city == "" || strings.EqualFold(city, "unknown") || strings.HasPrefix(city, "Site ") {
		return ""
	}
	return city
}

// CityKey is how cities are compared: case and spacing do not matter.
func CityKey(city string) string { return strings.ToLower(strings.Join(strings.Fields(city), " ")) }

// Alerting says whether a temperature puts its city under an alert.
func Alerting(celsius float64) bool { return celsius <= 0 }

// FormatCelsius writes a temperature as a person reads it: "−2 °C",
// "12.5 °C" (a true minus sign, one decimal at most, never "−0").
func FormatCelsius(c float64) string {
	r := math.Round(c*10) / 10
	if r == 0 {
		r = 0 // no negative zero
	}
	s := strconv.FormatFloat(r, 'f', -1, 64)
	return strings.Replace(s, "-", "\u2212", 1) + " °C"
}

// ParseCelsius reads a temperature such as "-2" or "12.5".
func ParseCelsius(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.Replace(s, "\u2212", "-", 1), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < -100 || v > 70 {
		return 0, fmt.Errorf("%q is not a temperature in °C (-100 to 70)", s)
	}
	return v, nil
}

// ParseCityTemperature reads "CITY CELSIUS" (the city may have spaces: the
// temperature is the last word).
func ParseCityTemperature(fields []string) (string, float64, error) {
	if len(fields) < 2 {
		return "", 0, errors.New("want a city and a temperature, e.g. \"Alicante -2\"")
	}
	c, err := ParseCelsius(fields[len(fields)-1])
	if err != nil {
		return "", 0, err
	}
	return strings.Join(fields[:len(fields)-1], " "), c, nil
}

// unionCities merges lists of cities, first spelling wins, sorted by key.
func unionCities(lists ...[]string) []string {
	seen := map[string]string{}
	for _, l := range lists {
		for _, c := range l {
			k := CityKey(c)
			if k == "" {
				continue
			}
			if _, ok := seen[k]; !ok {
				seen[k] = strings.Join(strings.Fields(c), " ")
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = seen[k]
	}
	return out
}

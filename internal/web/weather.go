package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/weather"
)

// The weather of the charge points' cities: GET /api/weather (every city)
// and GET /api/weather/{city}, each with a bounded temperature history.

// Bounds of a city's history (?history=N readings, newest last).
const (
	defaultWeatherHistory = 90
	maxWeatherHistory     = 360
)

// errNoWeather: the panel behind the server has no weather (a Central of
// another build, or a test's fake).
var errNoWeather = errors.New("this server's Central shows no weather")

// CityWeather is one city as GET /api/weather shows it.
type CityWeather struct {
	City string `json:"city"`
	// Celsius is the last reading, taken at At; both null before the first.
	Celsius *float64   `json:"celsius"`
	At      *time.Time `json:"at"`
	// Alert: the city is at 0 °C or below and its charge points are out of
	// service, since AlertSince, with Reason (e.g. "weather alert: Alicante −2 °C").
	Alert      bool       `json:"alert"`
	AlertSince *time.Time `json:"alert_since"`
	Reason     string     `json:"reason"`
	// ChargePoints are the ids of the city's charge points, sorted, the
	// first 100; ChargePointsTotal counts them all.
	ChargePoints      []string `json:"chargepoints"`
	ChargePointsTotal int      `json:"chargepoints_total"`
	// History are the last readings, oldest first.
	History []WeatherPoint `json:"history"`
}

// WeatherPoint is one reading.
type WeatherPoint struct {
	At      time.Time `json:"at"`
	Celsius float64   `json:"celsius"`
}

// WeatherList answers GET /api/weather.
type WeatherList struct {
	Cities []CityWeather `json:"cities"`
	// Alerts counts the cities under an alert.
	Alerts int `json:"alerts"`
}

// weatherRoutes registers the weather endpoints.
func (s *Server) weatherRoutes(mux *routeMux) {
	mux.HandleFunc("GET /api/weather", s.listWeather)
	mux.HandleFunc("GET /api/weather/{city}", s.getWeather)
	for _, p := range []string{"/api/weather", "/api/weather/{city}"} {
		mux.Handle(p, methodNotAllowed("GET, HEAD"))
	}
}

// Weather implements central.WeatherPanel when the panel set does.
func (s *PanelSlot) Weather(ctx context.Context) (*central.WeatherReport, error) {
	p, err := s.panel()
	if err != nil {
		return nil, err
	}
	wp, ok := p.(central.WeatherPanel)
	if !ok {
		return nil, errNoWeather
	}
	return wp.Weather(ctx)
}

// weatherReport asks Central; it writes the error answer and returns false
// when there is no report.
func (s *Server) weatherReport(w http.ResponseWriter, r *http.Request) (*central.WeatherReport, int, bool) {
	n := defaultWeatherHistory
	if q := r.URL.Query().Get("history"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil || v < 0 || v > maxWeatherHistory {
			writeError(w, http.StatusBadRequest, "history must be a number of readings from 0 to "+strconv.Itoa(maxWeatherHistory))
			return nil, 0, false
		}
		n = v
	}
	wp, ok := s.opts.Panel.(central.WeatherPanel)
	if !ok {
		writeError(w, http.StatusNotFound, errNoWeather.Error())
		return nil, 0, false
	}
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	rep, err := wp.Weather(ctx)
	switch {
	case errors.Is(err, errNoWeather):
		writeError(w, http.StatusNotFound, err.Error())
		return nil, 0, false
	case err != nil:
		s.centralUnreachable(w, r, err)
		return nil, 0, false
	}
	return rep, n, true
}

func (s *Server) listWeather(w http.ResponseWriter, r *http.Request) {
	rep, n, ok := s.weatherReport(w, r)
	if !ok {
		return
	}
	out := WeatherList{Cities: make([]CityWeather, 0, len(rep.Cities))}
	for i := range rep.Cities {
		c := toCityWeather(&rep.Cities[i], n)
		if c.Alert {
			out.Alerts++
		}
		out.Cities = append(out.Cities, c)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getWeather(w http.ResponseWriter, r *http.Request) {
	rep, n, ok := s.weatherReport(w, r)
	if !ok {
		return
	}
	key := weather.CityKey(r.PathValue("city"))
	for i := range rep.Cities {
		if weather.CityKey(rep.Cities[i].City) == key {
			writeJSON(w, http.StatusOK, toCityWeather(&rep.Cities[i], n))
			return
		}
	}
	writeError(w, http.StatusNotFound, "no weather for "+strconv.Quote(r.PathValue("city")))
}

func toCityWeather(c *central.CityWeather, n int) CityWeather {
	h := c.History
	if len(h) > n {
		h = h[len(h)-n:]
	}
	out := CityWeather{City: c.City, Alert: c.Alert, Reason: c.Reason, ChargePoints: c.ChargePoints,
		ChargePointsTotal: c.ChargePointCount, History: make([]WeatherPoint, len(h))}
	if out.ChargePoints == nil {
		out.ChargePoints = []string{}
	}
	for i, p := range h {
		out.History[i] = WeatherPoint{At: p.At.UTC(), Celsius: p.Celsius}
	}
	if !c.At.IsZero() {
		celsius, at := c.Celsius, c.At.UTC()
		out.Celsius, out.At = &celsius, &at
	}
	if c.Alert && !c.AlertSince.IsZero() {
		since := c.AlertSince.UTC()
		out.AlertSince = &since
	}
	return out
}

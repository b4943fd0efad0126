package weather_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/weather"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

const wait = 10 * time.Second

// fakeOpenWeather answers as OpenWeather's current-weather API does, in the
// way the test tells it to: a temperature, a status with OpenWeather's
// error body, a malformed body, or no answer at all (a hung server).
type fakeOpenWeather struct {
	mu       sync.Mutex
	mode     string // "ok", "401", "429", "malformed", "hang"
	celsius  float64
	requests map[string]int // per mode
	key      string
}

func (f *fakeOpenWeather) set(mode string, celsius float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.celsius = mode, celsius
}

func (f *fakeOpenWeather) served(mode string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[mode]
}

func (f *fakeOpenWeather) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode, c := f.mode, f.celsius
	f.requests[mode]++
	f.mu.Unlock()
	q := r.URL.Query()
	if r.URL.Path != "/data/2.5/weather" || q.Get("units") != "metric" || q.Get("appid") != f.key {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch mode {
	case "ok":
		fmt.Fprintf(w, `{"coord":{"lon":-0.4815,"lat":38.3452},"weather":[{"id":800,"main":"Clear","description":"clear sky","icon":"01d"}],`+
			`"base":"stations","main":{"temp":%g,"feels_like":%g,"temp_min":%g,"temp_max":%g,"pressure":1021,"humidity":60},`+
			`"visibility":10000,"wind":{"speed":3.6,"deg":80},"clouds":{"all":0},"dt":1764316800,"sys":{"country":"ES"},`+
			`"timezone":3600,"id":2521978,"name":%q,"cod":200}`, c, c-1, c-1, c+1, q.Get("q"))
	case "401":
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"cod":401, "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."}`)
	case "429":
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"cod":429, "message": "Your account is temporary blocked due to exceeding of requests limitation of your subscription type."}`)
	case "malformed":
		fmt.Fprint(w, `{"coord":{"lon":-0.48,"lat":38.34},"main":{"temp":"cold"`)
	case "hang":
		<-r.Context().Done() // never answers: the client's timeout ends it
	}
}

// Each failure of OpenWeather (timeout, 401, 429, malformed JSON) keeps the
// last reading and the city's alert: nothing is published for the city
// while it fails, one WARN per kind of failure however many rounds it
// lasts, and the next good reading is used as usual.
func TestOpenWeatherFailuresKeepTheLastReading(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	fake := &fakeOpenWeather{requests: map[string]int{}, key: "k3y"}
	fake.set("ok", -2)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	provider := &weather.OpenWeather{URL: srv.URL + "/data/2.5/weather", Key: "k3y", Timeout: 100 * time.Millisecond}
	props, err := weather.Props(weather.Config{Bridge: br.PID, Provider: provider, Interval: 20 * time.Millisecond,
		Cities: []string{"Alicante"}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)

	readings := func() []*messages.WeatherReading {
		var out []*messages.WeatherReading
		for _, m := range br.Published(bridge.TopicWeatherReadings) {
			out = append(out, m.(*messages.WeatherReading))
		}
		return out
	}
	alerts := func() []*messages.WeatherAlert {
		var out []*messages.WeatherAlert
		for _, m := range br.Published(bridge.TopicWeatherAlerts) {
			out = append(out, m.(*messages.WeatherAlert))
		}
		return out
	}
	testkit.Eventually(t, wait, func() bool { return len(alerts()) == 1 }, func() string { return "no alert at -2 °C" })
	if a := alerts()[0]; !a.GetActive() || a.GetCity() != "Alicante" || a.GetCelsius() != -2 {
		t.Fatalf("alert %v", a)
	}

	for _, failure := range []struct{ mode, warn string }{
		{"hang", "OpenWeather did not answer within 100ms"},
		{"401", "OpenWeather refused the API key (401: Invalid API key"},
		{"429", "OpenWeather limits the requests (429"},
		{"malformed", "OpenWeather's answer is not the JSON expected"},
	} {
		fake.set(failure.mode, 0)
		// Settle: a round that started before the switch may still publish.
		testkit.Eventually(t, wait, func() bool { return fake.served(failure.mode) >= 1 }, func() string { return failure.mode + " never served" })
		before := len(readings())
		testkit.Eventually(t, wait, func() bool { return fake.served(failure.mode) >= 4 }, func() string { return failure.mode + " served fewer than 4 times" })
		if got := len(readings()); got > before+1 {
			t.Errorf("%s: %d readings published while OpenWeather failed", failure.mode, got-before)
		}
		if got := logs.Lines("WARN", "No reading for Alicante from openweather", failure.warn, "keeping its last reading, \u22122 °C"); len(got) != 1 {
			t.Errorf("%s: want one WARN naming the failure and the kept reading, got %q", failure.mode, logs.Lines("WARN"))
		}
		if got := alerts(); len(got) != 1 {
			t.Fatalf("%s: the alert changed while OpenWeather failed: %v", failure.mode, got)
		}
	}
	if strings.Contains(logs.String(), "panic") || len(logs.Lines("ERROR")) > 0 {
		t.Fatalf("no crash, no ERROR expected:\n%s", strings.Join(logs.Lines("ERROR"), "\n"))
	}

	// Readings again: above 0 °C cancels the alert.
	fake.set("ok", 3.5)
	testkit.Eventually(t, wait, func() bool { return len(alerts()) == 2 }, func() string { return "no cancel at 3.5 °C" })
	if a := alerts()[1]; a.GetActive() || a.GetCelsius() != 3.5 {
		t.Fatalf("cancel %v", a)
	}
	if got := logs.Lines("INFO", "Readings for Alicante from openweather again (after: malformed answer)"); len(got) == 0 {
		t.Errorf("no INFO line when readings came again")
	}
}

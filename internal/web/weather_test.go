package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// weatherPanel is the fake Central with a weather report: Alicante froze
// over its last readings (an alert), Madrid is mild.
type weatherPanel struct {
	*webtest.Panel
	mu     sync.Mutex
	report central.WeatherReport
}

func (p *weatherPanel) Weather(context.Context) (*central.WeatherReport, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.report
	return &r, nil
}

func newWeatherPanel(n int) *weatherPanel {
	now := time.Now().Add(-time.Second)
	var alicante, madrid []central.WeatherPoint
	for i := 0; i < 120; i++ {
		at := now.Add(time.Duration(i-119) * 4 * time.Second)
		c := 6 - float64(i)*0.07 // 6 °C down to -2.3 °C
		alicante = append(alicante, central.WeatherPoint{At: at, Celsius: c})
		madrid = append(madrid, central.WeatherPoint{At: at, Celsius: 12 + float64(i%7)*0.1})
	}
	last := alicante[len(alicante)-1]
	return &weatherPanel{Panel: webtest.NewPanel(n), report: central.WeatherReport{Cities: []central.CityWeather{
		{City: "Alicante", Celsius: last.Celsius, At: last.At, Alert: true, AlertSince: now.Add(-40 * time.Second),
			Reason: "weather alert: Alicante \u22122 °C", ChargePoints: []string{"CP-001"}, ChargePointCount: 1, History: alicante},
		{City: "Madrid", Celsius: 12.6, At: now, ChargePoints: []string{"CP-002"}, ChargePointCount: 1, History: madrid},
		{City: "Valencia", ChargePoints: []string{"CP-003"}, ChargePointCount: 1},
	}}}
}

func TestWeatherAPI(t *testing.T) {
	p := newWeatherPanel(3)
	r := newRig(t, 0, func(o *web.Options) { o.Panel = p })
	var list web.WeatherList
	r.getJSON(t, "/api/weather", http.StatusOK, &list)
	if len(list.Cities) != 3 || list.Alerts != 1 {
		t.Fatalf("cities %d, alerts %d", len(list.Cities), list.Alerts)
	}
	a := list.Cities[0]
	if a.City != "Alicante" || !a.Alert || a.Reason != "weather alert: Alicante \u22122 °C" || a.Celsius == nil || *a.Celsius > 0 ||
		a.AlertSince == nil || len(a.History) != 90 || strings.Join(a.ChargePoints, ",") != "CP-001" || a.ChargePointsTotal != 1 {
		t.Errorf("Alicante: %+v", a)
	}
	if v := list.Cities[2]; v.Celsius != nil || v.At != nil || len(v.History) != 0 || v.History == nil {
		t.Errorf("a city without readings: %+v", v)
	}
	var one web.CityWeather
	r.getJSON(t, "/api/weather/madrid?history=5", http.StatusOK, &one)
	if one.City != "Madrid" || one.Alert || len(one.History) != 5 || one.AlertSince != nil {
		t.Errorf("Madrid: %+v", one)
	}
	var e struct{ Error string }
	r.getJSON(t, "/api/weather/Oslo", http.StatusNotFound, &e)
	r.getJSON(t, "/api/weather?history=1000", http.StatusBadRequest, &e)
	if !strings.Contains(e.Error, "history") {
		t.Errorf("error %q does not name history", e.Error)
	}
	if code, h, _ := r.do(t, http.MethodPost, "/api/weather", ""); code != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /api/weather: %d, Allow %q", code, h.Get("Allow"))
	}
	// A Central without weather (the plain fake): 404, and the page hides the view.
	plain := newRig(t, 2, nil)
	plain.getJSON(t, "/api/weather", http.StatusNotFound, &e)
}

// The weather view in a real browser: a card per city, the alerted city
// marked and chosen, its temperature history drawn with the freezing band
// and 0 °C line; another city's plot on a click. Saves weather-view.png.
// With EVSIM_E2E_URL (e2e/against-evsim.sh) it checks a real evsim whose
// office reads Oslo at -5 °C from its file: an alert with no charge point.
func TestBrowserWeatherView(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	base := os.Getenv("EVSIM_E2E_URL")
	want := weatherWant{cards: 3, alerted: "Alicante", temp: "\u22122.3 °C", reason: "weather alert: Alicante \u22122 °C", dots: 120, other: "Madrid"}
	if base == "" {
		p := newWeatherPanel(5)
		base = newRig(t, 0, func(o *web.Options) { o.Panel = p }).http.URL
	} else {
		want = weatherWant{cards: 6, alerted: "Oslo", temp: "\u22125 °C", reason: "weather alert: Oslo \u22125 °C", dots: 3, other: "Alicante"}
	}
	ctx := browser(t, chrome, 60*time.Second)
	checkWeatherView(t, ctx, base, want, artifacts(t))
}

// weatherWant is what the weather view must show.
type weatherWant struct {
	cards         int
	alerted, temp string
	reason        string
	dots          int    // at least this many readings drawn
	other         string // a city without an alert
}

func checkWeatherView(t *testing.T, ctx context.Context, base string, want weatherWant, out string) {
	t.Helper()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var ready bool
	run("open the panel and wait for the weather cards and the alerted city's readings",
		chromedp.Navigate(base+"/"),
		chromedp.Poll(fmt.Sprintf(`document.querySelectorAll('#weather .wx-city').length === %d &&
			document.querySelectorAll('#weather .wx-detail circle.dot').length >= %d`, want.cards, want.dots),
			&ready, chromedp.WithPollingTimeout(30*time.Second)))
	var view struct {
		Count   string `json:"count"`
		Alerted string `json:"alerted"`
		Temp    string `json:"temp"`
		Chosen  string `json:"chosen"`
		Reason  string `json:"reason"`
		Dots    int    `json:"dots"`
		Cold    int    `json:"cold"`
		Zero    bool   `json:"zero"`
		Band    bool   `json:"band"`
	}
	run("read the view", chromedp.Evaluate(`(() => {
		const w = document.getElementById('weather');
		const plot = w.querySelector('.wx-detail svg.wx-plot');
		return {
			count: w.querySelector('h2 .count').textContent,
			alerted: [...w.querySelectorAll('.wx-city.alert .name')].map(e => e.textContent).join(','),
			temp: w.querySelector('.wx-city.alert .temp').textContent,
			chosen: w.querySelector('.wx-city[aria-pressed="true"] .name').textContent,
			reason: w.querySelector('.wx-detail .reason').textContent,
			dots: plot.querySelectorAll('circle.dot').length,
			cold: plot.querySelectorAll('circle.dot.cold').length,
			zero: plot.querySelector('line.zero') !== null,
			band: plot.querySelector('rect.freeze').getAttribute('height') > 0,
		}; })()`, &view))
	if view.Count != "1 city under a weather alert" || view.Alerted != want.alerted || view.Temp != want.temp ||
		view.Chosen != want.alerted || view.Reason != want.reason {
		t.Errorf("weather view: %+v, want %+v", view, want)
	}
	// Readings at or below 0 °C are drawn in the cold colour, the others not.
	if view.Dots < want.dots || view.Cold == 0 || view.Cold == view.Dots && want.alerted == "Alicante" || !view.Zero || !view.Band {
		t.Errorf("plot: %+v", view)
	}
	var shot []byte
	run("screenshot", chromedp.FullScreenshot(&shot, 100))
	path := filepath.Join(out, "weather-view.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	var chosen string
	run("choose "+want.other, chromedp.Click(`#weather .wx-city[data-city="`+want.other+`"]`, chromedp.ByQuery),
		chromedp.Poll(`(() => { const h = document.querySelector('#weather .wx-detail .head b');
			return h && h.textContent === '`+want.other+`' && document.querySelectorAll('#weather .wx-detail circle.dot.cold').length === 0 && h.textContent; })()`,
			&chosen, chromedp.WithPollingTimeout(5*time.Second)))
}

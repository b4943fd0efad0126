package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// The driver app and the panel's plots in a real Chromium, on the real
// Central, engines and monitors (or, with EVSIM_E2E_URL, on a running
// evsim: internal/web/e2e/against-evsim.sh). Screenshots go to
// EVSIM_E2E_ARTIFACTS.

// driverE2E is the server under test: in-process real network, or a
// running evsim.
func driverE2E(t *testing.T) (base, token string) {
	t.Helper()
	if base, token = os.Getenv("EVSIM_E2E_URL"), os.Getenv("EVSIM_E2E_TOKEN"); base != "" {
		return base, token
	}
	cities := []string{"Alicante", "Madrid", "Valencia"}
	_, r := realNetwork(t, func(c *network.Config) {
		c.SupplyDuration = 4 * time.Second
		c.TelemetryInterval = 200 * time.Millisecond
		for i := range c.ChargePoints {
			c.ChargePoints[i].Location = cities[i%len(cities)]
		}
	}, "CP-001", "CP-002", "CP-003")
	eventually(t, "three ACTIVATED charge points", func() bool {
		var cps []web.ChargePoint
		r.getJSON(t, "/api/chargepoints?state=ACTIVATED", http.StatusOK, &cps)
		return len(cps) == 3
	})
	return r.http.URL, testToken
}

func TestBrowserDriverApp(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	base, token := driverE2E(t)
	ctx := browser(t, chrome, 90*time.Second)
	checkDriverAppInBrowser(t, ctx, base, token, artifacts(t))
	checkPlotsInBrowser(t, ctx, base, artifacts(t))
}

// operatorPost sends an operator action and returns the body.
func operatorPost(t *testing.T, base, token, path string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s %v", path, resp.StatusCode, body, err)
	}
	return body
}

// choose picks value in the select with this id, as a person would.
func choose(id, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q;
		s.dispatchEvent(new Event('change')); return s.value === %q; })()`, id, value, value), nil)
}

func shoot(t *testing.T, ctx context.Context, out, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(out, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// checkDriverAppInBrowser: a driver picks their id (with the token the
// operator issued), filters the charge points by city, asks for a supply,
// sees it accepted, the live kWh grow and the ticket come and land in the
// history; then asks at a stopped charge point and sees Central's denial
// with its reason.
func checkDriverAppInBrowser(t *testing.T, ctx context.Context, base, token, out string) {
	t.Helper()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	driverID := fmt.Sprintf("dora-%d", time.Now().UnixNano()%1_000_000)
	var tok web.DriverToken
	if err := json.Unmarshal(operatorPost(t, base, token, "/api/drivers/"+driverID+"/token"), &tok); err != nil {
		t.Fatal(err)
	}

	var rows int
	run("open the driver app and see the charge points",
		chromedp.Navigate(base+"/driver"),
		chromedp.Poll(`document.querySelectorAll('#cp-list tr').length >= 3 && document.querySelectorAll('#cp-list tr').length`, &rows,
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	var price string
	run("read a price", chromedp.Text(`#cp-list tr[data-cp="CP-001"] .price`, &price, chromedp.ByQuery))
	if !strings.Contains(price, "€/kWh") {
		t.Errorf("CP-001's price reads %q", price)
	}

	// The filter by city keeps the charge points of that city only.
	var city string
	var cityOnly bool
	run("filter by the city of CP-002",
		chromedp.Evaluate(`document.querySelector('#cp-list tr[data-cp="CP-002"] .loc').textContent`, &city),
	)
	run("choose it", choose("city-filter", city),
		chromedp.Poll(`[...document.querySelectorAll('#cp-list tr')].every(tr => tr.querySelector('.loc').textContent === `+strconv.Quote(city)+`) &&
			[...document.querySelectorAll('#cp-list tr')].some(tr => tr.dataset.cp === 'CP-002')`, &cityOnly, chromedp.WithPollingTimeout(5*time.Second)),
	)
	run("all cities again", choose("city-filter", ""))
	var stateOnly bool
	run("filter by state ACTIVATED",
		choose("state-filter", "ACTIVATED"),
		chromedp.Poll(`[...document.querySelectorAll('#cp-list tr')].every(tr => tr.dataset.state === 'ACTIVATED')`, &stateOnly, chromedp.WithPollingTimeout(5*time.Second)),
		choose("state-filter", ""),
	)

	// A wrong token is refused; the operator's driver token is taken.
	run("pick the driver id with a wrong token",
		chromedp.SendKeys(`#driver-id`, driverID, chromedp.ByID),
		chromedp.SendKeys(`#driver-token`, "drv_wrong", chromedp.ByID),
		chromedp.Click(`#use-driver`, chromedp.ByID),
		chromedp.Poll(`document.querySelector('.toast.error') !== null && !document.getElementById('who-form').hidden`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`document.getElementById('toasts').replaceChildren(); document.getElementById('driver-token').value = ''`, nil),
	)
	run("pick it with the driver's token",
		chromedp.SetValue(`#driver-id`, driverID, chromedp.ByID),
		chromedp.SendKeys(`#driver-token`, tok.Token, chromedp.ByID),
		chromedp.Click(`#use-driver`, chromedp.ByID),
		chromedp.Poll(`document.getElementById('who').textContent === `+strconv.Quote(driverID)+` &&
			document.getElementById('conn').dataset.state === 'live' && !document.querySelector('#cp-list button.req').disabled`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
	)

	// Ask for a supply at an available charge point; with simulated drivers
	// about (evsim), another may take it first: Central then denies it
	// (busy) and the driver asks again elsewhere.
	var accepted bool
	var cp string
	for try := 0; try < 8 && !accepted; try++ {
		run("find an available charge point", chromedp.Poll(`(() => {
			const tr = [...document.querySelectorAll('#cp-list tr')].find(tr => tr.dataset.state === 'ACTIVATED' && tr.dataset.cp !== 'CP-003');
			return tr ? tr.dataset.cp : false; })()`, &cp, chromedp.WithPollingTimeout(30*time.Second)))
		var status string
		run("ask for a supply at "+cp,
			chromedp.Click(`#cp-list tr[data-cp="`+cp+`"] button.req`, chromedp.ByQuery),
			chromedp.Poll(`(() => { const s = document.getElementById('current').dataset.status;
				return (document.getElementById('cur-cp').textContent === `+strconv.Quote(cp)+` && s !== 'requested') ? s : false; })()`, &status,
				chromedp.WithPollingTimeout(15*time.Second)),
		)
		accepted = status == "accepted" || status == "supplying" || status == "ended" || status == "ticketed"
		if !accepted {
			var reason string
			run("read why", chromedp.Text(`#cur-reason`, &reason, chromedp.ByID))
			t.Logf("request at %s: %s (%s); asking again", cp, status, reason)
		}
	}
	if !accepted {
		t.Fatal("no request was accepted in 8 tries")
	}
	var kwh string
	run("see it charging with live kWh",
		chromedp.Poll(`document.getElementById('current').dataset.status === 'supplying' &&
			parseFloat(document.getElementById('cur-kwh').textContent) > 0 && document.getElementById('cur-kwh').textContent`, &kwh,
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	var later string
	run("see the kWh grow",
		chromedp.Poll(`document.getElementById('current').dataset.status !== 'supplying' ||
			document.getElementById('cur-kwh').textContent !== `+strconv.Quote(kwh), nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`#cur-kwh`, &later, chromedp.ByID),
	)
	t.Logf("%s charging at %s: %s kWh, then %s kWh", driverID, cp, kwh, later)
	var steps int
	run("count the steps done", chromedp.Evaluate(`document.querySelectorAll('#steps li.done').length`, &steps))
	if steps < 3 {
		t.Errorf("while charging, %d steps are marked done, want 3 (requested, accepted, charging)", steps)
	}
	shoot(t, ctx, out, "driver-charging.png")

	var session string
	run("wait for the ticket and see it in the history",
		chromedp.Poll(`document.getElementById('current').dataset.status === 'ticketed' && !document.getElementById('cur-ticket').hidden`, nil,
			chromedp.WithPollingTimeout(60*time.Second)),
		chromedp.Poll(`(() => { const tr = document.querySelector('#tickets tr'); return tr ? tr.dataset.session : false; })()`, &session,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
	var ticketText string
	run("read the ticket", chromedp.Text(`#cur-ticket`, &ticketText, chromedp.ByID))
	if !strings.Contains(ticketText, cp) || !strings.Contains(ticketText, "kWh") || !strings.Contains(ticketText, "EUR") {
		t.Errorf("the ticket shows %q", ticketText)
	}
	tickets := driverTickets(t, base, driverID, tok.Token)
	if len(tickets) != 1 || tickets[0].SessionID != session || tickets[0].CPID != cp || tickets[0].KWh <= 0 {
		t.Errorf("the API's tickets of %s: %+v; the page's newest is session %s", driverID, tickets, session)
	}
	shoot(t, ctx, out, "driver-ticket.png")

	// A stopped charge point: Central denies the request and says why.
	operatorPost(t, base, token, "/api/chargepoints/CP-003/stop")
	defer operatorPost(t, base, token, "/api/chargepoints/CP-003/resume")
	var reason string
	run("ask at the stopped CP-003 and see the denial with its reason",
		chromedp.Poll(`document.querySelector('#cp-list tr[data-cp="CP-003"]').dataset.state === 'STOPPED'`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Click(`#cp-list tr[data-cp="CP-003"] button.req`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('cur-cp').textContent === 'CP-003' && document.getElementById('current').dataset.status === 'denied'`, nil,
			chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Text(`#cur-reason`, &reason, chromedp.ByID),
	)
	if !strings.Contains(reason, "stopped") {
		t.Errorf("the denial reads %q, want Central's reason (stopped)", reason)
	}
	shoot(t, ctx, out, "driver-denied.png")
}

func driverTickets(t *testing.T, base, driverID, token string) []web.Ticket {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/drivers/"+driverID+"/tickets", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []web.Ticket
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPlotsInBrowser opens the panel and waits until both plots are drawn
// from several samples, the energy plot above zero (a ticket came).
func checkPlotsInBrowser(t *testing.T, ctx context.Context, base, out string) {
	t.Helper()
	var got struct {
		Energy, Supplies int
		KWh              float64
		Path             string
	}
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.Poll(`(() => {
			const e = document.getElementById('plot-energy'), s = document.getElementById('plot-supplies');
			return +e.dataset.points >= 3 && +s.dataset.points >= 3 && +e.dataset.last > 0 &&
				e.querySelector('path.energy.stroke') !== null && s.querySelector('path.running.stroke') !== null; })()`, nil,
			chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Evaluate(`({energy: +document.getElementById('plot-energy').dataset.points,
			supplies: +document.getElementById('plot-supplies').dataset.points,
			kwh: +document.getElementById('plot-energy').dataset.last,
			path: document.querySelector('#plot-energy path.energy.stroke').getAttribute('d')})`, &got),
	)
	if err != nil {
		t.Fatalf("the plots were not drawn: %v", err)
	}
	if strings.Count(got.Path, "L") < 2 {
		t.Errorf("the energy line has too few points: %q", got.Path)
	}
	var series web.Series
	resp, err := http.Get(base + "/api/series")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&series); err != nil || len(series.Points) < got.Energy {
		t.Errorf("the API has %d samples, the page drew %d (%v)", len(series.Points), got.Energy, err)
	}
	t.Logf("plots: %d samples, %.3f kWh delivered", got.Energy, got.KWh)
	shoot(t, ctx, out, "panel-plots.png")
}

// TestBrowserDriverAppThousandChargePoints: with 1,000 charge points the
// driver app draws the first 300 and says how to see the others; the city
// filter narrows the list so that any charge point can be reached. The
// server has no operator token: the app is open, no token is asked.
func TestBrowserDriverAppThousandChargePoints(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	slot := &web.DriverSlot{}
	slot.Set(webtest.NewDesk())
	r := newRig(t, 1000, func(o *web.Options) { o.OperatorToken, o.Drivers = "", slot })
	ctx := browser(t, chrome, 50*time.Second)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var more string
	run("open the driver app",
		chromedp.Navigate(r.http.URL+"/driver"),
		chromedp.Poll(`document.querySelectorAll('#cp-list tr').length === 300 && !document.getElementById('cp-more').hidden`, nil,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#cp-more`, &more, chromedp.ByID),
	)
	if !strings.Contains(more, "300 of 1000") {
		t.Errorf("the note under the list says %q", more)
	}
	var tokenHidden bool
	run("open mode asks no token", chromedp.Evaluate(`document.getElementById('driver-token').hidden`, &tokenHidden))
	if !tokenHidden {
		t.Error("the token field is shown although the server runs without an operator token")
	}
	run("filter by CP-500's city and ask there as zoe",
		choose("city-filter", "Sevilla"),
		chromedp.Poll(`document.querySelector('#cp-list tr[data-cp="CP-500"]') !== null && document.getElementById('cp-more').hidden`, nil,
			chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.SendKeys(`#driver-id`, "zoe", chromedp.ByID),
		chromedp.Click(`#use-driver`, chromedp.ByID),
		chromedp.Poll(`!document.querySelector('#cp-list tr[data-cp="CP-500"] button.req').disabled`, nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Click(`#cp-list tr[data-cp="CP-500"] button.req`, chromedp.ByQuery),
		chromedp.Poll(`document.getElementById('cur-cp').textContent === 'CP-500' && document.getElementById('current').dataset.status === 'requested'`, nil,
			chromedp.WithPollingTimeout(5*time.Second)),
	)
	var png []byte
	run("screenshot", chromedp.CaptureScreenshot(&png))
	shot := filepath.Join(artifacts(t), "driver-1000.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}

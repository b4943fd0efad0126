package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

func readyBridge() web.BridgeSource {
	return web.BridgeFunc(func() (bridge.State, string) { return bridge.StateReady, "" })
}

// The browser tests drive Debian's Chromium through chromedp; they never
// download a browser. They skip under -short and where no Chromium is
// installed (CI installs it with scripts/setup.sh).
//
// Environment:
//
//	EVSIM_CHROMIUM       the browser to run (default: /usr/bin/chromium, or chromium on PATH)
//	EVSIM_E2E_URL        test a panel that already runs there (e.g. evsim --http) instead of
//	                     a server on a fake Central; it must have five charge points
//	EVSIM_E2E_TOKEN      the operator token of that panel
//	EVSIM_E2E_ARTIFACTS  a folder for the screenshots (default: the test's temp dir)

// findChromium returns the browser to drive, or skips the test saying why.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("EVSIM_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test skipped: no Chromium found (install Debian's chromium package, e.g. with scripts/setup.sh, or set EVSIM_CHROMIUM)")
	return ""
}

// artifacts is where screenshots go.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("EVSIM_E2E_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts a headless Chromium and returns a tab's context.
func browser(t *testing.T, chrome string, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // CI and containers run as root
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil { // start the browser now, to report a failure clearly
		t.Fatalf("starting %s: %v", chrome, err)
	}
	return ctx
}

// fakeNetwork is a web server on a fake Central with five charge points in
// every state, a running supply with live telemetry and a location that
// tries to inject markup.
func fakeNetwork(t *testing.T) (base, token string, panel *webtest.Panel) {
	t.Helper()
	r := newRig(t, 5, func(o *web.Options) { o.FlushInterval = 100 * time.Millisecond })
	p := r.panel
	p.SetLocation("CP-005", `<img src=x onerror="window.__xss=1">Depot`)
	p.StartSupply("CP-003", "charlie")
	p.Telemetry("CP-003", 22, 40*time.Minute)
	p.EndSupply("CP-003")
	p.StartSupply("CP-002", "alice")
	p.Telemetry("CP-002", 22, 25*time.Minute)
	p.StartSupply("CP-003", "bob")
	p.Telemetry("CP-003", 11, 5*time.Minute)
	p.AddEvent("denied", "CP-004", "charlie", "Request of charlie at CP-004 denied: CP-004 is not ACTIVATED")
	p.KnockOut(context.Background(), "CP-004", true)
	p.Connect("CP-005", false)

	// Telemetry every 200 ms while the test runs: the page must show it live.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				p.Telemetry("CP-002", 22, 20*time.Second)
				p.Telemetry("CP-003", 11, 20*time.Second)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r.http.URL, testToken, p
}

func TestBrowserE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	base, token := os.Getenv("EVSIM_E2E_URL"), os.Getenv("EVSIM_E2E_TOKEN")
	var panel *webtest.Panel
	if base == "" {
		base, token, panel = fakeNetwork(t)
	}
	ctx := browser(t, chrome, 50*time.Second)
	checkPanelInBrowser(t, ctx, base, token, panel, artifacts(t))
}

// checkPanelInBrowser opens the panel at base, waits for the five tiles,
// unlocks the operator actions with token, stops CP-001 and sees its tile
// turn STOPPED, takes a screenshot, and resumes CP-001. With panel (a fake
// Central behind base) it also checks escaping, live telemetry and the
// reconnection after Central's watch ends.
func checkPanelInBrowser(t *testing.T, ctx context.Context, base, token string, panel *webtest.Panel, out string) {
	t.Helper()
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var n int
	run("open the panel and wait for five tiles",
		chromedp.Navigate(base+"/"),
		chromedp.Poll(`document.querySelectorAll('#grid .tile').length === 5 && document.querySelectorAll('#grid .tile').length`, &n,
			chromedp.WithPollingTimeout(15*time.Second)),
	)

	// Read-only until the token is entered: the action buttons are hidden and disabled.
	var readOnly bool
	run("check read-only", chromedp.Evaluate(`
		!document.body.classList.contains('unlocked') &&
		[...document.querySelectorAll('button[data-act], #stop-all, #resume-all')].every(b => b.disabled && b.offsetParent === null)`, &readOnly))
	if !readOnly {
		t.Error("operator buttons are usable before the token is entered")
	}

	// The totals say which figures are this run's and which include earlier runs.
	var labels string
	run("read the totals' labels", chromedp.Poll(`(() => {
		const all = document.getElementById('t-kwh-all').textContent;
		return all.includes('all runs') && document.querySelector('.totals').textContent; })()`, &labels,
		chromedp.WithPollingTimeout(10*time.Second)))
	if !strings.Contains(labels, "Energy delivered this run") || !strings.Contains(labels, "all runs in the database") {
		t.Errorf("the totals are not labelled this run / all runs: %q", labels)
	}

	if panel != nil {
		var check struct {
			Loc   string `json:"loc"`
			Img   bool   `json:"img"`
			XSS   bool   `json:"xss"`
			State string `json:"state"`
		}
		run("check escaping", chromedp.Evaluate(`({
			loc: document.querySelector('.tile[data-id="CP-005"] .loc').textContent,
			img: document.querySelector('#grid img') !== null,
			xss: window.__xss === 1,
			state: document.querySelector('.tile[data-id="CP-005"]').dataset.state})`, &check))
		if !strings.Contains(check.Loc, "<img") || check.Img || check.XSS {
			t.Errorf("a location with markup was not shown as text: %+v", check)
		}
		if check.State != "DISCONNECTED" {
			t.Errorf("CP-005 tile state %q", check.State)
		}
		// Telemetry shows up live, without a reload.
		var first, later string
		run("read CP-002's energy", chromedp.Text(`.tile[data-id="CP-002"] .fig.kwh b`, &first, chromedp.ByQuery))
		run("wait for CP-002's energy to grow", chromedp.Poll(
			fmt.Sprintf(`document.querySelector('.tile[data-id="CP-002"] .fig.kwh b').textContent !== %q`, first), nil,
			chromedp.WithPollingTimeout(5*time.Second)))
		run("read it again", chromedp.Text(`.tile[data-id="CP-002"] .fig.kwh b`, &later, chromedp.ByQuery))
		t.Logf("CP-002 energy went from %s to %s kWh live", first, later)
	}

	var unlocked bool
	run("unlock with a wrong token",
		chromedp.SendKeys(`#token`, "not-the-token", chromedp.ByID),
		chromedp.Click(`#unlock`, chromedp.ByID),
		chromedp.Poll(`document.querySelector('.toast.error') !== null`, nil, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Evaluate(`document.body.classList.contains('unlocked')`, &unlocked),
	)
	if unlocked {
		t.Fatal("a wrong token unlocked the operator actions")
	}
	run("unlock with the operator token",
		chromedp.Evaluate(`document.getElementById('token').value = ''`, nil),
		chromedp.SendKeys(`#token`, token, chromedp.ByID),
		chromedp.Click(`#unlock`, chromedp.ByID),
		chromedp.Poll(`document.body.classList.contains('unlocked') && !document.querySelector('.tile[data-id="CP-001"] button[data-act="stop"]').disabled`,
			nil, chromedp.WithPollingTimeout(5*time.Second)),
	)

	var label string
	run("stop CP-001 and see its tile turn STOPPED",
		chromedp.Click(`.tile[data-id="CP-001"] button[data-act="stop"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.tile[data-id="CP-001"]').dataset.state === 'STOPPED'`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text(`.tile[data-id="CP-001"] .badge`, &label, chromedp.ByQuery),
	)
	if label != "Out of order" {
		t.Errorf("the STOPPED tile says %q, want \"Out of order\"", label)
	}
	run("see the tile turn orange", chromedp.Poll( // --orange, once the colour transition ends
		`getComputedStyle(document.querySelector('.tile[data-id="CP-001"]')).borderTopColor === 'rgb(234, 88, 12)'`, nil,
		chromedp.WithPollingTimeout(3*time.Second)))
	if cp := apiChargePoint(t, base, "CP-001"); cp.State != "STOPPED" {
		t.Errorf("the API says CP-001 is %s after the stop", cp.State)
	}

	if keepsAudit(t, base, token) { // e.g. evsim with its Registry: the stop is in the audit log
		var verdict string
		run("open the audit log and find the stop",
			chromedp.Click(`#audit-btn`, chromedp.ByQuery),
			chromedp.Poll(`[...document.querySelectorAll('#audit-list li')].some(li => li.textContent.includes('operator stop CP-001 — ok'))`, nil,
				chromedp.WithPollingTimeout(10*time.Second)),
			chromedp.Text(`#audit-verdict`, &verdict, chromedp.ByQuery),
		)
		if verdict != "chain intact" {
			t.Errorf("the audit log's verdict says %q, want \"chain intact\"", verdict)
		}
	}

	var png []byte
	run("take a screenshot", chromedp.FullScreenshot(&png, 100))
	shot := filepath.Join(out, "panel.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	if panel != nil {
		// Central's watch ends: the page reconnects by itself and shows what
		// changed meanwhile.
		panel.EndWatches()
		panel.Connect("CP-005", true)
		run("reconnect and resync after the stream ended",
			chromedp.Poll(`document.querySelector('.tile[data-id="CP-005"]').dataset.state === 'ACTIVATED' &&
				document.getElementById('conn').dataset.state === 'live'`, nil, chromedp.WithPollingTimeout(10*time.Second)))
	}

	run("resume CP-001",
		chromedp.Click(`.tile[data-id="CP-001"] button[data-act="resume"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.tile[data-id="CP-001"]').dataset.state !== 'STOPPED'`, nil,
			chromedp.WithPollingTimeout(10*time.Second)),
	)
}

// keepsAudit says whether the server keeps an audit log (/api/audit answers).
func keepsAudit(t *testing.T, base, token string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/audit?tail=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func apiChargePoint(t *testing.T, base, id string) web.ChargePoint {
	t.Helper()
	resp, err := http.Get(base + "/api/chargepoints/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var cp web.ChargePoint
	if err := json.NewDecoder(resp.Body).Decode(&cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestBrowserThousandChargePoints: the page stays usable with 1,000 charge
// points: the grid turns compact, the filter and the search narrow it, and
// a live change still reaches the right tile.
func TestBrowserThousandChargePoints(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	r := newRig(t, 1000, func(o *web.Options) { o.FlushInterval = 100 * time.Millisecond })
	for i := 1; i <= 1000; i += 7 {
		id := fmt.Sprintf("CP-%03d", i)
		if i > 999 {
			id = fmt.Sprintf("CP-%d", i)
		}
		switch i % 5 {
		case 0:
			r.panel.StartSupply(id, fmt.Sprintf("driver-%03d", i%97))
			r.panel.Telemetry(id, 22, 15*time.Minute)
		case 1:
			r.panel.KnockOut(context.Background(), id, true)
		case 2:
			r.panel.Stop(context.Background(), id)
		case 3:
			r.panel.Connect(id, false)
		}
	}
	ctx := browser(t, chrome, 50*time.Second)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	start := time.Now()
	var compact bool
	run("open the panel with 1,000 charge points",
		chromedp.Navigate(r.http.URL+"/"),
		chromedp.Poll(`document.querySelectorAll('#grid .tile').length === 1000`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.getElementById('grid').classList.contains('compact')`, &compact),
	)
	t.Logf("1,000 tiles on the page in %v", time.Since(start).Round(time.Millisecond))
	if !compact {
		t.Error("the grid is not compact with 1,000 charge points")
	}

	var png []byte
	run("screenshot", chromedp.CaptureScreenshot(&png))
	shot := filepath.Join(artifacts(t), "panel-1000.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)

	var visible int
	var faultChip string
	run("filter by FAULT",
		chromedp.Click(`.chip[data-filter="FAULT"]`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll('#grid .tile')].filter(t => !t.hidden).length`, &visible),
		chromedp.Text(`.chip[data-filter="FAULT"] .n`, &faultChip, chromedp.ByQuery),
	)
	var n web.Network
	r.getJSON(t, "/api/network", http.StatusOK, &n)
	if want := n.Totals.ByState["FAULT"]; visible != want || faultChip != fmt.Sprint(want) {
		t.Errorf("FAULT filter shows %d tiles, chip says %s, Central has %d", visible, faultChip, want)
	}

	run("search for one charge point",
		chromedp.Click(`.chip[data-filter="ALL"]`, chromedp.ByQuery),
		chromedp.SendKeys(`#search`, "CP-500", chromedp.ByID),
		chromedp.Poll(`[...document.querySelectorAll('#grid .tile')].filter(t => !t.hidden).map(t => t.dataset.id).join() === 'CP-500'`,
			nil, chromedp.WithPollingTimeout(5*time.Second)),
	)
	r.panel.Stop(context.Background(), "CP-500")
	run("see the live change on the searched tile",
		chromedp.Poll(`document.querySelector('.tile[data-id="CP-500"]').dataset.state === 'STOPPED'`, nil,
			chromedp.WithPollingTimeout(5*time.Second)),
	)
}

// TestBrowserReconnectsAfterTheServerRestarts: the process serving the panel
// goes away (evnode central restarts) and comes back on the same address
// with another view; the open page notices, says so, reconnects by itself
// and shows the new view, with no reload.
func TestBrowserReconnectsAfterTheServerRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped under -short")
	}
	chrome := findChromium(t)
	serve := func(addr string, panel *webtest.Panel) *web.Server {
		t.Helper()
		srv, err := web.New(web.Options{Addr: addr, Panel: panel, Bridge: readyBridge(), Run: stats.New(),
			PingInterval: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
		return srv
	}
	first := serve("127.0.0.1:0", webtest.NewPanel(3))
	addr := first.Addr()
	ctx := browser(t, chrome, 40*time.Second)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("open the panel",
		chromedp.Navigate("http://"+addr+"/"),
		chromedp.Poll(`document.querySelectorAll('#grid .tile').length === 3`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`window.__sameDocument = true`, nil),
	)

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := first.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	run("see the connection lost",
		chromedp.Poll(`document.getElementById('conn').dataset.state !== 'live' && !document.getElementById('banner').hidden`,
			nil, chromedp.WithPollingTimeout(10*time.Second)))

	second := webtest.NewPanel(4)
	second.Stop(context.Background(), "CP-002")
	serve(addr, second)
	var same bool
	run("reconnect and show the new view",
		chromedp.Poll(`document.querySelectorAll('#grid .tile').length === 4 &&
			document.querySelector('.tile[data-id="CP-002"]').dataset.state === 'STOPPED' &&
			document.getElementById('conn').dataset.state === 'live' && document.getElementById('banner').hidden`,
			nil, chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.Evaluate(`window.__sameDocument === true`, &same),
	)
	if !same {
		t.Error("the page was reloaded")
	}
}

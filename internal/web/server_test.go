package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
	"github.com/prometheus/client_golang/prometheus"
)

func TestNewRequiresPanelBridgeAndRun(t *testing.T) {
	panel, br, run := webtest.NewPanel(1), &web.BridgeStatus{}, stats.New()
	for name, opts := range map[string]web.Options{
		"Panel":  {Bridge: br, Run: run},
		"Bridge": {Panel: panel, Run: run},
		"Run":    {Panel: panel, Bridge: br},
	} {
		_, err := web.New(opts)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: err = %v, want one naming the field", name, err)
		}
	}
	// Two servers in one process: each has its own registry, nothing global.
	for range 2 {
		srv, err := web.New(web.Options{Panel: panel, Bridge: br, Run: run})
		if err != nil {
			t.Fatal(err)
		}
		if srv.Registry() == nil || srv.Registry() == prometheus.DefaultRegisterer {
			t.Error("the server has no registry of its own")
		}
	}
}

func TestHealthz(t *testing.T) {
	r := newRig(t, 1, nil)
	r.panel.SetFailing(webtest.ErrUnreachable) // the process is up even if Central is not
	var body map[string]any
	r.getJSON(t, "/healthz", http.StatusOK, &body)
	if body["status"] != "ok" {
		t.Errorf("healthz = %v", body)
	}
}

func TestReadyzFollowsTheBridge(t *testing.T) {
	br := &web.BridgeStatus{} // the zero value reports waiting
	fresh := newRig(t, 1, func(o *web.Options) { o.Bridge = br })

	var b web.Bridge
	fresh.getJSON(t, "/readyz", http.StatusServiceUnavailable, &b)
	if b.State != "waiting" || b.Ready {
		t.Errorf("before the bridge is ready: %+v", b)
	}
	br.Set(bridge.StateReady, "127.0.0.1:9092")
	fresh.getJSON(t, "/readyz", http.StatusOK, &b)
	if b != (web.Bridge{State: "ready", Detail: "127.0.0.1:9092", Ready: true}) {
		t.Errorf("ready: %+v", b)
	}
	br.Set(bridge.StateOutage, "broker went away")
	fresh.getJSON(t, "/readyz", http.StatusServiceUnavailable, &b)
	if b.State != "outage" || b.Detail != "broker went away" {
		t.Errorf("outage: %+v", b)
	}

	fn := newRig(t, 1, func(o *web.Options) {
		o.Bridge = web.BridgeFunc(func() (bridge.State, string) { return bridge.StateFailed, "no broker" })
	})
	fn.getJSON(t, "/readyz", http.StatusServiceUnavailable, &b)
	if b.State != "failed" {
		t.Errorf("BridgeFunc: %+v", b)
	}
}

func TestChargePointsShowStatesColoursAndSessions(t *testing.T) {
	r := newRig(t, 5, nil)
	var cps []web.ChargePoint
	r.getJSON(t, "/api/chargepoints", http.StatusOK, &cps)
	if len(cps) != 5 {
		t.Fatalf("%d charge points, want 5", len(cps))
	}
	first := cps[0]
	if first.ID != "CP-001" || first.State != "ACTIVATED" || first.Colour != "green" || first.Label != "Activated" ||
		first.PriceEURPerKWh != 0.30 || first.RatedKW != 22 || first.Location == "" || first.Session != nil || first.Since == nil {
		t.Errorf("CP-001 = %+v", first)
	}

	r.panel.StartSupply("CP-002", "alice")
	r.panel.Telemetry("CP-002", 11, 10*time.Minute)
	r.panel.KnockOut(context.Background(), "CP-003", true)
	r.panel.Stop(context.Background(), "CP-004")
	r.panel.Connect("CP-005", false)

	want := map[string][3]string{
		"CP-002": {"SUPPLYING", "green", "Supplying"},
		"CP-003": {"FAULT", "red", "Fault"},
		"CP-004": {"STOPPED", "orange", "Out of order"},
		"CP-005": {"DISCONNECTED", "grey", "Disconnected"},
	}
	for id, w := range want {
		cp := r.chargePoint(t, id)
		if got := [3]string{cp.State, cp.Colour, cp.Label}; got != w {
			t.Errorf("%s = %v, want %v", id, got, w)
		}
	}
	s := r.chargePoint(t, "CP-002").Session
	if s == nil || s.DriverID != "alice" || s.KW != 11 || s.KWh <= 0 || s.EUR <= 0 || s.SessionID == "" || s.StartedAt == nil {
		t.Errorf("CP-002 session = %+v", s)
	}
	if r := r.chargePoint(t, "CP-003").Reason; r == "" {
		t.Error("a FAULT carries no reason")
	}

	// The raw JSON uses the documented snake_case names.
	_, _, raw := r.do(t, http.MethodGet, "/api/chargepoints/CP-002", "")
	for _, key := range []string{`"id"`, `"location"`, `"price_eur_per_kwh"`, `"rated_kw"`, `"state"`, `"colour"`,
		`"label"`, `"reason"`, `"since"`, `"session"`, `"session_id"`, `"driver_id"`, `"kw"`, `"kwh"`, `"eur"`, `"started_at"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("no %s in %s", key, raw)
		}
	}

	r.getJSON(t, "/api/chargepoints?state=stopped,FAULT", http.StatusOK, &cps)
	if len(cps) != 2 || cps[0].ID != "CP-003" || cps[1].ID != "CP-004" {
		t.Errorf("?state=stopped,FAULT gave %+v", cps)
	}
	var e map[string]string
	r.getJSON(t, "/api/chargepoints?state=BROKEN", http.StatusBadRequest, &e)
	if e["error"] == "" {
		t.Error("a bad state filter has no error message")
	}
}

func TestUnknownChargePointIs404(t *testing.T) {
	r := newRig(t, 2, nil)
	var e map[string]string
	r.getJSON(t, "/api/chargepoints/CP-099", http.StatusNotFound, &e)
	if !strings.Contains(e["error"], "CP-099") {
		t.Errorf("error = %q", e["error"])
	}
	r.getJSON(t, "/api/nothing-here", http.StatusNotFound, &e)
	if e["error"] == "" {
		t.Error("an unknown API path has no JSON error")
	}
}

func TestEventsSinceAndLimit(t *testing.T) {
	r := newRig(t, 3, nil)
	for i := range 5 {
		r.panel.AddEvent("denied", "CP-001", "bob", "request "+string(rune('a'+i))+" denied")
	}
	var evs []web.Event
	r.getJSON(t, "/api/events", http.StatusOK, &evs)
	if len(evs) != 5 || evs[0].Seq != 1 || evs[4].Seq != 5 {
		t.Fatalf("events = %+v", evs)
	}
	if e := evs[0]; e.Kind != "denied" || e.CPID != "CP-001" || e.DriverID != "bob" || e.Text == "" || e.At.IsZero() {
		t.Errorf("event = %+v", e)
	}
	r.getJSON(t, "/api/events?since=2&limit=2", http.StatusOK, &evs)
	if len(evs) != 2 || evs[0].Seq != 3 || evs[1].Seq != 4 {
		t.Errorf("since=2&limit=2 gave %+v", evs)
	}
	r.getJSON(t, "/api/events?since=5", http.StatusOK, &evs)
	if evs == nil || len(evs) != 0 {
		t.Errorf("nothing new should be [] not %v", evs)
	}
	var e map[string]string
	for _, q := range []string{"since=-1", "since=x", "limit=0", "limit=1001", "limit=abc"} {
		r.getJSON(t, "/api/events?"+q, http.StatusBadRequest, &e)
	}
}

func TestNetwork(t *testing.T) {
	r := newRig(t, 3, nil)
	r.run.SuppliesStarted.Add(4)
	r.panel.StartSupply("CP-001", "alice")
	r.panel.Telemetry("CP-001", 22, 10*time.Minute)
	var n web.Network
	r.getJSON(t, "/api/network", http.StatusOK, &n)
	if n.Totals.ChargePoints != 3 || n.Totals.ActiveSupplies != 1 || n.Totals.ByState["SUPPLYING"] != 1 ||
		n.Totals.ByState["ACTIVATED"] != 2 || n.Totals.ByState["FAULT"] != 0 || len(n.Totals.ByState) != 10 {
		t.Errorf("totals = %+v", n.Totals)
	}
	if !n.OperatorEnabled || !n.Bridge.Ready || n.Run.SuppliesStarted != 4 || n.LastEvent == 0 {
		t.Errorf("network = %+v", n)
	}
	r.panel.EndSupply("CP-001")
	r.getJSON(t, "/api/network", http.StatusOK, &n)
	if n.Totals.Tickets != 1 || n.Totals.KWh <= 0 || n.Totals.EUR <= 0 {
		t.Errorf("after a ticket: %+v", n.Totals)
	}
}

func TestCentralUnreachableIs503(t *testing.T) {
	r := newRig(t, 2, nil)
	r.panel.SetFailing(webtest.ErrUnreachable)
	for _, path := range []string{"/api/chargepoints", "/api/chargepoints/CP-001", "/api/events", "/api/network"} {
		var e map[string]string
		r.getJSON(t, path, http.StatusServiceUnavailable, &e)
		if !strings.Contains(e["error"], "cannot reach Central") {
			t.Errorf("%s: %v", path, e)
		}
	}
	code, _, _ := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/stop", "Bearer "+testToken)
	if code != http.StatusServiceUnavailable {
		t.Errorf("stop while Central is silent: %d", code)
	}
}

// TestOperatorGuard checks every state-changing endpoint without a token,
// with wrong ones and with the right one.
func TestOperatorGuard(t *testing.T) {
	endpoints := []string{
		"/api/chargepoints/CP-001/stop", "/api/chargepoints/CP-001/resume",
		"/api/chargepoints/CP-001/ko", "/api/chargepoints/CP-001/unko",
		"/api/stop-all", "/api/resume-all", "/api/auth/check",
	}
	r := newRig(t, 2, nil)
	for _, path := range endpoints {
		for _, auth := range []string{"", "Bearer ", "Bearer wrong", "Bearer " + testToken + "x", "Basic " + testToken, testToken} {
			code, h, body := r.do(t, http.MethodPost, path, auth)
			if code != http.StatusUnauthorized {
				t.Errorf("POST %s with %q: %d, want 401", path, auth, code)
				continue
			}
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(string(body), `"error"`) {
				t.Errorf("POST %s with %q: header %q body %s", path, auth, h.Get("WWW-Authenticate"), body)
			}
		}
	}
	if cp := r.chargePoint(t, "CP-001"); cp.State != "ACTIVATED" {
		t.Fatalf("a refused request changed CP-001: %s", cp.State)
	}

	// GET cannot change anything either.
	if code, _, _ := r.do(t, http.MethodGet, "/api/stop-all", "Bearer "+testToken); code < 400 {
		t.Errorf("GET /api/stop-all: %d, want an error", code)
	}
	if cp := r.chargePoint(t, "CP-001"); cp.State != "ACTIVATED" {
		t.Fatalf("GET /api/stop-all changed CP-001: %s", cp.State)
	}

	auth := "Bearer " + testToken
	steps := []struct {
		path, state string
		affected    int
	}{
		{"/api/chargepoints/CP-001/stop", "STOPPED", 1},
		{"/api/chargepoints/CP-001/resume", "ACTIVATED", 1},
		{"/api/chargepoints/CP-001/ko", "FAULT", 1},
		{"/api/chargepoints/CP-001/unko", "ACTIVATED", 1},
		{"/api/stop-all", "STOPPED", 2},
		{"/api/resume-all", "ACTIVATED", 2},
	}
	for _, s := range steps {
		code, _, body := r.do(t, http.MethodPost, s.path, auth)
		if code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", s.path, code, body)
		}
		var res web.ActionResult
		if err := json.Unmarshal(body, &res); err != nil || res.Affected != s.affected || res.Action == "" {
			t.Errorf("POST %s: %s (%v)", s.path, body, err)
		}
		if cp := r.chargePoint(t, "CP-001"); cp.State != s.state {
			t.Errorf("after %s CP-001 is %s, want %s", s.path, cp.State, s.state)
		}
	}
	if code, _, _ := r.do(t, http.MethodPost, "/api/auth/check", strings.ToLower("BEARER ")+testToken); code != http.StatusNoContent {
		t.Errorf("auth check with the right token: %d, want 204", code)
	}
}

func TestOperatorActionsOnUnknownTargets(t *testing.T) {
	r := newRig(t, 2, nil)
	auth := "Bearer " + testToken
	for _, path := range []string{"/api/chargepoints/CP-099/stop", "/api/chargepoints/CP-099/resume", "/api/chargepoints/CP-099/ko", "/api/chargepoints/CP-099/unko"} {
		code, h, body := r.do(t, http.MethodPost, path, auth)
		if code != http.StatusNotFound || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(string(body), "CP-099") {
			t.Errorf("POST %s: %d %s", path, code, body)
		}
	}
	if code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/explode", auth); code != http.StatusNotFound {
		t.Errorf("unknown action: %d %s", code, body)
	}
	// Stopping a stopped charge point is not an error: nothing to do.
	r.do(t, http.MethodPost, "/api/chargepoints/CP-001/stop", auth)
	code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/stop", auth)
	if code != http.StatusOK || !strings.Contains(string(body), `"affected":0`) {
		t.Errorf("second stop: %d %s", code, body)
	}
}

func TestReadOnlyWithoutToken(t *testing.T) {
	r := newRig(t, 2, func(o *web.Options) { o.OperatorToken = "" })
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		code, _, body := r.do(t, http.MethodPost, "/api/stop-all", auth)
		if code != http.StatusForbidden || !strings.Contains(string(body), "disabled") {
			t.Errorf("read-only stop-all with %q: %d %s", auth, code, body)
		}
	}
	var n web.Network
	r.getJSON(t, "/api/network", http.StatusOK, &n)
	if n.OperatorEnabled {
		t.Error("operator_enabled is true without a token")
	}
}

func TestPageAndAssetsAreEmbeddedAndLockedDown(t *testing.T) {
	r := newRig(t, 1, nil)
	code, h, body := r.do(t, http.MethodGet, "/", "")
	if code != http.StatusOK || !strings.Contains(string(body), `src="/assets/app.js"`) {
		t.Fatalf("GET /: %d %.200s", code, body)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
	for path, ctype := range map[string]string{
		"/assets/app.js": "javascript", "/assets/app.css": "text/css", "/assets/favicon.svg": "image/svg+xml",
	} {
		code, h, body := r.do(t, http.MethodGet, path, "")
		if code != http.StatusOK || !strings.Contains(h.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("GET %s: %d %q", path, code, h.Get("Content-Type"))
		}
		if path == "/assets/app.js" && strings.Contains(string(body), "innerHTML") {
			t.Error("app.js uses innerHTML: build the DOM with textContent")
		}
	}
	// Nothing is fetched from elsewhere: the page works offline.
	for _, path := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		_, _, body := r.do(t, http.MethodGet, path, "")
		if strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://") {
			t.Errorf("%s refers to an outside URL", path)
		}
	}
}

func TestStartAndShutdownEndLiveStreams(t *testing.T) {
	panel := webtest.NewPanel(2)
	br := &web.BridgeStatus{}
	srv, err := web.New(web.Options{Addr: "127.0.0.1:0", Panel: panel, Bridge: br, Run: stats.New()})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	url := "http://" + srv.Addr()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := openStream(t, url)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v with a live stream open", d)
	}
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		t.Error("the stream stayed open after Shutdown")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still answers after Shutdown")
	}
	eventually(t, "the watch to end", func() bool { return panel.Watchers() == 0 })
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("a second Shutdown: %v", err)
	}
}

func TestStartReportsABusyPort(t *testing.T) {
	a, err := web.New(web.Options{Addr: "127.0.0.1:0", Panel: webtest.NewPanel(1), Bridge: &web.BridgeStatus{}, Run: stats.New()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	b, _ := web.New(web.Options{Addr: a.Addr(), Panel: webtest.NewPanel(1), Bridge: &web.BridgeStatus{}, Run: stats.New()})
	if err := b.Start(); err == nil || !strings.Contains(err.Error(), a.Addr()) {
		t.Errorf("Start on a busy port: %v", err)
	}
}

// TestWrongTokensAreLoggedOnceInAWhile: someone trying tokens in a loop
// gives one WARN line in the house format, not one per try.
func TestWrongTokensAreLoggedOnceInAWhile(t *testing.T) {
	var buf bytes.Buffer
	off := false
	logger, err := logging.New(logging.Options{Out: &buf, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, 1, func(o *web.Options) { o.Logger = logger })
	for i := range 20 {
		r.do(t, http.MethodPost, "/api/stop-all", fmt.Sprint("Bearer guess-", i))
	}
	r.do(t, http.MethodPost, "/api/chargepoints/CP-001/stop", "Bearer "+testToken)
	var warns, infos []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		switch {
		case strings.Contains(line, " | WARN | Web | "):
			warns = append(warns, line)
		case strings.Contains(line, " | INFO | Web | "):
			infos = append(infos, line)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "wrong token") || !strings.Contains(warns[0], "refused=1") {
		t.Errorf("WARN lines: %q", warns)
	}
	if strings.Contains(buf.String(), "guess-") || strings.Contains(buf.String(), testToken) {
		t.Error("a token reached the log")
	}
	if len(infos) != 1 || !strings.Contains(infos[0], "cp_id=CP-001") {
		t.Errorf("INFO lines: %q", infos)
	}
}

// TestOtherMethodsAnswer405WithAllow: GET on an action and POST on a view
// answer 405 with the methods the path takes, not 404.
func TestOtherMethodsAnswer405WithAllow(t *testing.T) {
	r := newRig(t, 1, nil)
	for path, tc := range map[string]struct{ method, allow string }{
		"/api/chargepoints/CP-001/stop": {http.MethodGet, "POST"},
		"/api/chargepoints/CP-001/ko":   {http.MethodGet, "POST"},
		"/api/stop-all":                 {http.MethodGet, "POST"},
		"/api/resume-all":               {http.MethodGet, "POST"},
		"/api/auth/check":               {http.MethodGet, "POST"},
		"/api/chargepoints":             {http.MethodPost, "GET, HEAD"},
		"/api/events":                   {http.MethodDelete, "GET, HEAD"},
	} {
		code, h, body := r.do(t, tc.method, path, "Bearer "+testToken)
		if code != http.StatusMethodNotAllowed || h.Get("Allow") != tc.allow || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s %s: %d, Allow %q, body %s; want 405 with Allow %q", tc.method, path, code, h.Get("Allow"), body, tc.allow)
		}
	}
	if code, _, _ := r.do(t, http.MethodGet, "/api/nothing-here", ""); code != http.StatusNotFound {
		t.Errorf("an unknown endpoint answers %d, want 404", code)
	}
}

// TestAssetPathsThatCannotNameAFileAre404: the file server would answer 500
// to a path that is not UTF-8.
func TestAssetPathsThatCannotNameAFileAre404(t *testing.T) {
	r := newRig(t, 1, nil)
	for _, p := range []string{"/assets/%ff", "/assets/a%ffb.js", "/assets/%00"} {
		if code, _, body := r.do(t, http.MethodGet, p, ""); code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", p, code, body)
		}
	}
	if code, _, _ := r.do(t, http.MethodGet, "/assets/app.js", ""); code != http.StatusOK {
		t.Errorf("GET /assets/app.js: %d", code)
	}
}

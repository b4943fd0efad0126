package web_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// scrape returns the sample lines of /metrics, keyed by series (name and labels).
func scrape(t *testing.T, r *rig) map[string]string {
	t.Helper()
	code, h, body := r.do(t, http.MethodGet, "/metrics", "")
	if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %q", code, h.Get("Content-Type"))
	}
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

func TestMetrics(t *testing.T) {
	r := newRig(t, 5, nil)
	r.run.SuppliesStarted.Add(3)
	r.run.SuppliesCompleted.Add(2)
	r.run.SuppliesInterrupted.Add(1)
	r.run.Tickets.Add(3)
	r.run.AddEnergy(12.5, 3.75)
	r.run.Faults.Add(4)
	r.run.Restarts.Add(5)
	r.run.KafkaRecordsIn.Add(100)
	r.run.KafkaRecordsOut.Add(200)
	r.panel.Stop(context.Background(), "CP-002")
	r.panel.KnockOut(context.Background(), "CP-003", true)
	r.panel.StartSupply("CP-004", "bob")
	r.run.TelemetryLag.Observe(30 * time.Millisecond)
	r.run.TelemetryLag.Observe(30 * time.Millisecond)
	r.run.TelemetryLag.Observe(2 * time.Second)

	got := scrape(t, r)
	want := map[string]string{
		"evsim_supplies_started_total":              "3",
		"evsim_supplies_completed_total":            "2",
		"evsim_supplies_interrupted_total":          "1",
		"evsim_tickets_total":                       "3",
		"evsim_energy_kwh_total":                    "12.5",
		"evsim_revenue_eur_total":                   "3.75",
		"evsim_faults_total":                        "4",
		"evsim_actor_restarts_total":                "5",
		"evsim_kafka_records_in_total":              "100",
		"evsim_kafka_records_out_total":             "200",
		`evsim_bridge_state{state="ready"}`:         "1",
		`evsim_bridge_state{state="waiting"}`:       "0",
		"evsim_bridge_ready":                        "1",
		`evsim_charge_points{state="ACTIVATED"}`:    "2",
		`evsim_charge_points{state="SUPPLYING"}`:    "1",
		`evsim_charge_points{state="STOPPED"}`:      "1",
		`evsim_charge_points{state="FAULT"}`:        "1",
		`evsim_charge_points{state="DISCONNECTED"}`: "0",
		"evsim_active_supplies":                     "1",
		"evsim_central_up":                          "1",
		"evsim_telemetry_records_total":             "3",
		"evsim_web_stream_clients":                  "0",
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %q, want %q", series, got[series], v)
		}
	}
	// Quantiles are a bucket's upper bound: within 19 % above the truth.
	for q, want := range map[string]float64{"0.5": 0.030, "0.99": 2} {
		v, err := strconv.ParseFloat(got[`evsim_telemetry_lag_quantile_seconds{quantile="`+q+`"}`], 64)
		if err != nil || v < want || v > want*1.19 {
			t.Errorf("lag quantile %s = %v (%v), want %v..%v", q, v, err, want, want*1.19)
		}
	}
	for series := range got {
		if !strings.HasPrefix(series, "evsim_") && !strings.HasPrefix(series, "go_") &&
			!strings.HasPrefix(series, "process_") && !strings.HasPrefix(series, "promhttp_") {
			t.Errorf("series %s has no evsim_ prefix", series)
		}
	}

	// The bridge's state and Central's absence show up.
	r.bridge.Set(bridge.StateOutage, "broker gone")
	r.panel.SetFailing(webtest.ErrUnreachable)
	got = scrape(t, r)
	if got[`evsim_bridge_state{state="outage"}`] != "1" || got["evsim_bridge_ready"] != "0" || got["evsim_central_up"] != "0" {
		t.Errorf("outage: bridge_state=%q ready=%q central_up=%q", got[`evsim_bridge_state{state="outage"}`], got["evsim_bridge_ready"], got["evsim_central_up"])
	}
	r.panel.SetFailing(nil)

	// Browsers on the live stream are counted.
	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	if got := scrape(t, r)["evsim_web_stream_clients"]; got != "1" {
		t.Errorf("stream clients = %q with one browser", got)
	}
}

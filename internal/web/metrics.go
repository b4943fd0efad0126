package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the server's Prometheus registry (its own, never the global
// one) and what the live stream counts.
type metrics struct {
	reg            *prometheus.Registry
	clients        prometheus.Gauge
	streamsRefused prometheus.Counter
	streamsDropped prometheus.Counter
}

// newMetrics registers the Go runtime and process collectors and the
// collectors that read the run, the bridge and the panel at scrape time.
func newMetrics(run *stats.Run, br BridgeSource, panel central.Panel, timeout time.Duration) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "evsim_web_stream_clients",
			Help: "Browsers connected to the live stream of the web panel.",
		}),
		streamsRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "evsim_web_streams_refused_total",
			Help: "Live streams refused with 503 because the most allowed were open.",
		}),
		streamsDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "evsim_web_streams_dropped_total",
			Help: "Live streams ended because their client fell too far behind.",
		}),
	}
	m.reg.MustRegister( // fixed, distinct names: this cannot fail
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.clients, m.streamsRefused, m.streamsDropped,
		&runCollector{run: run},
		&bridgeCollector{src: br},
		&panelCollector{panel: panel, timeout: timeout},
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// runCollector reads stats.Run at scrape time.
type runCollector struct{ run *stats.Run }

var runDescs = struct {
	started, completed, interrupted, tickets, kwh, eur, faults, restarts,
	recIn, recOut, recBad, denials, registered, startup, telemetry, lag *prometheus.Desc
}{
	started:     desc("evsim_supplies_started_total", "Supplies started."),
	completed:   desc("evsim_supplies_completed_total", "Supplies that ended normally."),
	interrupted: desc("evsim_supplies_interrupted_total", "Supplies ended by a stop, a fault or a disconnection."),
	tickets:     desc("evsim_tickets_total", "Tickets issued to drivers."),
	kwh:         desc("evsim_energy_kwh_total", "Energy of every ticket, in kWh."),
	eur:         desc("evsim_revenue_eur_total", "Revenue of every ticket, in EUR."),
	faults:      desc("evsim_faults_total", "Faults reported by monitors."),
	restarts:    desc("evsim_actor_restarts_total", "Actor restarts by supervisors."),
	recIn:       desc("evsim_kafka_records_in_total", "Kafka records consumed."),
	recOut:      desc("evsim_kafka_records_out_total", "Kafka records produced."),
	recBad:      desc("evsim_kafka_records_bad_total", "Kafka records that did not decode and were skipped."),
	denials:     desc("evsim_charge_requests_denied_total", "Charge requests that Central denied."),
	registered:  desc("evsim_registered_charge_points", "Charge points registered with Central."),
	startup:     desc("evsim_startup_seconds", "Time from process start until every charge point registered; 0 until then."),
	telemetry:   desc("evsim_telemetry_records_total", "Telemetry readings Central handled."),
	lag: desc("evsim_telemetry_lag_quantile_seconds",
		"Time from a telemetry reading at the engine to Central handling it, at a quantile, since the start (upper bound of a 19 % wide bucket).", "quantile"),
}

// lagQuantiles are the quantiles of the telemetry lag that /metrics shows.
var lagQuantiles = []float64{0.5, 0.9, 0.99}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

func (c *runCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

func (c *runCollector) Collect(ch chan<- prometheus.Metric) {
	r, d := c.run, &runDescs
	counter := func(desc *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v)
	}
	counter(d.started, float64(r.SuppliesStarted.Load()))
	counter(d.completed, float64(r.SuppliesCompleted.Load()))
	counter(d.interrupted, float64(r.SuppliesInterrupted.Load()))
	counter(d.tickets, float64(r.Tickets.Load()))
	counter(d.kwh, r.KWh())
	counter(d.eur, r.EUR())
	counter(d.faults, float64(r.Faults.Load()))
	counter(d.restarts, float64(r.Restarts.Load()))
	counter(d.recIn, float64(r.KafkaRecordsIn.Load()))
	counter(d.recOut, float64(r.KafkaRecordsOut.Load()))
	counter(d.recBad, float64(r.KafkaRecordsBad.Load()))
	counter(d.denials, float64(r.Denials.Load()))
	ch <- prometheus.MustNewConstMetric(d.registered, prometheus.GaugeValue, float64(r.RegisteredCPs.Load()))
	ch <- prometheus.MustNewConstMetric(d.startup, prometheus.GaugeValue, float64(r.StartupMS())/1000)
	counter(d.telemetry, float64(r.TelemetryLag.Count()))
	for _, q := range lagQuantiles {
		ch <- prometheus.MustNewConstMetric(d.lag, prometheus.GaugeValue, r.TelemetryLag.Quantile(q).Seconds(),
			strconv.FormatFloat(q, 'f', -1, 64))
	}
}

// bridgeCollector exposes the bridge's state as one series per state, 1 for
// the current one (the usual shape of an enum in Prometheus).
type bridgeCollector struct{ src BridgeSource }

var (
	bridgeStateDesc = desc("evsim_bridge_state", "The Kafka bridge's state: 1 for the current state, 0 for the others.", "state")
	bridgeReadyDesc = desc("evsim_bridge_ready", "1 when the Kafka bridge is ready (what /readyz answers), else 0.")
	bridgeStates    = []bridge.State{bridge.StateWaiting, bridge.StateReady, bridge.StateOutage, bridge.StateFailed}
)

func (c *bridgeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- bridgeStateDesc
	ch <- bridgeReadyDesc
}

func (c *bridgeCollector) Collect(ch chan<- prometheus.Metric) {
	cur, _ := c.src.BridgeState()
	for _, s := range bridgeStates {
		ch <- prometheus.MustNewConstMetric(bridgeStateDesc, prometheus.GaugeValue, boolFloat(s == cur), s.String())
	}
	ch <- prometheus.MustNewConstMetric(bridgeReadyDesc, prometheus.GaugeValue, boolFloat(cur == bridge.StateReady))
}

// panelCollector asks Central for a snapshot at scrape time.
type panelCollector struct {
	panel   central.Panel
	timeout time.Duration
}

var (
	cpStateDesc   = desc("evsim_charge_points", "Charge points by the state Central shows.", "state")
	activeDesc    = desc("evsim_active_supplies", "Supplies running now.")
	centralUpDesc = desc("evsim_central_up", "1 when Central answered the scrape's snapshot request, else 0.")
)

func (c *panelCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cpStateDesc
	ch <- activeDesc
	ch <- centralUpDesc
}

func (c *panelCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	snap, err := c.panel.Snapshot(ctx)
	ch <- prometheus.MustNewConstMetric(centralUpDesc, prometheus.GaugeValue, boolFloat(err == nil))
	if err != nil {
		return
	}
	totals := snapshotTotals(snap)
	for _, name := range stateNames {
		ch <- prometheus.MustNewConstMetric(cpStateDesc, prometheus.GaugeValue, float64(totals.ByState[name]), name)
	}
	ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(totals.ActiveSupplies))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

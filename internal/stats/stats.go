// Package stats counts what happens in a run: supplies, tickets, energy,
// faults, restarts and Kafka records. One *Run is shared by the actors of a
// process (it is created by main and passed down, never a global); the run
// summary, the web panel and /metrics read it. Counters are atomic so that
// actors never block each other on them.
package stats

import (
	"math"
	"sync/atomic"
	"syscall"
	"time"
)

// Run holds the counters of one process's run.
type Run struct {
	SuppliesStarted     atomic.Int64
	SuppliesCompleted   atomic.Int64
	SuppliesInterrupted atomic.Int64
	Tickets             atomic.Int64
	Faults              atomic.Int64
	Restarts            atomic.Int64
	RegisteredCPs       atomic.Int64
	KafkaRecordsOut     atomic.Int64
	KafkaRecordsIn      atomic.Int64
	// KafkaRecordsBad counts records that did not decode and were skipped.
	KafkaRecordsBad atomic.Int64
	// Denials counts charge requests that Central denied.
	Denials atomic.Int64
	// TelemetryLag is the time from an engine's reading to Central handling
	// it; its count is the number of telemetry records Central received.
	TelemetryLag LagHistogram

	kwh Float
	eur Float

	// Start is when the process started; StartupMS is filled once every
	// charge point is registered.
	Start     time.Time
	startupMS atomic.Int64
	// firstSupplyMS is the time from Start to the first supply started.
	firstSupplyMS atomic.Int64
}

// New returns counters for a run that starts now.
func New() *Run { return &Run{Start: time.Now()} }

// AddEnergy adds one ticket's kWh and EUR.
func (r *Run) AddEnergy(kwh, eur float64) {
	r.kwh.Add(kwh)
	r.eur.Add(eur)
}

// KWh is the energy of all tickets so far.
func (r *Run) KWh() float64 { return r.kwh.Load() }

// EUR is the revenue of all tickets so far.
func (r *Run) EUR() float64 { return r.eur.Load() }

// MarkStartupDone records the time from Start to now, once.
func (r *Run) MarkStartupDone() {
	r.startupMS.CompareAndSwap(0, max(1, time.Since(r.Start).Milliseconds()))
}

// MarkSupplyStarted records the time from Start to the first supply, once.
func (r *Run) MarkSupplyStarted() {
	if r.firstSupplyMS.Load() == 0 {
		r.firstSupplyMS.CompareAndSwap(0, max(1, time.Since(r.Start).Milliseconds()))
	}
}

// StartupMS is the time from start to all charge points registered, 0 until then.
func (r *Run) StartupMS() int64 { return r.startupMS.Load() }

// Summary is the run summary; its JSON keys are fixed by cli.md.
type Summary struct {
	RegisteredCPs       int64   `json:"registered_cps"`
	SuppliesStarted     int64   `json:"supplies_started"`
	SuppliesCompleted   int64   `json:"supplies_completed"`
	SuppliesInterrupted int64   `json:"supplies_interrupted"`
	Tickets             int64   `json:"tickets"`
	KWh                 float64 `json:"kwh"`
	EUR                 float64 `json:"eur"`
	Faults              int64   `json:"faults"`
	Restarts            int64   `json:"restarts"`
	KafkaRecordsOut     int64   `json:"kafka_records_out"`
	KafkaRecordsIn      int64   `json:"kafka_records_in"`
	StartupMS           int64   `json:"startup_ms"`
	// Added beyond cli.md's keys: telemetry Central received, and its lag.
	TelemetryRecords  int64   `json:"telemetry_records"`
	TelemetryLagP50MS float64 `json:"telemetry_lag_p50_ms"`
	TelemetryLagP99MS float64 `json:"telemetry_lag_p99_ms"`
	Denials           int64   `json:"denials"`
	FirstSupplyMS     int64   `json:"first_supply_ms"`
	// Filled by the process at the end of a run (getrusage): CPU time used
	// and peak resident memory.
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
}

// AddProcessUsage fills CPUSeconds and PeakRSSMB from the process's own usage.
func (s *Summary) AddProcessUsage() {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.CPUSeconds = math.Round(cpu.Seconds()*100) / 100
	s.PeakRSSMB = math.Round(float64(ru.Maxrss)/1024*10) / 10 // Maxrss is in KiB on Linux
}

// Snapshot reads every counter.
func (r *Run) Snapshot() Summary {
	return Summary{
		RegisteredCPs:       r.RegisteredCPs.Load(),
		SuppliesStarted:     r.SuppliesStarted.Load(),
		SuppliesCompleted:   r.SuppliesCompleted.Load(),
		SuppliesInterrupted: r.SuppliesInterrupted.Load(),
		Tickets:             r.Tickets.Load(),
		KWh:                 math.Round(r.KWh()*1000) / 1000,
		EUR:                 math.Round(r.EUR()*100) / 100,
		Faults:              r.Faults.Load(),
		Restarts:            r.Restarts.Load(),
		KafkaRecordsOut:     r.KafkaRecordsOut.Load(),
		KafkaRecordsIn:      r.KafkaRecordsIn.Load(),
		StartupMS:           r.StartupMS(),
		TelemetryRecords:    r.TelemetryLag.Count(),
		TelemetryLagP50MS:   ms(r.TelemetryLag.Quantile(0.50)),
		TelemetryLagP99MS:   ms(r.TelemetryLag.Quantile(0.99)),
		Denials:             r.Denials.Load(),
		FirstSupplyMS:       r.firstSupplyMS.Load(),
	}
}

// Float is an atomic float64.
type Float struct{ bits atomic.Uint64 }

// Add adds d.
func (f *Float) Add(d float64) {
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// Load reads the value.
func (f *Float) Load() float64 { return math.Float64frombits(f.bits.Load()) }

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

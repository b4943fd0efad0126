package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/evcharging/evsim/internal/stats"
)

// PrintSummary writes the run summary as a table an operator reads at the end.
func PrintSummary(w io.Writer, s stats.Summary, ran time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Run summary (%s)\n", ran.Round(100*time.Millisecond))
	rows := []struct {
		name  string
		value any
	}{
		{"charge points registered", s.RegisteredCPs},
		{"supplies started", s.SuppliesStarted},
		{"supplies completed", s.SuppliesCompleted},
		{"supplies interrupted", s.SuppliesInterrupted},
		{"tickets", s.Tickets},
		{"energy (kWh)", fmt.Sprintf("%.3f", s.KWh)},
		{"revenue (EUR)", fmt.Sprintf("%.2f", s.EUR)},
		{"faults", s.Faults},
		{"actor restarts", s.Restarts},
		{"Kafka records out", s.KafkaRecordsOut},
		{"Kafka records in", s.KafkaRecordsIn},
		{"start-up to all registered (ms)", s.StartupMS},
		{"start-up to first supply (ms)", s.FirstSupplyMS},
		{"telemetry lag p50 / p99 (ms)", fmt.Sprintf("%.1f / %.1f", s.TelemetryLagP50MS, s.TelemetryLagP99MS)},
		{"CPU (s) / peak memory (MB)", fmt.Sprintf("%.1f / %.0f", s.CPUSeconds, s.PeakRSSMB)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%v\n", r.name, r.value)
	}
	tw.Flush()
}

// WriteSummaryJSON writes the summary with the keys of cli.md to path,
// atomically (a temporary file renamed into place).
func WriteSummaryJSON(path string, s stats.Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

package web_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/web"
)

// /api/series samples the run's counters; ?after= returns only newer
// samples, and all of them to a client that saw an earlier run.
func TestTheSeriesSamplesTheRunsCounters(t *testing.T) {
	r := newRig(t, 1, func(o *web.Options) { o.SeriesInterval, o.SeriesPoints = 20*time.Millisecond, 50 })
	r.run.SuppliesStarted.Add(2)
	r.run.SuppliesCompleted.Add(1)
	r.run.Tickets.Add(1)
	r.run.AddEnergy(3.5, 1.05)
	var s web.Series
	eventually(t, "a sample with the new counters", func() bool {
		r.getJSON(t, "/api/series", http.StatusOK, &s)
		last := s.Points[len(s.Points)-1]
		return last.KWh == 3.5 && last.EUR == 1.05 && last.Tickets == 1 && last.SuppliesStarted == 2 && last.ActiveSupplies == 1
	})
	if first := s.Points[0]; first.KWh != 0 || first.Seq != 1 || s.IntervalS != 0.02 {
		t.Errorf("the first sample %+v (interval %v s), want zeros, seq 1 and 0.02 s", first, s.IntervalS)
	}
	last := s.Points[len(s.Points)-1].Seq
	var newer web.Series
	r.getJSON(t, fmt.Sprintf("/api/series?after=%d", last), http.StatusOK, &newer)
	for _, p := range newer.Points {
		if p.Seq <= last {
			t.Fatalf("after=%d returned sample %d", last, p.Seq)
		}
	}
	eventually(t, "at most SeriesPoints samples kept", func() bool {
		r.getJSON(t, "/api/series?after=1000000", http.StatusOK, &s) // a client of an earlier run: all of them
		return len(s.Points) == 50 && s.Points[0].Seq > 1
	})
}

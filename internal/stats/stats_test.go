package stats

import (
	"sync"
	"testing"
	"time"
)

func TestLagQuantilesAreWithinABucketOfTheTruth(t *testing.T) {
	var h LagHistogram
	// 1..1000 ms, one each: p50 = 500 ms, p99 = 990 ms.
	for i := 1; i <= 1000; i++ {
		h.Observe(time.Duration(i) * time.Millisecond)
	}
	check := func(q float64, want time.Duration) {
		got := h.Quantile(q)
		if got < want || float64(got) > float64(want)*1.2 {
			t.Errorf("q%.2f = %v, want %v (+19%%)", q, got, want)
		}
	}
	check(0.50, 500*time.Millisecond)
	check(0.99, 990*time.Millisecond)
	if h.Count() != 1000 {
		t.Fatalf("count %d", h.Count())
	}
	var empty LagHistogram
	if empty.Quantile(0.5) != 0 {
		t.Fatal("empty histogram has a quantile")
	}
}

func TestCountersAreSafeUnderConcurrency(t *testing.T) {
	r := New()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				r.AddEnergy(0.5, 0.15)
				r.TelemetryLag.Observe(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	s := r.Snapshot()
	if s.KWh != 4000 || s.EUR != 1200 || s.TelemetryRecords != 8000 {
		t.Fatalf("lost updates: %+v", s)
	}
	if s.TelemetryLagP50MS < 1 || s.TelemetryLagP50MS > 1.2 {
		t.Fatalf("p50 %v ms", s.TelemetryLagP50MS)
	}
}

func TestStartupIsMarkedOnce(t *testing.T) {
	r := New()
	if r.StartupMS() != 0 {
		t.Fatal("startup marked before done")
	}
	r.MarkStartupDone()
	first := r.StartupMS()
	r.MarkStartupDone()
	if first == 0 || r.StartupMS() != first {
		t.Fatalf("startup %d then %d", first, r.StartupMS())
	}
}

func TestProcessUsageIsFilled(t *testing.T) {
	// Burn a little CPU so the figure cannot be zero by rounding.
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; x++ {
	}
	s := New().Snapshot()
	s.AddProcessUsage()
	if s.CPUSeconds <= 0 || s.PeakRSSMB <= 1 {
		t.Fatalf("usage not filled (%d loops): cpu %v s, rss %v MB", x, s.CPUSeconds, s.PeakRSSMB)
	}
}

func TestFirstSupplyIsMarkedOnce(t *testing.T) {
	r := New()
	if r.Snapshot().FirstSupplyMS != 0 {
		t.Fatal("first supply marked before any")
	}
	r.MarkSupplyStarted()
	first := r.Snapshot().FirstSupplyMS
	r.MarkSupplyStarted()
	if first == 0 || r.Snapshot().FirstSupplyMS != first {
		t.Fatalf("first supply %d then %d", first, r.Snapshot().FirstSupplyMS)
	}
}

package web

import (
	"net/http"
	"sync"
	"time"

	"github.com/evcharging/evsim/internal/stats"
)

// The panel's plots (energy delivered and supplies over time) read
// GET /api/series: a sample of this process's counters every
// Options.SeriesInterval, the last Options.SeriesPoints of them kept. The
// counters are atomics that Central keeps anyway, so a sample costs nothing
// whatever the size of the network, and asks Central nothing.

// SeriesPoint is one sample.
type SeriesPoint struct {
	// Seq numbers the samples from 1; ?after=Seq asks for the newer ones.
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	// KWh, EUR and Tickets are this run's tickets so far (energy delivered
	// by the supplies that ended).
	KWh     float64 `json:"kwh"`
	EUR     float64 `json:"eur"`
	Tickets int64   `json:"tickets"`
	// SuppliesStarted counts this run's supplies so far; ActiveSupplies the
	// ones running at the sample (started and not yet ended).
	SuppliesStarted int64 `json:"supplies_started"`
	ActiveSupplies  int64 `json:"active_supplies"`
}

// Series answers GET /api/series.
type Series struct {
	IntervalS float64       `json:"interval_s"`
	Points    []SeriesPoint `json:"points"` // oldest first
}

// series keeps the samples; the sampler goroutine appends, handlers read.
type series struct {
	run      *stats.Run
	interval time.Duration
	keep     int

	mu     sync.Mutex
	points []SeriesPoint
	seq    uint64
}

func newSeries(run *stats.Run, interval time.Duration, keep int) *series {
	s := &series{run: run, interval: interval, keep: keep}
	s.sample(time.Now())
	return s
}

// sample takes one point of the counters.
func (s *series) sample(now time.Time) {
	r := s.run
	started := r.SuppliesStarted.Load()
	active := started - r.SuppliesCompleted.Load() - r.SuppliesInterrupted.Load()
	p := SeriesPoint{
		At: now.UTC(), KWh: round(r.KWh(), 4), EUR: round(r.EUR(), 4), Tickets: r.Tickets.Load(),
		SuppliesStarted: started, ActiveSupplies: max(active, 0),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	p.Seq = s.seq
	s.points = append(s.points, p)
	if len(s.points) > 2*s.keep { // trim in steps: O(1) amortised
		s.points = append([]SeriesPoint(nil), s.points[len(s.points)-s.keep:]...)
	}
}

// run samples every interval until closing is closed.
func (s *series) sampleUntil(closing <-chan struct{}) {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-closing:
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}

// after copies the kept points with a seq above after; all of them when
// after is beyond the newest (the client saw an earlier run of the server).
func (s *series) after(after uint64) []SeriesPoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if after > s.seq {
		after = 0
	}
	pts := s.points
	if len(pts) > s.keep {
		pts = pts[len(pts)-s.keep:]
	}
	out := []SeriesPoint{}
	for _, p := range pts {
		if p.Seq > after {
			out = append(out, p)
		}
	}
	return out
}

// plotRoutes serves the samples and starts taking them.
func (s *Server) plotRoutes(mux *routeMux) {
	s.series = newSeries(s.opts.Run, s.opts.SeriesInterval, s.opts.SeriesPoints)
	go s.series.sampleUntil(s.closing)
	mux.HandleFunc("GET /api/series", s.listSeries)
	mux.Handle("/api/series", methodNotAllowed("GET, HEAD"))
}

// listSeries answers GET /api/series[?after=SEQ].
func (s *Server) listSeries(w http.ResponseWriter, r *http.Request) {
	after, err := queryUint(r.URL.Query().Get("after"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "after: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, Series{IntervalS: s.opts.SeriesInterval.Seconds(), Points: s.series.after(after)})
}

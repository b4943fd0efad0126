package config

import "time"

// WebApp holds the web server's knobs beyond the live panel's streams: the
// driver app's desk and the samples behind the panel's plots.
type WebApp struct {
	// DriverReplyTimeout: the driver app shows a request unanswered when
	// Central has not answered it by then.
	DriverReplyTimeout time.Duration
	// DriverMax bounds the drivers the driver app follows at once.
	DriverMax int
	// SeriesInterval is how often the plots' counters are sampled.
	SeriesInterval time.Duration
	// SeriesPoints is how many samples are kept.
	SeriesPoints int
	// MemberTimeout bounds each call to another Central of a shared group
	// for the whole network's charge points.
	MemberTimeout time.Duration
}

// AddWebAppFlags adds the driver app's and the plots' flags.
func AddWebAppFlags(fs *FlagSet, w *WebApp) {
	fs.Duration(&w.DriverReplyTimeout, "driver-app-reply-timeout", "", 10*time.Second, "the driver app (/driver) shows a request unanswered when Central has not answered it by then")
	fs.Int(&w.DriverMax, "driver-app-max-drivers", "", 1000, "drivers the driver app follows at once (each a subscription of this process)")
	fs.Duration(&w.SeriesInterval, "http-series-interval", "", 2*time.Second, "how often the panel's plots sample the run's counters (/api/series)")
	fs.Int(&w.SeriesPoints, "http-series-points", "", 1800, "samples kept for the panel's plots (1800 at 2s: an hour)")
	fs.Duration(&w.MemberTimeout, "http-member-timeout", "", 2*time.Second, "how long /api/cluster/chargepoints waits for each other Central of a shared group")
}

// Validate names the flag that is out of range.
func (w *WebApp) Validate() error {
	switch {
	case w.DriverReplyTimeout <= 0:
		return Usagef("driver-app-reply-timeout", "must be more than 0")
	case w.DriverMax < 1:
		return Usagef("driver-app-max-drivers", "%d must be at least 1", w.DriverMax)
	case w.SeriesInterval < 100*time.Millisecond:
		return Usagef("http-series-interval", "%v must be at least 100ms", w.SeriesInterval)
	case w.SeriesPoints < 2 || w.SeriesPoints > 100_000:
		return Usagef("http-series-points", "%d must be from 2 to 100000", w.SeriesPoints)
	case w.MemberTimeout <= 0:
		return Usagef("http-member-timeout", "must be more than 0")
	}
	return nil
}

package weather

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/messages"
)

// ActorName is the weather office's actor name.
const ActorName = "weather"

// DefaultInterval is how often the office reads, as the lab's EV_W does.
const DefaultInterval = 4 * time.Second

// Config configures the weather office.
type Config struct {
	// Bridge is the bridge actor of this process. Required.
	Bridge *actor.PID
	// Provider reads the temperatures. Required.
	Provider Provider
	// Interval is how often every city is read. Default DefaultInterval.
	Interval time.Duration
	// Cities are always read (e.g. --cities).
	Cities []string
	// Locations, when set, lists the charge points' locations; their
	// cities (CityOf) are read too. It is asked before every round; when it
	// fails, the cities it gave last are kept.
	Locations func(ctx context.Context) ([]string, error)
	// Audit, when set, records every alert raised and cancelled.
	Audit  *audit.Log
	Logger logrus.FieldLogger
	Now    func() time.Time
}

func (c *Config) setDefaults() {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Logger == nil {
		c.Logger = logging.Discard()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate checks the configuration (after defaults).
func (c *Config) Validate() error {
	switch {
	case c.Bridge == nil:
		return errors.New("weather config: no bridge PID")
	case c.Provider == nil:
		return errors.New("weather config: no provider")
	case c.Interval <= 0:
		return errors.New("weather config: Interval must be more than 0")
	}
	return nil
}

// Props returns the office's props, with defaults applied and validated.
func Props(cfg Config) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor { return &office{cfg: cfg} },
		actor.WithReceiverMiddleware(supervision.CaptureStack)), nil
}

type (
	tick   struct{}
	polled struct {
		readings []polledReading
		cities   []string // the charge points' cities this round (nil: unknown)
	}
	polledReading struct {
		city    string
		celsius float64
		at      time.Time
		err     error
	}
)

// office is the weather office actor. It reads on a goroutine of its own
// (a provider may take seconds to answer) and handles the results here.
type office struct {
	cfg    Config
	log    *logrus.Entry
	timers *timer.Timers
	cancel context.CancelFunc
	busy   bool

	cpCities []string        // the cities Locations gave last
	alerts   map[string]bool // city key -> under an alert, as published in this life
	last     map[string]float64
	failing  map[string]string // city key -> the failure kind of its last reading
	warned   map[string]bool   // failure kinds said at WARN and not over yet
}

func (o *office) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		o.log = logging.Component(o.cfg.Logger, "Weather")
		o.timers = timer.New(ctx)
		o.alerts, o.last = map[string]bool{}, map[string]float64{}
		o.failing, o.warned = map[string]string{}, map[string]bool{}
		o.timers.Every(o.cfg.Interval, &tick{})
		o.log.Infof("Weather office started: reading %s every %v", o.cfg.Provider.Name(), o.cfg.Interval)
		o.poll(ctx)
	case *actor.Stopping, *actor.Restarting:
		o.timers.StopAll()
		if o.cancel != nil {
			o.cancel()
		}
	case *tick:
		o.poll(ctx)
	case *polled:
		o.busy = false
		if m.cities != nil {
			o.cpCities = m.cities
		}
		o.handle(ctx, m.readings)
	case *supervision.Crash:
		panic("crash requested: " + m.Reason)
	}
}

// poll reads every city on a goroutine, unless the last round still runs.
func (o *office) poll(ctx actor.Context) {
	if o.busy {
		return
	}
	o.busy = true
	rctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	self, root := ctx.Self(), ctx.ActorSystem().Root
	cfg, known := o.cfg, o.cpCities
	go func() {
		defer cancel()
		var cpCities []string
		if cfg.Locations != nil {
			lctx, lcancel := context.WithTimeout(rctx, cfg.Interval)
			locations, err := cfg.Locations(lctx)
			lcancel()
			if err == nil {
				cpCities = []string{}
				for _, l := range locations {
					if c := CityOf(l); c != "" {
						cpCities = append(cpCities, c)
					}
				}
				known = cpCities
			}
		}
		var own []string
		if l, ok := cfg.Provider.(CityLister); ok {
			own = l.Cities()
		}
		cities := unionCities(cfg.Cities, known, own)
		out := &polled{cities: cpCities}
		for _, city := range cities {
			if rctx.Err() != nil {
				return
			}
			c, err := cfg.Provider.Read(rctx, city)
			out.readings = append(out.readings, polledReading{city: city, celsius: c, at: cfg.Now(), err: err})
		}
		root.Send(self, out)
	}()
}

func (o *office) handle(ctx actor.Context, readings []polledReading) {
	failed := map[string]bool{}
	for _, r := range readings {
		key := CityKey(r.city)
		if r.err != nil {
			kind := failKind(r.err)
			warnKey := kind
			if kind == FailNotFound {
				warnKey = kind + ":" + key
			}
			failed[warnKey] = true
			o.failing[key] = warnKey
			o.failure(r, warnKey)
			continue
		}
		if was := o.failing[key]; was != "" {
			delete(o.failing, key)
			o.log.WithField("city", r.city).Infof("Readings for %s from %s again (after: %s)", r.city, o.cfg.Provider.Name(), strings.TrimSuffix(was, ":"+key))
		}
		o.reading(ctx, r)
	}
	for k := range o.warned {
		if !failed[k] && !o.stillFailing(k) {
			delete(o.warned, k) // over: the next such failure is said again
		}
	}
}

// stillFailing says whether a city not read this round still fails this way.
func (o *office) stillFailing(warnKey string) bool {
	for _, k := range o.failing {
		if k == warnKey {
			return true
		}
	}
	return false
}

// failure keeps the city's last reading: one WARN per kind of failure.
func (o *office) failure(r polledReading, warnKey string) {
	kept := "no reading yet"
	if c, ok := o.last[CityKey(r.city)]; ok {
		kept = "keeping its last reading, " + FormatCelsius(c)
	}
	if o.warned[warnKey] {
		o.log.WithField("city", r.city).Debugf("No reading for %s: %v; %s", r.city, r.err, kept)
		return
	}
	o.warned[warnKey] = true
	o.log.WithField("city", r.city).Warnf("No reading for %s from %s: %v; %s", r.city, o.cfg.Provider.Name(), r.err, kept)
}

// reading publishes a reading and, when the city's alert state changes (or
// on its first reading in this life), the alert state.
func (o *office) reading(ctx actor.Context, r polledReading) {
	key := CityKey(r.city)
	o.last[key] = r.celsius
	at := timestamppb.New(r.at)
	ctx.Send(o.cfg.Bridge, &bridge.Publish{Topic: bridge.TopicWeatherReadings, Key: key, Msg: &messages.WeatherReading{
		City: r.city, Celsius: r.celsius, At: at, Provider: o.cfg.Provider.Name()}})
	alert := Alerting(r.celsius)
	was, known := o.alerts[key]
	if known && was == alert {
		return
	}
	o.alerts[key] = alert
	// Keyed by the city on a compacted topic: its latest record is the
	// city's state for a Central that starts later.
	ctx.Send(o.cfg.Bridge, &bridge.Publish{Topic: bridge.TopicWeatherAlerts, Key: key, Msg: &messages.WeatherAlert{
		City: r.city, Active: alert, Celsius: r.celsius, At: at}})
	t := FormatCelsius(r.celsius)
	log := o.log.WithField("city", r.city)
	switch {
	case alert:
		log.Infof("Weather alert for %s: %s; its charge points go out of service", r.city, t)
		o.audit("weather.alert", r.city, t)
	case known:
		log.Infof("Weather alert for %s cancelled: %s", r.city, t)
		o.audit("weather.cancel", r.city, t)
	default:
		// First reading in this life: the state is published (a cancel
		// that Central ignores unless an alert holds, e.g. one raised
		// before this office restarted).
		log.Debugf("%s: %s, no alert", r.city, t)
	}
}

func (o *office) audit(action, city, detail string) {
	if o.cfg.Audit == nil {
		return
	}
	if _, err := o.cfg.Audit.Append(audit.Event{Who: "weather", Action: action, Target: city, Outcome: audit.OutcomeOK,
		Detail: fmt.Sprintf("%s (%s)", detail, o.cfg.Provider.Name())}); err != nil {
		o.log.WithError(err).Error("Cannot write the audit log")
	}
}

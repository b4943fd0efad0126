package central

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/weather"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/messages"
)

// Weather: the weather office's alerts put every charge point of a city out
// of service (STOPPED, reason "weather alert: Alicante −2 °C"; a running
// supply ends with its ticket) until the alert is cancelled. A weather stop
// and an operator's stop are two causes (cpEntry.weather, cpEntry.stopped):
// a charge point is back in service only when both are lifted.
//
// Alerts come from the compacted weather alerts topic, read from its
// beginning by each life of Central (a consumer group of its own, as the
// registry topic), so an alert raised or cancelled while Central was down
// is applied when it returns, and weather stops need no database: they are
// rebuilt from the topic. Alert records are applied weatherSettle after the
// last one of a burst, latest per city, so that replaying a city's old
// alert and its cancel at start does not stop and resume its charge points.

// Event kinds of the weather.
const (
	EventWeatherAlert  = "weather-alert"
	EventWeatherCancel = "weather-cancel"
)

// weatherSettle is how long alert records are collected before they are applied.
const weatherSettle = 250 * time.Millisecond

// weatherHistory is how many readings Central keeps per city (24 min at 4 s).
const weatherHistory = 360

// GetWeather asks Central for the weather of every city it knows (with
// readings, an alert, or charge points); it answers with *WeatherReport.
type GetWeather struct{}

// WeatherReport answers GetWeather.
type WeatherReport struct{ Cities []CityWeather }

// CityWeather is one city as the weather view shows it.
type CityWeather struct {
	City string
	// Celsius is the last reading, at At (zero At: no reading yet).
	Celsius float64
	At      time.Time
	// Alert: the city's charge points are out of service, since AlertSince, for Reason.
	Alert      bool
	AlertSince time.Time
	Reason     string
	// ChargePoints are the ids of the charge points in the city, sorted, at
	// most maxListedIDs of them; ChargePointCount counts them all.
	ChargePoints     []string
	ChargePointCount int
	// History are the last readings, oldest first.
	History []WeatherPoint
}

// WeatherPoint is one reading.
type WeatherPoint struct {
	At      time.Time
	Celsius float64
}

// WeatherPanel is a Panel that also shows the weather.
type WeatherPanel interface {
	Weather(ctx context.Context) (*WeatherReport, error)
}

// Weather implements WeatherPanel.
func (p *actorPanel) Weather(ctx context.Context) (*WeatherReport, error) {
	res, err := p.ask(ctx, &GetWeather{})
	if err != nil {
		return nil, err
	}
	r, ok := res.(*WeatherReport)
	if !ok {
		return nil, fmt.Errorf("central answered %T to a weather request", res)
	}
	return r, nil
}

// cityWeather is what Central knows of one city.
type cityWeather struct {
	name       string
	alert      bool
	alertSince time.Time
	reason     string
	history    []WeatherPoint
}

// weatherState is Central's weather: cities by key, the alert records
// waiting to be applied, and which charge points stand in which city (kept
// as they register: working it out from every location on each request
// took 95 ms at 100,000 charge points).
type weatherState struct {
	cities  map[string]*cityWeather
	pending map[string]*messages.WeatherAlert
	timer   bool              // an apply is scheduled
	cityOf  map[string]string // cp id -> city key ("" = its location names none)
	inCity  map[string]*cityIDs
	rescans int // how often indexed looked through every charge point
}

// cityIDs are the charge points of one city, sorted when asked after a change.
type cityIDs struct {
	set    map[string]struct{}
	sorted []string
	dirty  bool
}

// maxListedIDs bounds the charge point ids a report lists per city.
const maxListedIDs = 100

type applyWeather struct{}

func (c *Central) wx() *weatherState {
	if c.weatherState == nil {
		c.weatherState = &weatherState{cities: map[string]*cityWeather{}, pending: map[string]*messages.WeatherAlert{},
			cityOf: map[string]string{}, inCity: map[string]*cityIDs{}}
	}
	return c.weatherState
}

// indexed is the weather state with every charge point placed in its city:
// those added since (loaded at start, or added elsewhere than a
// registration) are placed now.
func (c *Central) indexed() *weatherState {
	w := c.wx()
	if len(w.cityOf) != len(c.cps) {
		w.rescans++
		for id, cp := range c.cps {
			if _, ok := w.cityOf[id]; !ok {
				w.place(id, cp.reg.Location)
			}
		}
	}
	return w
}

// place puts a charge point in the city of its location and returns the city's key.
func (w *weatherState) place(id, location string) string {
	city := weather.CityOf(location)
	key := weather.CityKey(city)
	old, known := w.cityOf[id]
	if known && old == key {
		return key
	}
	if ids := w.inCity[old]; known && ids != nil {
		delete(ids.set, id)
		ids.dirty = true
	}
	w.cityOf[id] = key
	if key == "" {
		return key
	}
	w.city(city)
	ids := w.inCity[key]
	if ids == nil {
		ids = &cityIDs{set: map[string]struct{}{}}
		w.inCity[key] = ids
	}
	ids.set[id] = struct{}{}
	ids.dirty = true
	return key
}

// ids lists a city's charge points, sorted.
func (w *weatherState) ids(key string) []string {
	ids := w.inCity[key]
	if ids == nil {
		return nil
	}
	if ids.dirty {
		ids.sorted = ids.sorted[:0]
		for id := range ids.set {
			ids.sorted = append(ids.sorted, id)
		}
		sort.Strings(ids.sorted)
		ids.dirty = false
	}
	return ids.sorted
}

func (w *weatherState) city(name string) *cityWeather {
	k := weather.CityKey(name)
	cw := w.cities[k]
	if cw == nil {
		cw = &cityWeather{name: name}
		w.cities[k] = cw
	}
	return cw
}

// weatherGroup reads the weather topics from their beginning, once per life.
func (c *Central) weatherGroup() string { return c.cfg.Group + "-weather-" + c.instance }

func (c *Central) subscribeWeather(ctx actor.Context, unsubscribe bool) {
	for _, t := range []string{bridge.TopicWeatherAlerts, bridge.TopicWeatherReadings} {
		if unsubscribe {
			ctx.Send(c.cfg.Bridge, &bridge.Unsubscribe{Topic: t, Group: c.weatherGroup(), Subscriber: ctx.Self()})
		} else {
			ctx.Send(c.cfg.Bridge, &bridge.Subscribe{Topic: t, Group: c.weatherGroup(), Subscriber: ctx.Self()})
		}
	}
}

// weatherMessage handles Central's weather messages; false if msg is none.
func (c *Central) weatherMessage(ctx actor.Context, msg any) bool {
	switch msg.(type) {
	case *GetWeather:
		ctx.Respond(c.weatherReport())
	case *applyWeather:
		c.applyPendingWeather(ctx)
	default:
		return false
	}
	return true
}

// weatherRecord takes in a record of the weather topics.
func (c *Central) weatherRecord(ctx actor.Context, msg proto.Message) {
	w := c.wx()
	switch m := msg.(type) {
	case *messages.WeatherReading:
		if m.GetCity() == "" {
			return
		}
		cw := w.city(m.GetCity())
		p := WeatherPoint{At: m.GetAt().AsTime(), Celsius: m.GetCelsius()}
		if n := len(cw.history); n > 0 && !p.At.After(cw.history[n-1].At) {
			return // delivered again
		}
		cw.history = append(cw.history, p)
		if len(cw.history) >= 2*weatherHistory {
			cw.history = append([]WeatherPoint(nil), cw.history[len(cw.history)-weatherHistory:]...)
		}
	case *messages.WeatherAlert:
		if m.GetCity() == "" {
			return
		}
		w.pending[weather.CityKey(m.GetCity())] = m
		if !w.timer {
			w.timer = true
			c.timers.After(weatherSettle, &applyWeather{})
		}
	}
}

func (c *Central) applyPendingWeather(ctx actor.Context) {
	w := c.wx()
	w.timer = false
	keys := make([]string, 0, len(w.pending))
	for k := range w.pending {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.applyAlert(ctx, w.pending[k])
		delete(w.pending, k)
	}
	c.log.Debugf("Applied the weather alert records of %d %s", len(keys), map[bool]string{true: "city", false: "cities"}[len(keys) == 1])
}

// applyAlert raises or cancels a city's alert and acts on its charge points.
func (c *Central) applyAlert(ctx actor.Context, a *messages.WeatherAlert) {
	cw := c.wx().city(a.GetCity())
	cps := c.chargePointsIn(cw.name)
	t := weather.FormatCelsius(a.GetCelsius())
	if a.GetActive() {
		reason := fmt.Sprintf("weather alert: %s %s", cw.name, t)
		if !cw.alert {
			cw.alert, cw.alertSince = true, c.cfg.Now()
			c.log.WithField("city", cw.name).Infof("Weather alert for %s (%s): %s out of service", cw.name, t, countCPs(len(cps)))
			c.event(EventWeatherAlert, "", "", fmt.Sprintf("Weather alert for %s: %s; %s out of service", cw.name, t, countCPs(len(cps))))
			c.audit(audit.Event{Who: "central", Action: "weather.alert.applied", Target: cw.name, Outcome: audit.OutcomeOK,
				Detail: fmt.Sprintf("%s; %s stopped", t, countCPs(len(cps)))})
		}
		cw.reason = reason
		for _, cp := range cps {
			c.weatherStop(ctx, cp, reason)
		}
		return
	}
	if !cw.alert {
		return // a cancel of no alert: the office's first reading in its life
	}
	cw.alert, cw.reason = false, ""
	c.log.WithField("city", cw.name).Infof("Weather alert for %s cancelled (%s): %s in the city", cw.name, t, countCPs(len(cps)))
	c.event(EventWeatherCancel, "", "", fmt.Sprintf("Weather alert for %s cancelled: %s", cw.name, t))
	c.audit(audit.Event{Who: "central", Action: "weather.cancel.applied", Target: cw.name, Outcome: audit.OutcomeOK, Detail: t})
	for _, cp := range cps {
		c.weatherLift(ctx, cp)
	}
}

func countCPs(n int) string {
	if n == 1 {
		return "1 charge point"
	}
	return fmt.Sprintf("%d charge points", n)
}

// chargePointsIn lists the charge points of a city, by id.
func (c *Central) chargePointsIn(city string) []*cpEntry {
	ids := c.indexed().ids(weather.CityKey(city))
	out := make([]*cpEntry, 0, len(ids))
	for _, id := range ids {
		if cp := c.cps[id]; cp != nil {
			out = append(out, cp)
		}
	}
	return out
}

// outOfService: stopped by the operator or by a weather alert.
func (cp *cpEntry) outOfService() bool { return cp.stopped || cp.weather != "" }

// weatherStop puts a charge point out of service for a weather alert: a
// running supply ends (the engine reports it, Central makes its one ticket)
// and a start in progress is denied.
func (c *Central) weatherStop(ctx actor.Context, cp *cpEntry, reason string) {
	if cp.weather == reason {
		return
	}
	first, wasOut := cp.weather == "", cp.outOfService()
	cp.weather = reason
	id := cp.reg.ID
	if !wasOut {
		cp.lastOrder = c.cfg.Now()
		c.command(ctx, id, &messages.Command{Kind: &messages.Command_Stop{Stop: &messages.StopChargePoint{}}})
		if s := cp.session; s != nil {
			c.notice(ctx, s.DriverID, id, s.SessionID, fmt.Sprintf("%s is out of service (%s); your supply ends now and you get a ticket", id, reason))
		}
		if cp.pending != nil {
			c.abortStart(ctx, cp, messages.DenyReason_DENY_REASON_STOPPED, fmt.Sprintf("%s is out of service (%s)", id, reason),
				messages.EndReason_END_REASON_STOPPED_BY_CENTRAL)
		}
	}
	if first {
		c.log.WithField("cp_id", id).Infof("%s STOPPED: %s", id, reason)
		c.event(EventStopped, id, "", fmt.Sprintf("%s STOPPED: %s", id, reason))
	}
	c.update(ctx, cp)
}

// weatherLift ends a charge point's weather stop; it is back in service
// unless an operator stopped it too.
func (c *Central) weatherLift(ctx actor.Context, cp *cpEntry) {
	if cp.weather == "" {
		return
	}
	cp.weather = ""
	id := cp.reg.ID
	if cp.stopped {
		c.log.WithField("cp_id", id).Infof("%s stays STOPPED: the weather alert is over, but the operator stopped it", id)
	} else {
		cp.lastOrder = c.cfg.Now()
		c.command(ctx, id, &messages.Command{Kind: &messages.Command_Resume{Resume: &messages.ResumeChargePoint{}}})
		c.log.WithField("cp_id", id).Infof("%s back in service: the weather alert is over", id)
		c.event(EventResumed, id, "", fmt.Sprintf("%s back in service: the weather alert is over", id))
	}
	c.update(ctx, cp)
}

// weatherDenial is the reason a request for a charge point held by a
// weather alert is denied with: the alert, rather than "stopped by Central".
func (c *Central) weatherDenial(cp *cpEntry, detail string) string {
	if cp.weather != "" && cp.state == messages.ChargePointState_CHARGE_POINT_STATE_STOPPED {
		return fmt.Sprintf("%s is out of service (%s)", cp.reg.ID, cp.weather)
	}
	return detail
}

// weatherOnRegister applies its city's alert to a charge point that
// registers (a new one joins stopped) or lifts it if it moved elsewhere.
func (c *Central) weatherOnRegister(ctx actor.Context, cp *cpEntry) {
	// Placed first: indexed then finds every charge point placed and looks
	// through none (once per registration, that was N² at start-up).
	key := c.wx().place(cp.reg.ID, cp.reg.Location)
	w := c.indexed()
	cw := w.cities[key]
	if cw != nil && cw.alert {
		c.weatherStop(ctx, cp, cw.reason)
	} else {
		c.weatherLift(ctx, cp)
	}
}

func (c *Central) weatherReport() *WeatherReport {
	w := c.indexed()
	keys := make([]string, 0, len(w.cities))
	for k := range w.cities {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	r := &WeatherReport{Cities: make([]CityWeather, 0, len(keys))}
	for _, k := range keys {
		cw := w.cities[k]
		h := cw.history
		if len(h) > weatherHistory {
			h = h[len(h)-weatherHistory:]
		}
		ids := w.ids(k)
		v := CityWeather{City: cw.name, Alert: cw.alert, AlertSince: cw.alertSince, Reason: cw.reason,
			ChargePoints: append([]string(nil), ids[:min(len(ids), maxListedIDs)]...), ChargePointCount: len(ids),
			History: append([]WeatherPoint(nil), h...)}
		if len(h) > 0 {
			v.Celsius, v.At = h[len(h)-1].Celsius, h[len(h)-1].At
		}
		r.Cities = append(r.Cities, v)
	}
	return r
}

// Package webtest offers an in-memory central.Panel that behaves like Central
// for the panel's purposes: stop, resume and KO change states the way
// rules.md says, supplies run and end with tickets, and watchers get every
// change. Tests of the web server and its browser test use it until a real
// network runs; it is not for production.
package webtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/messages"
)

// Panel is a fake Central. The zero value is not usable; call NewPanel.
type Panel struct {
	mu       sync.Mutex
	cps      map[string]*cp
	events   []central.Event
	seq      uint64
	kwh, eur float64
	tickets  int64
	watchers map[int]chan central.Update
	nextW    int
	sessions int
	failing  error
}

type cp struct {
	view                   central.ChargePointView
	stopped, ko, connected bool
}

var locations = []string{
	"Alicante · Rambla 12", "Madrid · Gran Vía 30", "Valencia · Port 4", "Sevilla · Triana 7",
	"Bilbao · Abando 2", "Murcia · Plaza Mayor", "Granada · Centro 9", "Zaragoza · Delicias 5",
}

// NewPanel returns a fake Central with n charge points CP-001..CP-n, all
// connected and ACTIVATED, 22 kW and 0.30 EUR/kWh.
func NewPanel(n int) *Panel {
	p := &Panel{cps: make(map[string]*cp), watchers: make(map[int]chan central.Update)}
	now := time.Now()
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("CP-%03d", i)
		c := &cp{connected: true, view: central.ChargePointView{
			ID: id, Location: locations[(i-1)%len(locations)], PriceEURPerKWh: 0.30, KW: 22,
			State: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED, Since: now,
		}}
		p.cps[id] = c
	}
	return p
}

// ErrUnreachable is what the fake answers while SetFailing is on.
var ErrUnreachable = errors.New("central is not answering")

// SetFailing makes every call fail with err (nil: answer again).
func (p *Panel) SetFailing(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing = err
}

// SetLocation changes a charge point's location (e.g. to test escaping).
func (p *Panel) SetLocation(id, location string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.cps[id]; c != nil {
		c.view.Location = location
		p.changed(c, nil)
	}
}

// Connect marks a charge point's monitor alive (true) or silent (false).
func (p *Panel) Connect(id string, alive bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cps[id]
	if c == nil || c.connected == alive {
		return
	}
	c.connected = alive
	kind, text := central.EventRecovered, id+" is back: its monitor answers again"
	if !alive {
		kind, text = central.EventDisconnected, id+" disconnected: no sign of life from its monitor"
		p.endSupply(c, "disconnected")
	}
	p.changed(c, p.event(kind, id, "", text))
}

// StartSupply starts a supply for driverID at id (if it is ACTIVATED).
func (p *Panel) StartSupply(id, driverID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cps[id]
	if c == nil || p.state(c) != messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED {
		return false
	}
	p.sessions++
	c.view.Session = &central.SessionView{
		SessionID: fmt.Sprintf("S-%04d", p.sessions), DriverID: driverID, StartedAt: time.Now(),
	}
	p.changed(c, p.event(central.EventStarted, id, driverID, fmt.Sprintf("%s started supplying %s", id, driverID)))
	return true
}

// Telemetry reports a running supply at kw for the last d: its energy and
// cost grow by kw over d.
func (p *Panel) Telemetry(id string, kw float64, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.cps[id]
	if c == nil || c.view.Session == nil {
		return
	}
	s := *c.view.Session
	s.KW = kw
	s.KWh += kw * d.Hours()
	s.EUR = s.KWh * c.view.PriceEURPerKWh
	c.view.Session = &s
	p.changed(c, nil)
}

// EndSupply ends a running supply normally, with a ticket.
func (p *Panel) EndSupply(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.cps[id]; c != nil && p.endSupply(c, "completed") {
		p.changed(c, nil)
	}
}

// Restart simulates a Central restart as the real watch sees it: the watch
// goes on but misses the restart itself (it subscribes again a little
// later), the event history starts again from 1 with a start event, and
// every charge point shows DISCONNECTED until its monitor connects again.
// Watchers get no update of any of it: the server must notice by itself.
func (p *Panel) Restart() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events, p.seq = nil, 0
	for _, c := range p.cps {
		c.connected = false
		c.view.Session = nil
		c.view.State = p.state(c)
	}
	p.event(central.EventRestart, "", "", fmt.Sprintf("Central started with %d registered charge points", len(p.cps)))
}

// EndWatches closes every open watch, as a Panel whose Central went away
// for good would.
func (p *Panel) EndWatches() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, ch := range p.watchers {
		close(ch)
		delete(p.watchers, k)
	}
}

// AddEvent appends an event to the feed.
func (p *Panel) AddEvent(kind, cpID, driverID, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.event(kind, cpID, driverID, text)
	p.broadcast(central.Update{Event: e})
}

// Watchers is how many watches are open.
func (p *Panel) Watchers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.watchers)
}

// ---- central.Panel --------------------------------------------------------

// Snapshot implements central.Panel.
func (p *Panel) Snapshot(ctx context.Context) (*central.Snapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.check(ctx); err != nil {
		return nil, err
	}
	snap := &central.Snapshot{LastEvent: p.seq, Totals: central.Totals{
		ByState: map[messages.ChargePointState]int{}, KWh: p.kwh, EUR: p.eur, Tickets: p.tickets,
	}}
	for _, id := range p.ids() {
		v := p.cps[id].view
		if v.Session != nil {
			s := *v.Session
			v.Session = &s
			snap.Totals.ActiveSupplies++
		}
		snap.ChargePoints = append(snap.ChargePoints, v)
		snap.Totals.ByState[v.State]++
	}
	snap.Totals.ChargePoints = len(snap.ChargePoints)
	return snap, nil
}

// Events implements central.Panel.
func (p *Panel) Events(ctx context.Context, since uint64, limit int) ([]central.Event, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.check(ctx); err != nil {
		return nil, err
	}
	out := []central.Event{}
	for _, e := range p.events {
		if e.Seq > since && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// Watch implements central.Panel. A watcher that does not keep up loses
// updates (the fake has a large buffer instead of Central's coalescing).
func (p *Panel) Watch(ctx context.Context) <-chan central.Update {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan central.Update, 4096)
	k := p.nextW
	p.nextW++
	p.watchers[k] = ch
	go func() {
		<-ctx.Done()
		p.mu.Lock()
		defer p.mu.Unlock()
		if c, ok := p.watchers[k]; ok {
			close(c)
			delete(p.watchers, k)
		}
	}()
	return ch
}

// Stop implements central.Panel.
func (p *Panel) Stop(ctx context.Context, id string) (*central.OperatorResult, error) {
	return p.each(ctx, id, func(c *cp) bool {
		if c.stopped {
			return false
		}
		c.stopped = true
		p.endSupply(c, "stopped by Central")
		p.changed(c, p.event(central.EventStopped, c.view.ID, "", c.view.ID+" stopped by the operator"))
		return true
	})
}

// Resume implements central.Panel.
func (p *Panel) Resume(ctx context.Context, id string) (*central.OperatorResult, error) {
	return p.each(ctx, id, func(c *cp) bool {
		if !c.stopped {
			return false
		}
		c.stopped = false
		p.changed(c, p.event(central.EventResumed, c.view.ID, "", c.view.ID+" back in service"))
		return true
	})
}

// KnockOut implements central.Panel.
func (p *Panel) KnockOut(ctx context.Context, id string, ko bool) (*central.OperatorResult, error) {
	if id == "" {
		return &central.OperatorResult{Err: "a KO names one charge point"}, nil
	}
	return p.each(ctx, id, func(c *cp) bool {
		if c.ko == ko {
			return false
		}
		c.ko = ko
		if ko {
			p.endSupply(c, "engine fault")
			p.changed(c, p.event(central.EventFault, c.view.ID, "", c.view.ID+" fault: engine KO"))
		} else {
			p.changed(c, p.event(central.EventRecovered, c.view.ID, "", c.view.ID+" engine recovered"))
		}
		return true
	})
}

// ---- internals (p.mu held) -------------------------------------------------

func (p *Panel) check(ctx context.Context) error {
	if p.failing != nil {
		return p.failing
	}
	return ctx.Err()
}

func (p *Panel) ids() []string {
	ids := make([]string, 0, len(p.cps))
	for id := range p.cps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (p *Panel) each(ctx context.Context, id string, f func(*cp) bool) (*central.OperatorResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.check(ctx); err != nil {
		return nil, err
	}
	res := &central.OperatorResult{}
	if id != "" {
		c := p.cps[id]
		if c == nil {
			return &central.OperatorResult{Err: "unknown charge point " + id}, nil
		}
		if f(c) {
			res.Affected = 1
		}
		return res, nil
	}
	for _, k := range p.ids() {
		if f(p.cps[k]) {
			res.Affected++
		}
	}
	return res, nil
}

func (p *Panel) state(c *cp) messages.ChargePointState {
	switch {
	case !c.connected:
		return messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED
	case c.ko:
		return messages.ChargePointState_CHARGE_POINT_STATE_FAULT
	case c.stopped:
		return messages.ChargePointState_CHARGE_POINT_STATE_STOPPED
	case c.view.Session != nil:
		return messages.ChargePointState_CHARGE_POINT_STATE_SUPPLYING
	}
	return messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED
}

func (p *Panel) endSupply(c *cp, how string) bool {
	s := c.view.Session
	if s == nil {
		return false
	}
	c.view.Session = nil
	p.kwh += s.KWh
	p.eur += s.EUR
	p.tickets++
	e := p.event(central.EventTicket, c.view.ID, s.DriverID,
		fmt.Sprintf("Ticket for %s at %s: %.2f kWh, %.2f EUR (%s)", s.DriverID, c.view.ID, s.KWh, s.EUR, how))
	p.broadcast(central.Update{Event: e})
	return true
}

// changed recomputes c's state and tells the watchers, with e if not nil.
func (p *Panel) changed(c *cp, e *central.Event) {
	st := p.state(c)
	if st != c.view.State {
		c.view.State, c.view.Since = st, time.Now()
	}
	c.view.Reason = ""
	switch st {
	case messages.ChargePointState_CHARGE_POINT_STATE_STOPPED:
		c.view.Reason = "stopped by the operator"
	case messages.ChargePointState_CHARGE_POINT_STATE_FAULT:
		c.view.Reason = "engine reports KO"
	case messages.ChargePointState_CHARGE_POINT_STATE_DISCONNECTED:
		c.view.Reason = "no sign of life from the monitor"
	}
	v := c.view
	if v.Session != nil {
		s := *v.Session
		v.Session = &s
	}
	p.broadcast(central.Update{ChargePoint: &v, Event: e})
}

// event appends an event and tells the watchers of it unless it goes with a
// charge point change (the caller sends both in one Update).
func (p *Panel) event(kind, cpID, driverID, text string) *central.Event {
	p.seq++
	e := central.Event{Seq: p.seq, At: time.Now(), Kind: kind, CPID: cpID, DriverID: driverID, Text: text}
	p.events = append(p.events, e)
	if len(p.events) > 1000 {
		p.events = p.events[len(p.events)-1000:]
	}
	return &e
}

func (p *Panel) broadcast(u central.Update) {
	for _, ch := range p.watchers {
		select {
		case ch <- u:
		default:
		}
	}
}

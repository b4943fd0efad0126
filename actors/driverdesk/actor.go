package driverdesk

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/messages"
	"github.com/sirupsen/logrus"
)

// deskActor owns every driver's requests and watchers; nothing else touches them.
type deskActor struct {
	cfg       *Config
	log       *logrus.Entry
	timers    *timer.Timers
	drivers   map[string]*driverState
	nextWatch int
	// centralSilent is true from an unanswered request until Central is
	// heard again, so an outage is one WARN line, not one per request.
	centralSilent bool
}

type driverState struct {
	requests []*Request // oldest first, at most Config.Keep
	watchers map[int]chan Update
}

// topics are what the desk reads for each driver.
var topics = []string{bridge.TopicDriverUpdates, bridge.TopicTickets}

func (a *deskActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.log = logging.Component(a.cfg.Logger, "Driver desk")
		a.timers = timer.New(ctx)
		a.drivers = map[string]*driverState{}
		a.timers.Every(a.cfg.ResubscribeInterval, &resubscribe{})
	case *actor.Restarting:
		a.endWatches()
		a.timers.StopAll()
	case *actor.Stopping:
		a.endWatches()
		a.timers.StopAll()
		for id := range a.drivers {
			for _, t := range topics {
				ctx.Send(a.cfg.Bridge, &bridge.Unsubscribe{Topic: t, Group: a.cfg.Group, Key: id, Subscriber: ctx.Self()})
			}
		}
	case *askRequest:
		ctx.Respond(a.request(ctx, msg))
	case *askRequests:
		d := a.drivers[msg.driverID]
		if d == nil {
			ctx.Respond(&answer{requests: []Request{}})
			return
		}
		ctx.Respond(&answer{requests: newestFirst(d.requests)})
	case *watch:
		d, err := a.follow(ctx, msg.driverID)
		if err != nil {
			ctx.Respond(&answer{err: err})
			return
		}
		a.nextWatch++
		ch := make(chan Update, a.cfg.WatchQueue)
		d.watchers[a.nextWatch] = ch
		ctx.Respond(&answer{ch: ch, watchID: a.nextWatch})
	case *unwatch:
		if d := a.drivers[msg.driverID]; d != nil {
			if ch, ok := d.watchers[msg.id]; ok {
				delete(d.watchers, msg.id)
				close(ch)
			}
		}
	case *replyTimeout:
		if r := a.find(msg.driverID, msg.requestID, ""); r != nil && r.Status == StatusRequested {
			r.Status = StatusUnanswered
			r.Reason = fmt.Sprintf("Central did not answer within %v", a.cfg.ReplyTimeout)
			a.changed(msg.driverID, r, nil)
			entry := a.log.WithFields(logrus.Fields{"driver_id": msg.driverID, "cp_id": r.CPID})
			line := fmt.Sprintf("Central did not answer %s's request for %s within %v", msg.driverID, r.CPID, a.cfg.ReplyTimeout)
			if a.centralSilent {
				entry.Debug(line)
			} else {
				entry.Warn(line)
				a.centralSilent = true
			}
		}
	case *resubscribe:
		for id := range a.drivers {
			a.subscribe(ctx, id)
		}
	case *bridge.Delivery:
		defer msg.Done()
		if a.centralSilent {
			a.centralSilent = false
			a.log.Info("Central answers the driver app again")
		}
		a.delivery(msg)
	}
}

// follow returns the driver's state, subscribing to its records the first time.
func (a *deskActor) follow(ctx actor.Context, driverID string) (*driverState, error) {
	if d := a.drivers[driverID]; d != nil {
		return d, nil
	}
	if driverID == "" {
		return nil, errors.New("a driver id is required")
	}
	if len(a.drivers) >= a.cfg.MaxDrivers {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyDrivers, a.cfg.MaxDrivers)
	}
	d := &driverState{watchers: map[int]chan Update{}}
	a.drivers[driverID] = d
	a.subscribe(ctx, driverID)
	return d, nil
}

func (a *deskActor) subscribe(ctx actor.Context, driverID string) {
	for _, t := range topics {
		ctx.Send(a.cfg.Bridge, &bridge.Subscribe{Topic: t, Group: a.cfg.Group, Key: driverID, Subscriber: ctx.Self()})
	}
}

// request publishes a ChargeRequest as a driver process would.
func (a *deskActor) request(ctx actor.Context, m *askRequest) *answer {
	if m.cpID == "" {
		return &answer{err: errors.New("a charge point id is required")}
	}
	d, err := a.follow(ctx, m.driverID)
	if err != nil {
		return &answer{err: err}
	}
	now := a.cfg.Now()
	r := &Request{
		RequestID: fmt.Sprintf("web-%s-%d", m.driverID, now.UnixNano()),
		DriverID:  m.driverID, CPID: m.cpID, Status: StatusRequested,
		RequestedAt: now, UpdatedAt: now,
	}
	d.requests = append(d.requests, r)
	if len(d.requests) > a.cfg.Keep {
		d.requests = append(d.requests[:0:0], d.requests[len(d.requests)-a.cfg.Keep:]...)
	}
	ctx.Send(a.cfg.Bridge, &bridge.Publish{Topic: bridge.TopicDriverRequests, Key: m.driverID, Msg: &messages.ChargeRequest{
		RequestId: r.RequestID, DriverId: m.driverID, CpId: m.cpID, RequestedAt: timestamppb.New(now)}})
	a.timers.After(a.cfg.ReplyTimeout, &replyTimeout{driverID: m.driverID, requestID: r.RequestID})
	a.log.WithFields(logrus.Fields{"driver_id": m.driverID, "cp_id": m.cpID}).
		Infof("%s asked Central for a supply at %s through the driver app", m.driverID, m.cpID)
	a.changed(m.driverID, r, nil)
	return &answer{requests: []Request{r.snapshot()}}
}

// find returns the driver's request with this request id or session id.
func (a *deskActor) find(driverID, requestID, sessionID string) *Request {
	d := a.drivers[driverID]
	if d == nil {
		return nil
	}
	for _, r := range d.requests {
		if (requestID != "" && r.RequestID == requestID) || (sessionID != "" && r.SessionID == sessionID) {
			return r
		}
	}
	return nil
}

// delivery applies one record of driver.updates or driver.tickets. Records
// of requests the desk did not make (a driver process of the same id, or
// history read again) change no request; their tickets still reach watchers.
func (a *deskActor) delivery(dl *bridge.Delivery) {
	driverID := dl.Key
	if a.drivers[driverID] == nil {
		return
	}
	now := a.cfg.Now()
	switch m := dl.Msg.(type) {
	case *messages.ChargeAccepted:
		if r := a.find(driverID, m.GetRequestId(), ""); r != nil && (r.Status == StatusRequested || r.Status == StatusUnanswered) {
			r.Status, r.SessionID, r.Reason, r.UpdatedAt = StatusAccepted, m.GetSessionId(), "", now
			a.changed(driverID, r, nil)
		}
	case *messages.ChargeDenied:
		if r := a.find(driverID, m.GetRequestId(), ""); r != nil && (r.Status == StatusRequested || r.Status == StatusUnanswered) {
			r.Status, r.UpdatedAt = StatusDenied, now
			r.Reason = central.DenyText(m.GetReason())
			if m.GetDetail() != "" {
				r.Reason += ": " + m.GetDetail()
			}
			a.changed(driverID, r, nil)
		}
	case *messages.SupplyStarted:
		if r := a.find(driverID, m.GetRequestId(), m.GetSessionId()); r != nil && r.Ticket == nil && r.Status != StatusEnded {
			r.Status, r.SessionID, r.UpdatedAt = StatusSupplying, m.GetSessionId(), now
			r.KW, r.Price = m.GetKw(), m.GetPriceEurPerKwh()
			r.StartedAt = m.GetStartedAt().AsTime()
			a.changed(driverID, r, nil)
		}
	case *messages.Telemetry:
		if r := a.find(driverID, "", m.GetSessionId()); r != nil && (r.Status == StatusSupplying || r.Status == StatusAccepted) {
			r.Status, r.UpdatedAt = StatusSupplying, now
			r.KW, r.KWh, r.EUR = m.GetKw(), m.GetKwh(), m.GetEur()
			a.changed(driverID, r, nil)
		}
	case *messages.SupplyEnded:
		if r := a.find(driverID, m.GetRequestId(), m.GetSessionId()); r != nil && r.Ticket == nil {
			r.Status, r.UpdatedAt = StatusEnded, now
			r.KW, r.KWh, r.EUR = 0, m.GetKwh(), m.GetEur()
			r.EndedAt = m.GetEndedAt().AsTime()
			r.Reason = chargepoint.EndReasonText(m.GetReason())
			a.changed(driverID, r, nil)
		}
	case *messages.DriverNotice:
		r := a.find(driverID, "", m.GetSessionId())
		if r == nil || r.Ticket != nil {
			return
		}
		r.Reason, r.UpdatedAt = m.GetText(), now
		if m.GetSupplyInterrupted() {
			r.Status, r.KW = StatusEnded, 0
		}
		a.changed(driverID, r, nil)
	case *messages.Ticket:
		r := a.find(driverID, m.GetRequestId(), m.GetSessionId())
		if r != nil && r.Ticket == nil {
			r.Status, r.Ticket, r.UpdatedAt = StatusTicketed, m, now
			r.SessionID, r.KW, r.KWh, r.EUR = m.GetSessionId(), 0, m.GetKwh(), m.GetEur()
			r.EndedAt = m.GetEndedAt().AsTime()
			r.Reason = chargepoint.EndReasonText(m.GetReason())
		} else {
			r = nil // a ticket seen before, or of a request the desk did not make
		}
		a.changed(driverID, r, m)
	}
}

// changed hands the update to the driver's watchers; one that fell too far
// behind is dropped (its channel closed) rather than slowing the desk.
func (a *deskActor) changed(driverID string, r *Request, t *messages.Ticket) {
	d := a.drivers[driverID]
	if d == nil || len(d.watchers) == 0 {
		return
	}
	u := Update{Ticket: t}
	if r != nil {
		c := r.snapshot()
		u.Request = &c
	}
	for id, ch := range d.watchers {
		select {
		case ch <- u:
		default:
			delete(d.watchers, id)
			close(ch)
		}
	}
}

// endWatches closes every watcher's channel: its reader watches again.
func (a *deskActor) endWatches() {
	for _, d := range a.drivers {
		for id, ch := range d.watchers {
			delete(d.watchers, id)
			close(ch)
		}
	}
}

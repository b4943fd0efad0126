package web

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/central"
)

// streamModel is the panel as the live streams last saw it: Central's view
// when the hub last asked, with every update since applied. A client that
// joins gets it as its snapshot.
type streamModel struct {
	cps       []ChargePoint // sorted by id, as Central lists them
	events    []Event       // the most recent, oldest first
	lastEvent uint64
	money     Totals // Central's totals when last asked; kwh, eur and tickets are used
	// origin is Central's oldest event when the model was taken.
	origin *central.Event
	// sent holds the events the model was taken with, so that the same
	// event coming again from the watch is not passed on twice.
	sent sentEvents
}

func (m *streamModel) setChargePoint(cp ChargePoint) {
	i, found := slices.BinarySearchFunc(m.cps, cp.ID, func(c ChargePoint, id string) int { return strings.Compare(c.ID, id) })
	if found {
		m.cps[i] = cp
		return
	}
	m.cps = slices.Insert(m.cps, i, cp)
}

func (m *streamModel) addEvent(e Event, keep int) {
	m.lastEvent = max(m.lastEvent, e.Seq)
	m.events = append(m.events, e)
	if len(m.events) > 2*keep { // trim in steps: O(1) amortised
		m.events = append([]Event(nil), m.events[len(m.events)-keep:]...)
	}
}

// snapshot is the model as a "snapshot" message.
func (m *streamModel) snapshot(b Bridge, operator bool, feed int) StreamSnapshot {
	keep := m.events
	if len(keep) > feed {
		keep = keep[len(keep)-feed:]
	}
	return StreamSnapshot{
		ChargePoints:    m.cps,
		Totals:          m.totals(),
		Events:          keep,
		LastEvent:       m.lastEvent,
		OperatorEnabled: operator,
		Bridge:          b,
	}
}

// totals counts the charge points by state and the running supplies from the
// model's own list, so the figures always agree with the tiles; energy,
// revenue and tickets are Central's.
func (m *streamModel) totals() Totals {
	by := make(map[string]int, len(stateNames)+1)
	for _, n := range stateNames {
		by[n] = 0
	}
	active := 0
	for i := range m.cps {
		by[m.cps[i].State]++
		if m.cps[i].Session != nil {
			active++
		}
	}
	return Totals{
		ChargePoints: len(m.cps), ByState: by, ActiveSupplies: active,
		KWh: m.money.KWh, EUR: m.money.EUR, Tickets: m.money.Tickets,
	}
}

// sentEvents remembers events by sequence number and time (Central may
// number from 1 again after a restart).
type sentEvents map[uint64]time.Time

func (m sentEvents) has(e *central.Event) bool {
	at, ok := m[e.Seq]
	return ok && at.Equal(e.At)
}

// fetchModel asks Central for the panel, its recent events and its oldest event.
func (s *Server) fetchModel(ctx context.Context) (*streamModel, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	snap, err := s.opts.Panel.Snapshot(cctx)
	if err != nil {
		return nil, err
	}
	since := uint64(0)
	if snap.LastEvent > uint64(s.opts.FeedSize) {
		since = snap.LastEvent - uint64(s.opts.FeedSize)
	}
	evs, err := s.opts.Panel.Events(cctx, since, s.opts.FeedSize)
	if err != nil {
		return nil, err
	}
	origin, err := s.oldestEvent(cctx)
	if err != nil {
		return nil, err
	}
	sent := make(sentEvents, len(evs))
	for i := range evs {
		sent[evs[i].Seq] = evs[i].At
	}
	return &streamModel{
		cps:       toChargePoints(snap.ChargePoints),
		events:    toEvents(evs),
		lastEvent: snap.LastEvent,
		money:     snapshotTotals(snap),
		origin:    origin,
		sent:      sent,
	}, nil
}

// oldestEvent is the first event of Central's history, nil if it has none.
func (s *Server) oldestEvent(ctx context.Context) (*central.Event, error) {
	evs, err := s.opts.Panel.Events(ctx, 0, 1)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return &evs[0], nil
}

func (s *Server) totals(ctx context.Context) (Totals, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	snap, err := s.opts.Panel.Snapshot(cctx)
	if err != nil {
		return Totals{}, err
	}
	return snapshotTotals(snap), nil
}

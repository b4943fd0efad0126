package central

import (
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/messages"
)

// The panel's state stream and snapshots.

// update re-derives a charge point's state and tells the watchers.
func (c *Central) update(ctx actor.Context, cp *cpEntry) {
	st, why := cp.derive()
	if st != cp.state || why != cp.reason {
		if st != cp.state {
			cp.since = c.cfg.Now()
		}
		cp.state, cp.reason = st, why
	}
	c.notify(ctx, cp, nil)
}

func (c *Central) notify(ctx actor.Context, cp *cpEntry, ev *Event) {
	if len(c.watchers) == 0 {
		return
	}
	u := &Update{Event: ev}
	if cp != nil {
		v := cp.view()
		u.ChargePoint = &v
	}
	for _, w := range c.watchers {
		ctx.Send(w, u)
	}
}

func (c *Central) event(kind, cpID, driver, text string) {
	c.seq++
	ev := Event{Seq: c.seq, At: c.cfg.Now(), Kind: kind, CPID: cpID, DriverID: driver, Text: text}
	c.events = append(c.events, ev)
	// Trim only when the history has grown to twice its size, so an event
	// costs O(1) amortised instead of a copy of the whole history.
	if len(c.events) >= 2*c.cfg.HistorySize {
		c.events = append(make([]Event, 0, 2*c.cfg.HistorySize), c.events[len(c.events)-c.cfg.HistorySize:]...)
	}
	if len(c.watchers) > 0 {
		u := &Update{Event: &ev}
		for _, w := range c.watchers {
			c.sendWatcher(w, u)
		}
	}
}

// sendWatcher is used where no context is at hand (events are recorded from
// many places); the actor system's root sends without blocking.
func (c *Central) sendWatcher(w *actor.PID, u *Update) {
	if c.sys != nil {
		c.sys.Root.Send(w, u)
	}
}

func (c *Central) snapshot() *Snapshot {
	s := &Snapshot{LastEvent: c.seq, Totals: Totals{ByState: map[messages.ChargePointState]int{}}}
	for _, id := range c.sortedIDs() {
		cp := c.cps[id]
		s.ChargePoints = append(s.ChargePoints, cp.view())
		s.Totals.ByState[cp.state]++
		if cp.session != nil {
			s.Totals.ActiveSupplies++
		}
	}
	s.Totals.ChargePoints = len(c.cps)
	s.Totals.KWh, s.Totals.EUR, s.Totals.Tickets = c.totals.KWh, c.totals.EUR, c.totals.Tickets
	return s
}

func (c *Central) eventsSince(since uint64, limit int) *Events {
	var out []Event
	// The history keeps up to twice HistorySize between trims; show HistorySize.
	kept := c.events
	if len(kept) > c.cfg.HistorySize {
		kept = kept[len(kept)-c.cfg.HistorySize:]
	}
	// The first limit events after since, oldest first: a reader pages
	// forward with since = the last Seq it got, and misses none.
	for _, e := range kept {
		if limit > 0 && len(out) == limit {
			break
		}
		if e.Seq > since {
			out = append(out, e)
		}
	}
	return &Events{Events: out}
}

// sortedIDs lists the charge points in order. The liveness check asks for
// it every half second: the list is sorted again only when the charge
// points changed (sorting 100,000 ids each time took 4% of the CPU). The
// caller must not change it.
func (c *Central) sortedIDs() []string {
	if len(c.ids) == len(c.cps) && c.idsCurrent() {
		return c.ids
	}
	ids := make([]string, 0, len(c.cps))
	for id := range c.cps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	c.ids = ids
	return ids
}

// idsCurrent says whether every kept id is still a charge point (with
// the lengths equal, the list is then exactly c.cps's ids).
func (c *Central) idsCurrent() bool {
	for _, id := range c.ids {
		if _, ok := c.cps[id]; !ok {
			return false
		}
	}
	return true
}

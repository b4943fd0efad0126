package web

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/evcharging/evsim/actors/central"
)

// hub feeds every live stream of a server. One goroutine (run) owns all of
// its state: the clients, one watch on Central while any client is open, the
// panel as the streams last saw it (model), and what changed since the last
// flush. Each message is encoded once and the same bytes go to every client.
//
// A client that joins gets the model as its snapshot; what was still pending
// is sent to the others first, so the snapshot and the next update never
// overlap. When Central's event history starts again (Central restarted
// under the watch: an event number goes back, or its oldest event changed,
// checked every RestartCheckInterval) and every ResyncInterval, the hub asks
// Central for a fresh view and sends it to all as a new snapshot.
type hub struct {
	s       *Server
	join    chan *streamClient
	clients map[*streamClient]struct{}
	peak    int // most clients at once since the hub last stopped

	// Set while running (at least one client).
	ctx          context.Context
	cancel       context.CancelFunc
	updates      <-chan central.Update
	model        *streamModel
	pending      batch
	totalsDirty  bool
	needSnapshot bool
	lastTotals   time.Time
	snapMsg      []byte // the model encoded as a snapshot; nil after a change
	snapBridge   Bridge // the bridge state snapMsg carries
}

// releaseDelay is how long after a crowd of streams left the hub hands their
// memory back to the system.
const releaseDelay = 2 * time.Second

// releaseMemory collects twice, then hands the free memory back: net/http
// keeps connection buffers in sync.Pools, which survive one collection.
func releaseMemory() {
	runtime.GC()
	debug.FreeOSMemory()
}

func newHub(s *Server) *hub {
	return &hub{s: s, join: make(chan *streamClient), clients: make(map[*streamClient]struct{})}
}

func (h *hub) run() {
	o := h.s.opts
	flush := time.NewTicker(o.FlushInterval)
	defer flush.Stop()
	ping := time.NewTicker(o.PingInterval)
	defer ping.Stop()
	resync := time.NewTicker(o.ResyncInterval)
	defer resync.Stop()
	restartCheck := time.NewTicker(o.RestartCheckInterval)
	defer restartCheck.Stop()

	for {
		select {
		case <-h.s.closing:
			h.stop()
			return
		case c := <-h.join:
			h.add(c)
		case u, ok := <-h.updates: // nil, never ready, while stopped
			if !ok {
				h.s.log.Debug("Central's watch ended; the browsers will reconnect and resync")
				h.stop()
				continue
			}
			h.apply(u)
		case <-resync.C:
			h.needSnapshot = h.model != nil
		case <-restartCheck.C:
			if h.model != nil && h.historyRestarted() {
				h.needSnapshot = true
			}
		case <-flush.C:
			h.sweep()
			if h.model != nil {
				h.flush()
			}
		case now := <-ping.C:
			if h.model != nil {
				h.broadcastEvent("ping", map[string]time.Time{"at": now.UTC()})
			}
		}
	}
}

// add gives a new client its snapshot, starting the watch if it is the first.
func (h *hub) add(c *streamClient) {
	if h.model == nil {
		if err := h.start(); err != nil {
			// Answer 200 and end the stream: after an HTTP error EventSource
			// would give up, after a closed stream it reconnects by itself.
			h.s.log.WithError(err).Debug("Central did not answer; the browser will retry")
			if msg, err := encodeEvent("unavailable", apiError{Error: "cannot reach Central: " + err.Error()}); err == nil {
				c.queue <- msg // the queue is new and empty
			}
			close(c.queue)
			return
		}
	} else {
		h.flushPending()
	}
	msg := h.snapshotMessage()
	if msg == nil {
		close(c.queue)
		return
	}
	c.queue <- msg
	h.clients[c] = struct{}{}
	h.peak = max(h.peak, len(h.clients))
}

// start watches Central and takes the first view.
func (h *hub) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	// Watch before the snapshot, so no change falls between the two; an
	// event seen by both is recognised and passed on once.
	updates := h.s.opts.Panel.Watch(ctx)
	m, err := h.s.fetchModel(ctx)
	if err != nil {
		cancel()
		return err
	}
	h.ctx, h.cancel, h.updates, h.model = ctx, cancel, updates, m
	h.snapMsg, h.needSnapshot, h.totalsDirty = nil, false, false
	return nil
}

// stop ends every stream and the watch. When a crowd has just left, the
// memory it used goes back to the system: with a large GC target (GOGC)
// it would otherwise stay with the process for minutes.
func (h *hub) stop() {
	for c := range h.clients {
		close(c.queue)
	}
	h.clients = make(map[*streamClient]struct{}) // a cleared map would keep a crowd's buckets
	if h.cancel != nil {
		h.cancel()
	}
	h.ctx, h.cancel, h.updates, h.model, h.snapMsg = nil, nil, nil, nil, nil
	h.pending.take()
	if after := h.s.opts.ReleaseMemoryAfter; after > 0 && h.peak >= after {
		// The connections are closed just after their handlers return: give
		// net/http a moment to let go of their buffers before collecting.
		time.AfterFunc(releaseDelay, releaseMemory)
	}
	h.peak = 0
}

// sweep forgets the clients that went; the last one stops the watch.
func (h *hub) sweep() {
	for c := range h.clients {
		select {
		case <-c.gone:
			delete(h.clients, c)
		default:
		}
	}
	if len(h.clients) == 0 && h.model != nil {
		h.stop()
	}
}

// apply takes one update from Central's watch into the model and the batch.
func (h *hub) apply(u central.Update) {
	if u.ChargePoint != nil {
		cp := toChargePoint(u.ChargePoint)
		h.pending.addChargePoint(cp)
		h.model.setChargePoint(cp)
	}
	if e := u.Event; e != nil && !h.model.sent.has(e) {
		if e.Seq <= h.model.lastEvent || (e.Kind == central.EventRestart && e.CPID == "") {
			h.needSnapshot = true // Central restarted: its view is new
		}
		if e.Kind == central.EventRebalance {
			h.needSnapshot = true // it shows other charge points now
		}
		ev := toEvent(e)
		h.pending.events = append(h.pending.events, ev)
		h.model.addEvent(ev, h.s.opts.FeedSize)
		if e.Kind == central.EventTicket {
			h.totalsDirty = true
		}
	}
	h.snapMsg = nil
}

// flush sends what changed: a fresh snapshot when one is due, else the
// pending update, and new totals at most once a second after tickets.
func (h *hub) flush() {
	if h.needSnapshot {
		m, err := h.s.fetchModel(h.ctx)
		if err != nil {
			return // Central is busy or away: try again at the next flush
		}
		h.model, h.snapMsg = m, nil
		h.needSnapshot, h.totalsDirty = false, false
		h.pending.take() // the snapshot holds all of it
		if msg := h.snapshotMessage(); msg != nil {
			h.broadcast(msg)
		}
		return
	}
	h.flushPending()
	if h.totalsDirty && time.Since(h.lastTotals) >= time.Second {
		h.totalsDirty, h.lastTotals = false, time.Now()
		if t, err := h.s.totals(h.ctx); err == nil {
			h.model.money, h.snapMsg = t, nil
			h.broadcastEvent("totals", h.s.withThisRun(t))
		}
	}
}

func (h *hub) flushPending() {
	if !h.pending.empty() {
		h.broadcastEvent("update", h.pending.take())
	}
}

// snapshotMessage is the model encoded, kept until the model or the
// bridge's state changes so that a crowd joining at once costs one encoding.
func (h *hub) snapshotMessage() []byte {
	b := h.s.bridge()
	if h.snapMsg != nil && h.snapBridge == b {
		return h.snapMsg
	}
	snap := h.model.snapshot(b, h.s.tokenSum != nil, h.s.opts.FeedSize)
	snap.Totals = h.s.withThisRun(snap.Totals)
	msg, err := encodeEvent("snapshot", snap)
	if err != nil {
		h.s.log.WithError(err).Error("Could not encode the live panel")
		return nil
	}
	h.snapMsg, h.snapBridge = msg, b
	return msg
}

func (h *hub) broadcastEvent(event string, data any) {
	msg, err := encodeEvent(event, data)
	if err != nil {
		h.s.log.WithError(err).Error("Could not encode a live update")
		return
	}
	h.broadcast(msg)
}

// broadcast queues msg for every client without ever waiting: a client whose
// queue is full has fallen too far behind and is dropped.
func (h *hub) broadcast(msg []byte) {
	for c := range h.clients {
		select {
		case c.queue <- msg:
		default:
			close(c.queue)
			delete(h.clients, c)
			h.s.metrics.streamsDropped.Inc()
			h.s.log.Debug("Dropped a live stream that fell behind; its browser will reconnect")
		}
	}
}

// historyRestarted tells whether Central's event history started again
// since the model was taken: its oldest event is older in number than
// before, or has the same number but another time. A bounded history that
// drops old events only ever makes the oldest number grow. A Central that
// does not answer says nothing here.
func (h *hub) historyRestarted() bool {
	ctx, cancel := context.WithTimeout(h.ctx, h.s.opts.RequestTimeout)
	defer cancel()
	now, err := h.s.oldestEvent(ctx)
	was := h.model.origin
	switch {
	case err != nil:
		return false
	case was == nil:
		h.model.origin = now // the history was empty: it has only started
		return false
	case now == nil || now.Seq < was.Seq || (now.Seq == was.Seq && !now.At.Equal(was.At)):
		return true
	}
	h.model.origin = now
	return false
}

// batch collects what changed between two flushes: the latest view of each
// charge point, in the order they first changed, and the new events.
type batch struct {
	views  map[string]ChargePoint
	order  []string
	events []Event
}

func (b *batch) addChargePoint(cp ChargePoint) {
	if b.views == nil {
		b.views = make(map[string]ChargePoint)
	}
	if _, seen := b.views[cp.ID]; !seen {
		b.order = append(b.order, cp.ID)
	}
	b.views[cp.ID] = cp
}

func (b *batch) empty() bool { return len(b.order) == 0 && len(b.events) == 0 }

// take returns the batch as an update and empties it.
func (b *batch) take() StreamUpdate {
	up := StreamUpdate{ChargePoints: make([]ChargePoint, 0, len(b.order)), Events: b.events}
	if up.Events == nil {
		up.Events = []Event{}
	}
	for _, id := range b.order {
		up.ChargePoints = append(up.ChargePoints, b.views[id])
	}
	clear(b.views)
	b.order, b.events = b.order[:0], nil
	return up
}

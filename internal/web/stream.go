package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/evcharging/evsim/actors/central"
)

// The live stream (GET /api/stream) is a server-sent events stream. Each
// message has an event name and one JSON object as data:
//
//	snapshot  the whole panel; always the first message of a connection
//	update    charge points that changed and new events since the last message
//	totals    network totals, after tickets changed them
//	ping      {"at": time}; sent every PingInterval so the page can tell a
//	          live connection from a dead one
//	unavailable  {"error": sentence}; Central did not answer, the stream ends
//	          and the browser retries
//
// The stream ends when the client goes, when the server shuts down, or when
// Central's watch ends: the browser's EventSource then reconnects by itself
// and gets a fresh snapshot, so the page resyncs. Central can also restart
// under a watch that goes on (a supervisor restarts the actor and the watch
// subscribes again): Central then numbers its events from 1 again, so the
// stream looks at Central's oldest event every RestartCheckInterval, and at
// every event it passes on; when the history started again, it sends a fresh
// snapshot. It also does so every ResyncInterval, so that nothing a watch
// missed stays on the page for long.

// StreamSnapshot is the data of a "snapshot" message.
type StreamSnapshot struct {
	ChargePoints    []ChargePoint `json:"charge_points"`
	Totals          Totals        `json:"totals"`
	Events          []Event       `json:"events"` // the most recent, oldest first
	LastEvent       uint64        `json:"last_event"`
	OperatorEnabled bool          `json:"operator_enabled"`
	Bridge          Bridge        `json:"bridge"`

	// origin is Central's oldest event when the snapshot was taken.
	origin *central.Event
}

// StreamUpdate is the data of an "update" message.
type StreamUpdate struct {
	ChargePoints []ChargePoint `json:"charge_points"` // latest view of each that changed
	Events       []Event       `json:"events"`        // oldest first
}

// streamRetry is the reconnection delay the stream asks the browser for.
const streamRetry = 2 * time.Second

// writeTimeout bounds each write to a stream: a client that stops reading
// is dropped instead of holding a goroutine forever.
const writeTimeout = 10 * time.Second

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()

	// Watch before the snapshot, so no change falls between the two; a
	// change seen by both is applied twice, which is harmless.
	updates := s.opts.Panel.Watch(ctx)
	snap, sent, snapErr := s.streamSnapshot(ctx)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	s.metrics.clients.Inc()
	defer s.metrics.clients.Dec()
	log := s.log.WithField("remote", r.RemoteAddr)
	log.Debug("A browser connected to the live stream")

	send := func(event string, data any) bool {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "event: %s\ndata: ", event)
		if err := json.NewEncoder(&buf).Encode(data); err != nil { // Encode ends with \n
			log.WithError(err).Error("Could not encode a live update")
			return false
		}
		buf.WriteByte('\n')
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	if _, err := fmt.Fprintf(w, "retry: %d\n\n", streamRetry.Milliseconds()); err != nil {
		return
	}
	if snapErr != nil {
		// Answer 200 and end the stream: after an HTTP error EventSource
		// would give up, after a closed stream it reconnects by itself.
		log.WithError(snapErr).Debug("Central did not answer; the browser will retry")
		send("unavailable", apiError{Error: "cannot reach Central: " + snapErr.Error()})
		return
	}
	if !send("snapshot", snap) {
		return
	}

	flush := time.NewTicker(s.opts.FlushInterval)
	defer flush.Stop()
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()

	resync := time.NewTicker(s.opts.ResyncInterval)
	defer resync.Stop()
	restartCheck := time.NewTicker(s.opts.RestartCheckInterval)
	defer restartCheck.Stop()

	var pending batch
	totalsDirty, needSnapshot := false, false
	var lastTotals time.Time
	lastSeq := snap.LastEvent

	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				if ctx.Err() == nil {
					log.Debug("Central's watch ended; the browser will reconnect and resync")
				}
				return
			}
			if u.ChargePoint != nil {
				pending.addChargePoint(toChargePoint(u.ChargePoint))
			}
			if e := u.Event; e != nil && !sent.has(e) {
				if e.Seq <= lastSeq || (e.Kind == central.EventRestart && e.CPID == "") {
					needSnapshot = true // Central restarted: its view is new
				}
				lastSeq = max(lastSeq, e.Seq)
				pending.events = append(pending.events, toEvent(e))
				if e.Kind == central.EventTicket {
					totalsDirty = true
				}
			}
		case <-resync.C:
			needSnapshot = true
		case <-restartCheck.C:
			if s.historyRestarted(ctx, snap) {
				needSnapshot = true
			}
		case <-flush.C:
			if needSnapshot {
				fresh, freshSent, err := s.streamSnapshot(ctx)
				if err != nil {
					continue // Central is busy or away: try again at the next flush
				}
				needSnapshot, totalsDirty = false, false
				snap, sent, lastSeq = fresh, freshSent, fresh.LastEvent
				pending.take() // the snapshot holds all of it
				if !send("snapshot", snap) {
					return
				}
				continue
			}
			if !pending.empty() && !send("update", pending.take()) {
				return
			}
			if totalsDirty && time.Since(lastTotals) >= time.Second {
				totalsDirty, lastTotals = false, time.Now()
				if t, err := s.totals(ctx); err == nil && !send("totals", t) {
					return
				}
			}
		case now := <-ping.C:
			if !send("ping", map[string]time.Time{"at": now.UTC()}) {
				return
			}
		}
	}
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

// sentEvents remembers the events the snapshot carried, so that the same
// event coming again from the watch is not shown twice. An event is the same
// when its sequence number and time match (Central may number from 1 again
// after a restart).
type sentEvents map[uint64]time.Time

func (m sentEvents) has(e *central.Event) bool {
	at, ok := m[e.Seq]
	return ok && at.Equal(e.At)
}

// streamSnapshot builds the first message of a stream.
func (s *Server) streamSnapshot(ctx context.Context) (*StreamSnapshot, sentEvents, error) {
	cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	snap, err := s.opts.Panel.Snapshot(cctx)
	if err != nil {
		return nil, nil, err
	}
	since := uint64(0)
	if snap.LastEvent > uint64(s.opts.FeedSize) {
		since = snap.LastEvent - uint64(s.opts.FeedSize)
	}
	evs, err := s.opts.Panel.Events(cctx, since, s.opts.FeedSize)
	if err != nil {
		return nil, nil, err
	}
	origin, err := s.oldestEvent(cctx)
	if err != nil {
		return nil, nil, err
	}
	sent := make(sentEvents, len(evs))
	for i := range evs {
		sent[evs[i].Seq] = evs[i].At
	}
	return &StreamSnapshot{
		ChargePoints:    toChargePoints(snap.ChargePoints),
		Totals:          snapshotTotals(snap),
		Events:          toEvents(evs),
		LastEvent:       snap.LastEvent,
		OperatorEnabled: s.tokenSum != nil,
		Bridge:          s.bridge(),
		origin:          origin,
	}, sent, nil
}

// oldestEvent is the first event of Central's history, nil if it has none.
func (s *Server) oldestEvent(ctx context.Context) (*central.Event, error) {
	evs, err := s.opts.Panel.Events(ctx, 0, 1)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	return &evs[0], nil
}

// historyRestarted tells whether Central's event history started again
// since snap was taken: its oldest event is older in number than before, or
// has the same number but another time. A bounded history that drops old
// events only ever makes the oldest number grow. A Central that does not
// answer says nothing here.
func (s *Server) historyRestarted(ctx context.Context, snap *StreamSnapshot) bool {
	cctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	now, err := s.oldestEvent(cctx)
	was := snap.origin
	switch {
	case err != nil:
		return false
	case was == nil:
		snap.origin = now // the history was empty: it has only started
		return false
	case now == nil || now.Seq < was.Seq || (now.Seq == was.Seq && !now.At.Equal(was.At)):
		return true
	}
	snap.origin = now
	return false
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

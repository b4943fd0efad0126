package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
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
// Every stream is fed by one hub (hub.go): however many browsers watch, the
// server holds one watch on Central and asks Central the same few questions,
// and each message is encoded once and shared. A client gets its messages
// through a queue of Options.StreamQueue; a client that falls that far
// behind is dropped (its browser reconnects and starts from a fresh
// snapshot), so a slow reader never makes the server buffer without end.
// At most Options.MaxStreamClients streams are open at once; one more is
// answered 503 with Retry-After.

// StreamSnapshot is the data of a "snapshot" message.
type StreamSnapshot struct {
	ChargePoints    []ChargePoint `json:"charge_points"`
	Totals          Totals        `json:"totals"`
	Events          []Event       `json:"events"` // the most recent, oldest first
	LastEvent       uint64        `json:"last_event"`
	OperatorEnabled bool          `json:"operator_enabled"`
	Bridge          Bridge        `json:"bridge"`
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

// streamBusyRetry is the Retry-After of a stream refused for being one too many.
const streamBusyRetry = 10 * time.Second

// streamClient is one open stream as the hub sees it. The hub is the only
// sender on queue and closes it when the stream must end; the handler closes
// gone when it returns.
type streamClient struct {
	queue chan []byte
	gone  chan struct{}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	if n := s.streams.Add(1); n > int64(s.opts.MaxStreamClients) {
		s.streams.Add(-1)
		s.refuseStream(w, r)
		return
	}
	defer s.streams.Add(-1)

	c := &streamClient{queue: make(chan []byte, s.opts.StreamQueue), gone: make(chan struct{})}
	defer close(c.gone)
	s.hubOnce.Do(func() { go s.hub.run() })
	select {
	case s.hub.join <- c:
	case <-r.Context().Done():
		return
	case <-s.closing:
		return
	}

	s.metrics.clients.Inc()
	defer s.metrics.clients.Dec()
	log := s.log.WithField("remote", r.RemoteAddr)
	log.Debug("A browser connected to the live stream")

	rc, ok := openEventStream(w)
	if !ok {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case msg, ok := <-c.queue:
			if !ok {
				return // the hub ended the stream: Central's watch ended, or the client fell behind
			}
			_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write(msg); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
		}
	}
}

// refuseStream answers a stream beyond Options.MaxStreamClients.
func (s *Server) refuseStream(w http.ResponseWriter, r *http.Request) {
	s.metrics.streamsRefused.Inc()
	s.log.WithField("remote", r.RemoteAddr).Debug("Refused a live stream: too many are open")
	w.Header().Set("Retry-After", strconv.Itoa(int(streamBusyRetry.Seconds())))
	writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many live streams are open (at most %d); retry later", s.opts.MaxStreamClients))
}

// openEventStream answers 200 with a server-sent events stream and its
// reconnection delay; it reports false when the client is gone already.
func openEventStream(w http.ResponseWriter) (*http.ResponseController, bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, err := fmt.Fprintf(w, "retry: %d\n\n", streamRetry.Milliseconds())
	return http.NewResponseController(w), err == nil
}

// encodeEvent encodes one server-sent event, ready to be written to any
// number of streams.
func encodeEvent(event string, data any) ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "event: %s\ndata: ", event)
	if err := json.NewEncoder(&buf).Encode(data); err != nil { // Encode ends with \n
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

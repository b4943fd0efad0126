package web

import (
	"context"
	"net/http"
	"time"
)

// The driver's live stream (GET /api/drivers/{id}/stream) is a server-sent
// events stream:
//
//	requests  [DriverRequest, ...] newest first; always the first message
//	request   DriverRequest, each time one changes (accepted, live kWh, ticket...)
//	ticket    Ticket, each ticket of the driver (of the app's requests or
//	          of a driver process of the same id), so the history can refresh
//	ping      {"at": time}, every Options.PingInterval
//
// It ends when the desk drops a reader that fell behind or restarts; the
// page then reconnects and starts again from "requests". The page reads it
// with fetch, not EventSource, because it must send the driver's token in
// a header. It counts against Options.MaxStreamClients with the panel's.
func (s *Server) driverStream(w http.ResponseWriter, r *http.Request) {
	if n := s.streams.Add(1); n > int64(s.opts.MaxStreamClients) {
		s.streams.Add(-1)
		s.refuseStream(w, r)
		return
	}
	defer s.streams.Add(-1)
	desk := s.desk(w)
	if desk == nil {
		return
	}
	id := r.PathValue("id")
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	updates, err := desk.Watch(ctx, id)
	if err != nil {
		s.deskFailed(w, err)
		return
	}
	cctx, ccancel := s.centralCtx(r)
	reqs, err := desk.Requests(cctx, id)
	ccancel()
	if err != nil {
		s.deskFailed(w, err)
		return
	}

	rc, ok := openEventStream(w)
	if !ok {
		return
	}
	send := func(event string, data any) bool {
		msg, err := encodeEvent(event, data)
		if err != nil {
			return false
		}
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(msg); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("requests", toDriverRequests(reqs)) {
		return
	}
	ping := time.NewTicker(s.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.closing:
			return
		case <-ping.C:
			if !send("ping", map[string]time.Time{"at": time.Now().UTC()}) {
				return
			}
		case u, ok := <-updates:
			if !ok {
				return
			}
			if u.Request != nil && !send("request", toDriverRequest(u.Request)) {
				return
			}
			if u.Ticket != nil && !send("ticket", toTicket(u.Ticket)) {
				return
			}
		}
	}
}

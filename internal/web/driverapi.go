package web

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strconv"

	"github.com/evcharging/evsim/actors/driverdesk"
	"github.com/evcharging/evsim/internal/audit"
)

// The driver app: its page (/driver) and its API under /api/drivers. A
// driver's request goes through the driver desk (Options.Drivers) onto
// Kafka as any driver's does; its history comes from Central's database
// (Options.Tickets). driverauth.go says who may act as which driver.

// validID is what a driver or charge point id may look like.
var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Bounds of the lists the driver app reads.
const (
	defaultTicketLimit = 50
	maxTicketLimit     = 500
	maxDirectory       = 1000
)

func (s *Server) driverRoutes(mux *routeMux) {
	mux.HandleFunc("GET /driver", serveDriverPage)
	mux.HandleFunc("GET /api/drivers", s.listDrivers)
	mux.Handle("POST /api/drivers/{id}/requests", s.asDriver(s.requestSupply))
	mux.Handle("GET /api/drivers/{id}/requests", s.asDriver(s.listDriverRequests))
	mux.Handle("GET /api/drivers/{id}/tickets", s.asDriver(s.listDriverTickets))
	mux.Handle("GET /api/drivers/{id}/stream", s.asDriver(s.driverStream))
	mux.Handle("POST /api/drivers/{id}/token", s.operator(http.HandlerFunc(s.issueDriverToken)))

	mux.Handle("/api/drivers/{id}/requests", methodNotAllowed("GET, HEAD, POST"))
	mux.Handle("/api/drivers/{id}/token", methodNotAllowed("POST"))
	for _, p := range []string{"/api/drivers", "/api/drivers/{id}/tickets", "/api/drivers/{id}/stream"} {
		mux.Handle(p, methodNotAllowed("GET, HEAD"))
	}
}

func serveDriverPage(w http.ResponseWriter, r *http.Request) {
	page, err := fs.ReadFile(assetsFS, "assets/driver.html")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(page)
}

// asDriver checks the path's driver id and that the request may act as it.
func (s *Server) asDriver(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if validDriverID(w, id) && s.actAs(w, r, id) {
			next(w, r)
		}
	})
}

// validDriverID answers 400 for an id that cannot be a driver's.
func validDriverID(w http.ResponseWriter, id string) bool {
	if validID.MatchString(id) {
		return true
	}
	writeError(w, http.StatusBadRequest, "driver id "+strconv.Quote(id)+": want 1 to 64 letters, digits, dots, dashes or underscores")
	return false
}

// desk is the driver desk; when there is none yet it answers 503.
func (s *Server) desk(w http.ResponseWriter) DriverDesk {
	d := s.opts.Drivers.Desk()
	if d == nil {
		writeError(w, http.StatusServiceUnavailable, "the driver app is not ready yet (the process is waiting for Kafka)")
	}
	return d
}

// listDrivers answers GET /api/drivers: how drivers act here, and the ids
// Central knows (with tickets, or supplying now).
func (s *Server) listDrivers(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	var ids []string
	if s.opts.Tickets != nil {
		known, err := s.opts.Tickets.DriverIDs(ctx, maxDirectory)
		if err != nil {
			s.log.WithError(err).Warn("Cannot list the drivers with tickets")
		}
		ids = append(ids, known...)
	}
	if snap, err := s.opts.Panel.Snapshot(ctx); err == nil {
		for i := range snap.ChargePoints {
			if sess := snap.ChargePoints[i].Session; sess != nil && sess.DriverID != "" {
				ids = append(ids, sess.DriverID)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, DriverDirectory{Auth: s.driverAuth(), Drivers: ids})
}

// SupplyRequest is the body of POST /api/drivers/{id}/requests.
type SupplyRequest struct {
	CPID string `json:"cp_id"`
}

// requestSupply answers POST /api/drivers/{id}/requests {"cp_id": "CP-001"}
// with 202 and the request as sent; its steps follow on the driver's stream.
func (s *Server) requestSupply(w http.ResponseWriter, r *http.Request) {
	var body SupplyRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, `the body must be {"cp_id": "CP-001"}: `+err.Error())
		return
	}
	if !validID.MatchString(body.CPID) {
		writeError(w, http.StatusBadRequest, "cp_id "+strconv.Quote(body.CPID)+": want a charge point id such as CP-001")
		return
	}
	desk := s.desk(w)
	if desk == nil {
		return
	}
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	req, err := desk.Request(ctx, r.PathValue("id"), body.CPID)
	if err != nil {
		s.deskFailed(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, toDriverRequest(&req))
}

// deskFailed answers an error of the desk: 503 when it is full or silent.
func (s *Server) deskFailed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, driverdesk.ErrTooManyDrivers), errors.Is(err, driverdesk.ErrNotAnswering):
		writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeError(w, http.StatusBadRequest, err.Error())
	}
}

// listDriverRequests answers GET /api/drivers/{id}/requests: the driver's
// requests made through the app, newest first.
func (s *Server) listDriverRequests(w http.ResponseWriter, r *http.Request) {
	desk := s.desk(w)
	if desk == nil {
		return
	}
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	reqs, err := desk.Requests(ctx, r.PathValue("id"))
	if err != nil {
		s.deskFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toDriverRequests(reqs))
}

// listDriverTickets answers GET /api/drivers/{id}/tickets?limit=N: the
// driver's tickets from Central's database, newest first.
func (s *Server) listDriverTickets(w http.ResponseWriter, r *http.Request) {
	limit, err := queryUint(r.URL.Query().Get("limit"), defaultTicketLimit)
	if err != nil || limit < 1 || limit > maxTicketLimit {
		writeError(w, http.StatusBadRequest, "limit: want a whole number from 1 to 500")
		return
	}
	if s.opts.Tickets == nil {
		writeError(w, http.StatusNotFound, "this process keeps no tickets")
		return
	}
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	tickets, err := s.opts.Tickets.DriverTickets(ctx, r.PathValue("id"), int(limit))
	if err != nil {
		s.log.WithError(err).Warn("Cannot read a driver's tickets")
		writeError(w, http.StatusServiceUnavailable, "cannot read the tickets now")
		return
	}
	writeJSON(w, http.StatusOK, toTickets(tickets))
}

// issueDriverToken answers POST /api/drivers/{id}/token (operator).
func (s *Server) issueDriverToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validDriverID(w, id) {
		return
	}
	s.auditAction(r, "driver.token.issue", "driver:"+id, audit.OutcomeOK, "")
	s.log.WithField("driver_id", id).Infof("Issued a driver token for %s", id)
	writeJSON(w, http.StatusOK, DriverToken{DriverID: id, Token: s.driverToken(id)})
}

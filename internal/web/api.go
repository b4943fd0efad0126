package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/bridge"
)

// Bounds of GET /api/events.
const (
	defaultEventLimit = 100
	maxEventLimit     = 1000
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// centralCtx bounds one call to Central.
func (s *Server) centralCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.opts.RequestTimeout)
}

// centralUnreachable answers 503 when Central did not answer.
func (s *Server) centralUnreachable(w http.ResponseWriter, r *http.Request, err error) {
	s.log.WithError(err).WithField("path", r.URL.Path).Debug("Central did not answer the web panel")
	writeError(w, http.StatusServiceUnavailable, "cannot reach Central: "+err.Error())
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"status":   "ok",
		"uptime_s": int64(time.Since(s.started).Seconds()),
	})
}

// withThisRun adds this run's figures to Central's all-time totals.
func (s *Server) withThisRun(t Totals) Totals {
	r := s.opts.Run
	t.ThisRun = RunTotals{KWh: round(r.KWh(), 4), EUR: round(r.EUR(), 4), Tickets: r.Tickets.Load()}
	return t
}

func (s *Server) bridge() Bridge {
	state, detail := s.opts.Bridge.BridgeState()
	return Bridge{State: state.String(), Detail: detail, Ready: state == bridge.StateReady}
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	b := s.bridge()
	status := http.StatusOK
	if !b.Ready {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, b)
}

// listChargePoints answers GET /api/chargepoints[?state=FAULT,STOPPED].
func (s *Server) listChargePoints(w http.ResponseWriter, r *http.Request) {
	var want []string
	if q := r.URL.Query().Get("state"); q != "" {
		for _, name := range splitComma(q) {
			if _, ok := looks[name]; !ok {
				writeError(w, http.StatusBadRequest, "unknown state "+strconv.Quote(name)+" (want one of "+strings.Join(stateNames, ", ")+")")
				return
			}
			want = append(want, name)
		}
	}
	snap, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	out := make([]ChargePoint, 0, len(snap.ChargePoints))
	for i := range snap.ChargePoints {
		cp := toChargePoint(&snap.ChargePoints[i])
		if want == nil || slices.Contains(want, cp.State) {
			out = append(out, cp)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// snapshot asks Central for the panel within the request's time budget; when
// Central does not answer it writes the 503 and returns false.
func (s *Server) snapshot(w http.ResponseWriter, r *http.Request) (*central.Snapshot, bool) {
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	snap, err := s.opts.Panel.Snapshot(ctx)
	if err != nil {
		s.centralUnreachable(w, r, err)
		return nil, false
	}
	return snap, true
}

// getChargePoint answers GET /api/chargepoints/{id}.
func (s *Server) getChargePoint(w http.ResponseWriter, r *http.Request) {
	snap, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if v := findChargePoint(snap, id); v != nil {
		writeJSON(w, http.StatusOK, toChargePoint(v))
		return
	}
	writeError(w, http.StatusNotFound, "unknown charge point "+id)
}

func findChargePoint(snap *central.Snapshot, id string) *central.ChargePointView {
	for i := range snap.ChargePoints {
		if snap.ChargePoints[i].ID == id {
			return &snap.ChargePoints[i]
		}
	}
	return nil
}

// listEvents answers GET /api/events?since=N&limit=M: the events after
// sequence number N (default 0), at most M (default 100, at most 1000),
// oldest first.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err := queryUint(q.Get("since"), 0)
	if err != nil {
		writeError(w, http.StatusBadRequest, "since: "+err.Error())
		return
	}
	limit, err := queryUint(q.Get("limit"), defaultEventLimit)
	if err != nil || limit < 1 || limit > maxEventLimit {
		writeError(w, http.StatusBadRequest, "limit: want a whole number from 1 to 1000")
		return
	}
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	events, err := s.opts.Panel.Events(ctx, since, int(limit))
	if err != nil {
		s.centralUnreachable(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toEvents(events))
}

func queryUint(v string, def uint64) (uint64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a whole number, got %q", v)
	}
	return n, nil
}

// network answers GET /api/network.
func (s *Server) network(w http.ResponseWriter, r *http.Request) {
	snap, ok := s.snapshot(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, Network{
		Totals:          s.withThisRun(snapshotTotals(snap)),
		LastEvent:       snap.LastEvent,
		Bridge:          s.bridge(),
		Run:             s.opts.Run.Snapshot(),
		OperatorEnabled: s.tokenSum != nil,
	})
}

// splitComma splits "fault, stopped" into ["FAULT", "STOPPED"].
func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
			out = append(out, p)
		}
	}
	return out
}

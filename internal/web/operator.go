package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/internal/audit"
	"github.com/sirupsen/logrus"
)

// operator lets a request through only when it carries the operator token
// as "Authorization: Bearer <token>". Both sides are hashed before the
// constant-time compare, so neither the token's bytes nor its length leak
// through timing. A cookie is never accepted: a header cannot be sent by
// another site's form, so there is no cross-site request forgery.
func (s *Server) operator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tokenSum == nil {
			writeError(w, http.StatusForbidden, "operator actions are disabled: Central runs without an operator token")
			return
		}
		given, ok := bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="evsim"`)
			writeError(w, http.StatusUnauthorized, "operator token required (Authorization: Bearer <token>)")
			return
		}
		sum := sha256.Sum256([]byte(given))
		if subtle.ConstantTimeCompare(sum[:], s.tokenSum) != 1 {
			s.refused(r)
			s.auditAction(r, "operator.auth.fail", "", audit.OutcomeDenied, "wrong operator token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="evsim", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "wrong operator token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refusedLogEvery bounds the WARN lines about wrong tokens: someone trying
// tokens in a loop gives one line per period, with the count.
const refusedLogEvery = 10 * time.Second

// refused counts a request with a wrong token and says so at most once per
// refusedLogEvery.
func (s *Server) refused(r *http.Request) {
	s.wrongTokens.Add(1)
	now := time.Now().UnixNano()
	last := s.wrongLogged.Load()
	if now-last < int64(refusedLogEvery) || !s.wrongLogged.CompareAndSwap(last, now) {
		return
	}
	s.log.WithFields(logrus.Fields{"remote": r.RemoteAddr, "path": r.URL.Path, "refused": s.wrongTokens.Swap(0)}).
		Warn("Refused operator actions with a wrong token")
}

// bearer takes the token out of an Authorization header.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authCheck answers POST /api/auth/check with 204 once the guard let the
// token through: the page asks it before it unlocks the operator actions.
func (s *Server) authCheck(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

// chargePointAction answers POST /api/chargepoints/{id}/{stop|resume|ko|unko|revoke-key|rotate-key}.
func (s *Server) chargePointAction(w http.ResponseWriter, r *http.Request) {
	id, action := r.PathValue("id"), r.PathValue("action")
	ctx, cancel := s.centralCtx(r)
	defer cancel()
	var (
		res *central.OperatorResult
		err error
	)
	switch action {
	case "stop":
		res, err = s.opts.Panel.Stop(ctx, id)
	case "resume":
		res, err = s.opts.Panel.Resume(ctx, id)
	case "ko":
		res, err = s.opts.Panel.KnockOut(ctx, id, true)
	case "unko":
		res, err = s.opts.Panel.KnockOut(ctx, id, false)
	case "revoke-key", "rotate-key":
		res, err = s.keyAction(ctx, id, action)
	default:
		writeError(w, http.StatusNotFound, "unknown action "+action+" (want stop, resume, ko, unko, revoke-key or rotate-key)")
		return
	}
	s.answerAction(w, r, action, id, res, err)
}

// allAction answers POST /api/stop-all and /api/resume-all.
func (s *Server) allAction(action string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := s.centralCtx(r)
		defer cancel()
		var (
			res *central.OperatorResult
			err error
		)
		if action == "stop-all" {
			res, err = s.opts.Panel.Stop(ctx, "")
		} else {
			res, err = s.opts.Panel.Resume(ctx, "")
		}
		s.answerAction(w, r, action, "", res, err)
	})
}

// answerAction turns Central's answer into HTTP: 200 with the count of
// charge points affected, 404 for an unknown charge point, 409 for an action
// Central refused (its sentence as the error), 503 when Central is silent.
func (s *Server) answerAction(w http.ResponseWriter, r *http.Request, action, id string, res *central.OperatorResult, err error) {
	if err != nil {
		s.centralUnreachable(w, r, err)
		return
	}
	if res == nil {
		res = &central.OperatorResult{}
	}
	fields := logrus.Fields{"action": action, "remote": r.RemoteAddr}
	if id != "" {
		fields["cp_id"] = id
	}
	if res.OwnerSilent {
		s.auditAction(r, action, id, audit.OutcomeDenied, res.Err)
		writeError(w, http.StatusGatewayTimeout, res.Err)
		return
	}
	if res.Owner == "" && (res.Err != "" || (id != "" && res.Affected == 0)) {
		// Was it refused because the charge point does not exist?
		ctx, cancel := s.centralCtx(r)
		defer cancel()
		if snap, err := s.opts.Panel.Snapshot(ctx); err == nil && id != "" && findChargePoint(snap, id) == nil {
			writeError(w, http.StatusNotFound, "unknown charge point "+id)
			return
		}
	}
	if res.Err != "" {
		s.auditAction(r, action, id, audit.OutcomeDenied, res.Err)
		s.log.WithFields(fields).Infof("Central refused an operator action: %s", res.Err)
		writeError(w, http.StatusConflict, res.Err)
		return
	}
	target := id
	if target == "" {
		target = "every charge point"
	}
	detail := fmt.Sprintf("%d affected", res.Affected)
	out := ActionResult{Action: action, CPID: id, Affected: res.Affected, Owner: res.Owner}
	for _, m := range res.Members {
		out.Members = append(out.Members, MemberAction{Address: m.Address, Affected: m.Affected, Error: m.Err})
		if m.Err != "" {
			detail += "; " + m.Err
		}
	}
	s.auditAction(r, action, target, audit.OutcomeOK, detail)
	s.log.WithFields(fields).WithField("affected", res.Affected).Infof("Operator action %s carried out on %s (%s)", action, target, detail)
	writeJSON(w, http.StatusOK, out)
}

package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/evcharging/evsim/internal/audit"
)

// Who may act as which driver:
//
//   - Central without an operator token: anyone may act as any driver (the
//     lab's open mode; the page says so). Only driver ids are ever shown.
//   - With an operator token: a request acting as driver D carries
//     "Authorization: Bearer T" where T is D's driver token, or the operator
//     token (an operator may act for any driver, as a help desk would). A
//     driver token is HMAC-SHA256(key, D), the key derived from the operator
//     token: Central keeps no list of them, and changing the operator token
//     withdraws every driver token at once. The operator issues one with
//     POST /api/drivers/{id}/token.
//
// Header only, never a cookie, as for the operator: another site cannot
// make a browser act as a driver.

const driverTokenPrefix = "drv_"

// driverTokenKey derives the driver tokens' key from the operator token, so
// that a driver token reveals nothing of it.
func driverTokenKey(operatorToken string) []byte {
	sum := sha256.Sum256([]byte("evsim driver tokens\x00" + operatorToken))
	return sum[:]
}

// driverToken is driver id's token.
func (s *Server) driverToken(id string) string {
	mac := hmac.New(sha256.New, driverTokenKey(s.opts.OperatorToken))
	mac.Write([]byte(id))
	return driverTokenPrefix + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// driverAuth is "open" or "token" (DriverDirectory.Auth).
func (s *Server) driverAuth() string {
	if s.tokenSum == nil {
		return "open"
	}
	return "token"
}

// actAs reports whether the request may act as driver id; when not, it has
// answered 401.
func (s *Server) actAs(w http.ResponseWriter, r *http.Request, id string) bool {
	if s.tokenSum == nil {
		return true
	}
	given, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="evsim-driver"`)
		writeError(w, http.StatusUnauthorized, "a driver token is required to act as "+id+" (Authorization: Bearer <token>; the operator issues it)")
		return false
	}
	op := sha256.Sum256([]byte(given))
	if subtle.ConstantTimeCompare(op[:], s.tokenSum) == 1 || hmac.Equal([]byte(given), []byte(s.driverToken(id))) {
		return true
	}
	s.auditAction(r, "driver.auth.fail", "driver:"+id, audit.OutcomeDenied, "wrong driver token")
	w.Header().Set("WWW-Authenticate", `Bearer realm="evsim-driver", error="invalid_token"`)
	writeError(w, http.StatusUnauthorized, "this token does not act for driver "+id)
	return false
}

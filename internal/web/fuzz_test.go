package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// FuzzRequests sends what a client controls (query values, a path segment,
// the Authorization header) and checks that the server answers with a known
// status and never acts without the token.
func FuzzRequests(f *testing.F) {
	for _, seed := range [][4]string{
		{"0", "100", "ACTIVATED", "Bearer x"},
		{"-1", "abc", "fault, stopped", "Bearer"},
		{"18446744073709551616", "1001", ",,,", "bearer  token "},
		{"", "", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	panel := webtest.NewPanel(3)
	srv, err := web.New(web.Options{Panel: panel, Bridge: web.BridgeFunc(func() (bridge.State, string) { return bridge.StateReady, "" }),
		Run: stats.New(), OperatorToken: "right-token"})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, since, limit, state, auth string) {
		get := func(path string, q url.Values) int {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		if c := get("/api/events", url.Values{"since": {since}, "limit": {limit}}); c != 200 && c != 400 {
			t.Errorf("events: %d", c)
		}
		if c := get("/api/chargepoints", url.Values{"state": {state}}); c != 200 && c != 400 {
			t.Errorf("chargepoints: %d", c)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/chargepoints/"+url.PathEscape(state)+"/stop", nil)
		req.Header.Set("Authorization", auth)
		h.ServeHTTP(rec, req)
		if bearer, ok := strings.CutPrefix(strings.ToLower(auth), "bearer "); (!ok || strings.TrimSpace(bearer) != "right-token") && rec.Code < 300 {
			t.Errorf("POST %s with %q acted: %d", req.URL.Path, auth, rec.Code)
		}
	})
}

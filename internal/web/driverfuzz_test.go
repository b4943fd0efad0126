package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// FuzzDriverRequests sends what a driver's client controls (the driver id
// in the path, the body, the Authorization header) and checks that the
// server answers with a known status, acts only with a token that may act,
// and hands the desk only well-formed ids.
func FuzzDriverRequests(f *testing.F) {
	for _, seed := range [][3]string{
		{"alice", `{"cp_id":"CP-001"}`, "Bearer right-token"},
		{"bob", `{"cp_id":"CP-001","x":1}`, "Bearer right-token"},
		{"../x", `{"cp_id":"<b>"}`, "Bearer drv_x"},
		{"", `[]`, ""},
		{"carol", `{"cp_id":"CP 1"}`, "bearer right-token "},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	desk := webtest.NewDesk()
	slot := &web.DriverSlot{}
	slot.Set(desk)
	srv, err := web.New(web.Options{Panel: webtest.NewPanel(2), Bridge: web.BridgeFunc(func() (bridge.State, string) { return bridge.StateReady, "" }),
		Run: stats.New(), OperatorToken: "right-token", Drivers: slot})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	valid := regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	f.Fuzz(func(t *testing.T, driverID, body, auth string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/drivers/"+url.PathEscape(driverID)+"/requests", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusMethodNotAllowed,
			http.StatusMovedPermanently, http.StatusTemporaryRedirect: // the mux cleans paths such as /api/drivers//requests
		default:
			t.Errorf("POST for %q with %q: %d %s", driverID, body, rec.Code, rec.Body)
		}
		if bearer, ok := strings.CutPrefix(strings.ToLower(auth), "bearer "); (!ok || strings.TrimSpace(bearer) != "right-token") && rec.Code == http.StatusAccepted {
			t.Errorf("a request for %q with %q was accepted", driverID, auth)
		}
		if rec.Code != http.StatusAccepted {
			return
		}
		reqs, _ := desk.Requests(context.Background(), driverID)
		if len(reqs) == 0 || !valid.MatchString(reqs[0].DriverID) || !valid.MatchString(reqs[0].CPID) {
			t.Errorf("the desk got %+v", reqs)
		}
	})
}

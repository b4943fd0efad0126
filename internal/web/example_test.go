package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// A server on Central's panel: read a charge point, then stop it as the
// operator.
func ExampleNew() {
	status := &web.BridgeStatus{} // the bridge watcher calls Set
	srv, err := web.New(web.Options{
		Panel:         webtest.NewPanel(3), // in evsim: the network's central.Panel
		Bridge:        status,
		Run:           stats.New(),
		OperatorToken: "op-secret",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Shutdown(context.Background())
	ts := httptest.NewServer(srv.Handler()) // in evsim: srv.Start() on --http
	defer ts.Close()

	resp, _ := http.Get(ts.URL + "/readyz")
	fmt.Println("readyz before the bridge is ready:", resp.StatusCode)
	resp.Body.Close()
	status.Set(bridge.StateReady, "127.0.0.1:9092")
	resp, _ = http.Get(ts.URL + "/readyz")
	fmt.Println("readyz once it is:", resp.StatusCode)
	resp.Body.Close()

	var cp web.ChargePoint
	resp, _ = http.Get(ts.URL + "/api/chargepoints/CP-002")
	_ = json.NewDecoder(resp.Body).Decode(&cp)
	resp.Body.Close()
	fmt.Println(cp.ID, cp.State, cp.Colour)

	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/chargepoints/CP-002/stop", nil)
	resp, _ = http.DefaultClient.Do(req)
	fmt.Println("stop without the token:", resp.StatusCode)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodPost, ts.URL+"/api/chargepoints/CP-002/stop", nil)
	req.Header.Set("Authorization", "Bearer op-secret")
	resp, _ = http.DefaultClient.Do(req)
	var body strings.Builder
	_, _ = fmt.Fprint(&body, readAll(resp))
	fmt.Println("stop with it:", resp.StatusCode, body.String())

	resp, _ = http.Get(ts.URL + "/api/chargepoints/CP-002")
	_ = json.NewDecoder(resp.Body).Decode(&cp)
	resp.Body.Close()
	fmt.Println(cp.ID, cp.State, cp.Colour, cp.Label)
	// Output:
	// readyz before the bridge is ready: 503
	// readyz once it is: 200
	// CP-002 ACTIVATED green
	// stop without the token: 401
	// stop with it: 200 {"action":"stop","cp_id":"CP-002","affected":1}
	// CP-002 STOPPED orange Out of order
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return strings.TrimSpace(b.String())
		}
	}
}

package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

// driverRig is a server on the fake Central and a fake driver desk;
// operatorToken "" runs it in open mode.
func driverRig(t *testing.T, operatorToken string) *rig {
	t.Helper()
	slot := &web.DriverSlot{}
	slot.Set(webtest.NewDesk())
	return newRig(t, 3, func(o *web.Options) { o.Drivers, o.OperatorToken = slot, operatorToken })
}

// post sends a JSON body with an optional Authorization header.
func (r *rig) post(t *testing.T, path, auth, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.http.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := r.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, got
}

// Without an operator token anyone may act as any driver, and the
// directory says so.
func TestTheDriverAppIsOpenWithoutAnOperatorToken(t *testing.T) {
	r := driverRig(t, "")
	var dir web.DriverDirectory
	r.getJSON(t, "/api/drivers", http.StatusOK, &dir)
	if dir.Auth != "open" {
		t.Errorf("auth %q, want open", dir.Auth)
	}
	code, body := r.post(t, "/api/drivers/alice/requests", "", `{"cp_id":"CP-002"}`)
	if code != http.StatusAccepted {
		t.Fatalf("request: %d %s", code, body)
	}
	var req web.DriverRequest
	if err := json.Unmarshal(body, &req); err != nil || req.DriverID != "alice" || req.CPID != "CP-002" || req.Status != "requested" {
		t.Errorf("request: %+v %v", req, err)
	}
	if code, body := r.post(t, "/api/drivers/alice/token", "", ""); code != http.StatusForbidden {
		t.Errorf("a driver token without an operator token: %d %s, want 403", code, body)
	}
}

// With an operator token a driver's token acts for that driver only; the
// operator's acts for any; the operator issues the driver tokens.
func TestADriverTokenActsForItsDriverOnly(t *testing.T) {
	r := driverRig(t, testToken)
	var dir web.DriverDirectory
	r.getJSON(t, "/api/drivers", http.StatusOK, &dir)
	if dir.Auth != "token" {
		t.Errorf("auth %q, want token", dir.Auth)
	}
	if code, _ := r.post(t, "/api/drivers/alice/token", "", ""); code != http.StatusUnauthorized {
		t.Errorf("a driver token without the operator's: %d, want 401", code)
	}
	code, body := r.post(t, "/api/drivers/alice/token", "Bearer "+testToken, "")
	var tok web.DriverToken
	if code != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.DriverID != "alice" || !strings.HasPrefix(tok.Token, "drv_") {
		t.Fatalf("issue alice's token: %d %s", code, body)
	}
	_, again := r.post(t, "/api/drivers/alice/token", "Bearer "+testToken, "")
	if !strings.Contains(string(again), tok.Token) {
		t.Errorf("the same driver's token differs between two issues: %s vs %s", body, again)
	}
	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/api/drivers/alice/requests", "", http.StatusUnauthorized},
		{"/api/drivers/alice/requests", "Bearer drv_wrong", http.StatusUnauthorized},
		{"/api/drivers/alice/requests", "Bearer " + tok.Token, http.StatusAccepted},
		{"/api/drivers/bob/requests", "Bearer " + tok.Token, http.StatusUnauthorized},
		{"/api/drivers/bob/requests", "Bearer " + testToken, http.StatusAccepted},
	} {
		if code, body := r.post(t, c.path, c.auth, `{"cp_id":"CP-001"}`); code != c.want {
			t.Errorf("POST %s with %q: %d %s, want %d", c.path, c.auth, code, body, c.want)
		}
	}
	for _, path := range []string{"/api/drivers/alice/tickets", "/api/drivers/alice/requests", "/api/drivers/alice/stream"} {
		if code, _, body := r.do(t, http.MethodGet, path, "Bearer drv_wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d %s, want 401", path, code, body)
		}
	}
	code, _, body = r.do(t, http.MethodGet, "/api/drivers/alice/requests", "Bearer "+tok.Token)
	var reqs []web.DriverRequest
	if code != http.StatusOK || json.Unmarshal(body, &reqs) != nil || len(reqs) != 1 || reqs[0].CPID != "CP-001" {
		t.Errorf("alice's requests: %d %s", code, body)
	}
}

// The driver's stream starts with the requests so far and then carries each
// new one.
func TestTheDriverStreamCarriesNewRequests(t *testing.T) {
	r := driverRig(t, "")
	r.post(t, "/api/drivers/carol/requests", "", `{"cp_id":"CP-001"}`)
	s := openStreamAt(t, r.http.URL+"/api/drivers/carol/stream")
	var first []web.DriverRequest
	s.next(t, "requests", &first)
	if len(first) != 1 || first[0].CPID != "CP-001" {
		t.Fatalf("first message: %+v", first)
	}
	r.post(t, "/api/drivers/carol/requests", "", `{"cp_id":"CP-003"}`)
	var req web.DriverRequest
	s.next(t, "request", &req)
	if req.CPID != "CP-003" || req.Status != "requested" {
		t.Errorf("the new request on the stream: %+v", req)
	}
	if code, body := r.post(t, "/api/drivers/carol/requests", "", `{"cp_id":"CP 1"}`); code != http.StatusBadRequest || !strings.Contains(string(body), "cp_id") {
		t.Errorf("a malformed charge point id: %d %s", code, body)
	}
}

// Before the process's bridge is ready there is no desk: 503, saying why.
func TestTheDriverAppSaysWhenItIsNotReady(t *testing.T) {
	r := newRig(t, 1, func(o *web.Options) { o.Drivers, o.OperatorToken = &web.DriverSlot{}, "" })
	if code, body := r.post(t, "/api/drivers/alice/requests", "", `{"cp_id":"CP-001"}`); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "not ready") {
		t.Errorf("request before the desk: %d %s", code, body)
	}
}

// Issuing a driver token and a wrong driver token are in the audit log.
func TestDriverTokensAreAudited(t *testing.T) {
	log, err := audit.Open(filepath.Join(t.TempDir(), "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	slot := &web.AuditSlot{}
	slot.Set(log)
	drivers := &web.DriverSlot{}
	drivers.Set(webtest.NewDesk())
	r := newRig(t, 1, func(o *web.Options) { o.Audit, o.Drivers = slot, drivers })
	r.post(t, "/api/drivers/alice/token", "Bearer "+testToken, "")
	r.post(t, "/api/drivers/alice/requests", "Bearer drv_guess", `{"cp_id":"CP-001"}`)
	code, _, body := r.do(t, http.MethodGet, "/api/audit", "Bearer "+testToken)
	if code != http.StatusOK {
		t.Fatalf("GET /api/audit: %d %s", code, body)
	}
	for _, want := range []string{`"action":"driver.token.issue","target":"driver:alice","outcome":"ok"`, `"action":"driver.auth.fail","target":"driver:alice"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the audit log lacks %s: %s", want, body)
		}
	}
}

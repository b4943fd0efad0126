package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/audit"
)

// The whole API over real HTTPS, as the README's curl session shows it.
func TestTheRegistryAPIOverHTTPS(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	cred := f.register(t, "CP-001")
	if a := f.call(t, "POST", "/v1/chargepoints", adminToken, map[string]any{"id": "CP-001", "location": "X", "price_eur_kwh": 0.3}); a.status != http.StatusConflict {
		t.Fatalf("register again = %d %s; want 409", a.status, a.body)
	}
	a := f.call(t, "POST", "/v1/chargepoints", adminToken, map[string]any{"id": "CP-001", "location": "X", "price_eur_kwh": 0.3, "rotate": true})
	var rot registerResponse
	a.decode(t, &rot)
	if a.status != http.StatusOK || rot.Credential == "" || rot.Credential == cred {
		t.Fatalf("rotate = %d %s", a.status, a.body)
	}
	cred = rot.Credential
	f.register(t, "CP-002")

	a = f.call(t, "GET", "/v1/chargepoints?page_size=1", adminToken, nil)
	var page listResponse
	a.decode(t, &page)
	if a.status != 200 || len(page.ChargePoints) != 1 || page.NextPageToken != "CP-001" {
		t.Fatalf("list page 1 = %d %s", a.status, a.body)
	}
	if strings.Contains(string(a.body), "cpc_") || strings.Contains(string(a.body), "hash") {
		t.Fatalf("the list shows a secret: %s", a.body)
	}
	a = f.call(t, "GET", "/v1/chargepoints?page_size=1&page_token="+page.NextPageToken, adminToken, nil)
	page = listResponse{}
	a.decode(t, &page)
	if len(page.ChargePoints) != 1 || page.ChargePoints[0].ID != "CP-002" || page.NextPageToken != "" {
		t.Fatalf("list page 2 = %s", a.body)
	}

	a = f.call(t, "POST", "/v1/tokens", "", map[string]string{"id": "CP-001", "credential": cred})
	var tok tokenResponse
	a.decode(t, &tok)
	if a.status != 200 || strings.Count(tok.Token, ".") != 2 || tok.ExpiresAt.IsZero() {
		t.Fatalf("token = %d %s", a.status, a.body)
	}
	if a := f.call(t, "POST", "/v1/tokens", "", map[string]string{"id": "CP-001", "credential": "cpc_wrong"}); a.status != http.StatusUnauthorized {
		t.Fatalf("wrong credential = %d %s; want 401", a.status, a.body)
	}

	if a := f.call(t, "POST", "/v1/chargepoints/CP-001/revoke", adminToken, nil); a.status != 200 || !strings.Contains(string(a.body), `"revoked"`) {
		t.Fatalf("revoke = %d %s", a.status, a.body)
	}
	if a := f.call(t, "POST", "/v1/tokens", "", map[string]string{"id": "CP-001", "credential": cred}); a.status != http.StatusForbidden {
		t.Fatalf("token after revoke = %d %s; want 403", a.status, a.body)
	}
	if a := f.call(t, "DELETE", "/v1/chargepoints/CP-002", adminToken, nil); a.status != http.StatusNoContent {
		t.Fatalf("deregister = %d %s", a.status, a.body)
	}
	if a := f.call(t, "DELETE", "/v1/chargepoints/CP-002", adminToken, nil); a.status != http.StatusNotFound {
		t.Fatalf("deregister again = %d %s; want 404", a.status, a.body)
	}
	if a := f.call(t, "GET", "/v1/keys", "", nil); a.status != 200 || !strings.Contains(string(a.body), f.reg.KeyID()) {
		t.Fatalf("keys = %d %s", a.status, a.body)
	}
	a = f.call(t, "GET", "/v1/audit/verify", adminToken, nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"ok":true`) {
		t.Fatalf("audit verify = %d %s", a.status, a.body)
	}
	a = f.call(t, "GET", "/v1/audit", adminToken, nil)
	if a.status != 200 || !strings.Contains(string(a.body), `"action":"revoke"`) || !strings.Contains(string(a.body), `"action":"auth.fail"`) {
		t.Fatalf("audit = %d %s", a.status, a.body)
	}
}

// State-changing and listing calls need the admin token; the answer to a
// missing or wrong one is the same 401.
func TestAdminCallsWithoutTheAdminTokenAreRefused(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{Limit: 100})
	f.register(t, "CP-001")
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/chargepoints"}, {"GET", "/v1/chargepoints"}, {"GET", "/v1/chargepoints/CP-001"},
		{"DELETE", "/v1/chargepoints/CP-001"}, {"POST", "/v1/chargepoints/CP-001/revoke"},
		{"GET", "/v1/audit"}, {"GET", "/v1/audit/verify"},
	} {
		for _, tok := range []string{"", "wrong-admin-token-0000000"} {
			a := f.call(t, c.method, c.path, tok, `{"id":"CP-009","location":"A","price_eur_kwh":0.3}`)
			if a.status != http.StatusUnauthorized {
				t.Errorf("%s %s with token %q = %d %s; want 401", c.method, c.path, tok, a.status, a.body)
			}
		}
	}
	if v, err := f.reg.Get("CP-001"); err != nil || v.State != "registered" {
		t.Fatalf("after unauthenticated calls CP-001 = %+v, %v", v, err)
	}
}

func TestRepeatedFailuresAnswer429WithRetryAfter(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	cred := f.register(t, "CP-001")
	for i := 0; i < 5; i++ {
		if a := f.call(t, "POST", "/v1/tokens", "", map[string]string{"id": "CP-001", "credential": "cpc_guess"}); a.status != 401 {
			t.Fatalf("guess %d = %d", i, a.status)
		}
	}
	a := f.call(t, "POST", "/v1/tokens", "", map[string]string{"id": "CP-001", "credential": cred})
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != http.StatusTooManyRequests || err != nil || secs < 1 {
		t.Fatalf("after 5 failures = %d Retry-After %q; want 429 with seconds", a.status, a.header.Get("Retry-After"))
	}
}

func TestMalformedBodiesAre400WithTheReason(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	for _, body := range []string{
		``, `{`, `[]`, `{"id":"CP-1","location":"A","price_eur_kwh":0.3,"admin":true}`,
		`{"id":"CP-1","location":"A"}`, `{"id":"CP 1","location":"A","price_eur_kwh":0.3}`,
		`{"id":"CP-1","location":"A","price_eur_kwh":0.3}{}`, `{"id":"CP-1","location":"` + strings.Repeat("a", 5000) + `","price_eur_kwh":0.3}`,
	} {
		a := f.call(t, "POST", "/v1/chargepoints", adminToken, body)
		if a.status != http.StatusBadRequest || !strings.Contains(string(a.body), `"error"`) {
			t.Errorf("register %.40q = %d %s; want 400", body, a.status, a.body)
		}
	}
}

// The API is HTTPS only: a plain HTTP request gets no API answer.
func TestPlainHTTPIsRefused(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	resp, err := http.Get("http://" + f.srv.Addr() + "/v1/keys")
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP was served")
		}
	}
}

func TestTheRequestIDIsEchoedAndAudited(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	req, _ := http.NewRequest("POST", f.base+"/v1/chargepoints", strings.NewReader(`{"id":"CP-7","location":"A","price_eur_kwh":0.3}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("X-Request-Id", "trace-42")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "trace-42" {
		t.Fatalf("X-Request-Id = %q", resp.Header.Get("X-Request-Id"))
	}
	recs, _ := f.audit.Read(0, 10)
	if len(recs) != 1 || recs[0].RequestID != "trace-42" || !strings.HasPrefix(recs[0].Source, "127.0.0.1:") {
		t.Fatalf("audit = %+v", recs)
	}
}

// The client a monitor and evsim use, against the real HTTPS API.
func TestTheClientOverHTTPS(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	c, err := NewClient(f.base, f.cert.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cred, err := c.Register(ctx, adminToken, "CP-001", "Alicante", 0.3, false)
	if err != nil || cred == "" {
		t.Fatalf("register = %q, %v", cred, err)
	}
	if _, err := c.Register(ctx, adminToken, "CP-001", "Alicante", 0.3, false); !errors.Is(err, registry.ErrExists) {
		t.Fatalf("register again = %v", err)
	}
	tok, exp, err := c.Token(ctx, "CP-001", cred)
	if err != nil || tok == "" || time.Until(exp) < time.Minute {
		t.Fatalf("token = %q %v, %v", tok, exp, err)
	}
	if _, _, err := c.Token(ctx, "CP-001", "cpc_wrong"); !errors.Is(err, registry.ErrBadCredential) {
		t.Fatalf("wrong credential = %v", err)
	}
	if _, err := NewClient(f.base, ""); err != nil {
		t.Fatal(err)
	}
	untrusting, _ := NewClient(f.base, "")
	if _, _, err := untrusting.Token(ctx, "CP-001", cred); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client that does not trust the self-signed certificate = %v; want a certificate error", err)
	}
}

// Concurrent calls over HTTPS: every registration and token answered, and
// the audit chain intact after them (appends are serialised).
func TestConcurrentCallsKeepTheStateAndTheAuditChain(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := fmt.Sprintf("CP-%03d", i)
			a := f.call(t, "POST", "/v1/chargepoints", adminToken, map[string]any{"id": id, "location": "X", "price_eur_kwh": 0.3})
			var out registerResponse
			if a.status != 201 || json.Unmarshal(a.body, &out) != nil {
				errs <- fmt.Sprintf("register %s = %d", id, a.status)
				return
			}
			for j := 0; j < 3; j++ {
				if a := f.call(t, "POST", "/v1/tokens", "", map[string]string{"id": id, "credential": out.Credential}); a.status != 200 {
					errs <- fmt.Sprintf("token %s = %d", id, a.status)
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n, err := audit.VerifyFile(f.audit.Path()); err != nil || n != 16*4 {
		t.Fatalf("audit after concurrent calls: %d records, %v; want 64 intact", n, err)
	}
}

package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/evcharging/evsim/actors/registry"
)

// fuzzStatus runs one request through the API's handler (no TLS: the
// decoders are what is fuzzed) and answers the status.
func fuzzStatus(h http.Handler, path, token, body string) int {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.RemoteAddr = "10.1.2.3:4567"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// FuzzRegisterBody: any body gives 201, 200 (rotate), 400 or 409; never a
// panic or a 500.
func FuzzRegisterBody(f *testing.F) {
	fx := startAPI(f, registry.ThrottleOptions{Limit: 1 << 20})
	h := fx.srv.Handler()
	f.Add(`{"id":"CP-001","location":"Alicante","price_eur_kwh":0.3}`)
	f.Add(`{"id":"CP-001","location":"Alicante","price_eur_kwh":0.3,"rotate":true}`)
	f.Add(`{"id":"","location":"","price_eur_kwh":-1}`)
	f.Add(`{"id":"CP-001","location":"A","price_eur_kwh":1e400}`)
	f.Add(`{"id":"CP-001","location":"A\u0000","price_eur_kwh":0.3}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		switch code := fuzzStatus(h, "/v1/chargepoints", adminToken, body); code {
		case 200, 201, 400, 409:
		default:
			t.Fatalf("register %q = %d", body, code)
		}
	})
}

// FuzzTokenBody: any body gives 400, 401 or 429 (no credential is
// guessed), never a panic, a 500 or a token.
func FuzzTokenBody(f *testing.F) {
	fx := startAPI(f, registry.ThrottleOptions{Limit: 1 << 20})
	fx.register(f, "CP-001")
	h := fx.srv.Handler()
	f.Add(`{"id":"CP-001","credential":"cpc_x"}`)
	f.Add(`{"id":"CP-001","credential":"` + strings.Repeat("a", 100) + `"}`)
	f.Add(`{"id":"CP-001"}`)
	f.Add(`{"credential":null}`)
	f.Add(`{}{}`)
	f.Fuzz(func(t *testing.T, body string) {
		switch code := fuzzStatus(h, "/v1/tokens", "", body); code {
		case 400, 401, 429:
		default:
			t.Fatalf("token %q = %d", body, code)
		}
	})
}

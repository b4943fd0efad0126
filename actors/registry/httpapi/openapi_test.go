package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/evcharging/evsim/actors/registry"
)

// servedDoc loads the OpenAPI document the registry serves and validates it.
func servedDoc(t *testing.T, f *apiFixture) *openapi3.T {
	t.Helper()
	a := f.call(t, "GET", "/openapi.yaml", "", nil)
	if a.status != 200 {
		t.Fatalf("GET /openapi.yaml = %d", a.status)
	}
	doc, err := openapi3.NewLoader().LoadFromData(a.body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func TestTheServedOpenAPIDocumentIsValid(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	doc := servedDoc(t, f)
	for _, p := range []string{"/v1/chargepoints", "/v1/chargepoints/{id}", "/v1/chargepoints/{id}/revoke", "/v1/tokens", "/v1/keys", "/v1/audit", "/v1/audit/verify", "/openapi.yaml", "/healthz"} {
		if doc.Paths.Find(p) == nil {
			t.Errorf("the document lacks %s", p)
		}
	}
}

// Every answer of a real session matches the document: status, headers,
// body schema. What the document says is what the server does.
func TestTheAPIAnswersAsItsDocumentSays(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	doc := servedDoc(t, f)
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(method, path, token, body string) []byte {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, f.base+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		vreq, _ := http.NewRequest(method, "http://registry"+path, strings.NewReader(body))
		vreq.Header = req.Header.Clone()
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Fatalf("%s %s is not in the document: %v", method, path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(got)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		})
		if err != nil {
			t.Errorf("%s %s answered %d %s, not as documented: %v", method, path, resp.StatusCode, got, err)
		}
		return got
	}
	reg := `{"id":"CP-001","location":"Alicante","price_eur_kwh":0.3}`
	created := check("POST", "/v1/chargepoints", adminToken, reg)
	cred := between(string(created), `"credential":"`, `"`)
	check("POST", "/v1/chargepoints", adminToken, reg)
	check("POST", "/v1/chargepoints", adminToken, `{"id":"CP-002","location":"B","price_eur_kwh":0.25}`)
	check("POST", "/v1/chargepoints", adminToken, `{"id":`)
	check("GET", "/v1/chargepoints?page_size=1", adminToken, "")
	check("GET", "/v1/chargepoints", "", "")
	check("GET", "/v1/chargepoints/CP-001", adminToken, "")
	check("GET", "/v1/chargepoints/CP-404", adminToken, "")
	check("POST", "/v1/tokens", "", `{"id":"CP-001","credential":"`+cred+`"}`)
	check("POST", "/v1/tokens", "", `{"id":"CP-001","credential":"cpc_wrong"}`)
	check("POST", "/v1/chargepoints/CP-001/revoke", adminToken, "")
	check("POST", "/v1/tokens", "", `{"id":"CP-001","credential":"`+cred+`"}`)
	check("DELETE", "/v1/chargepoints/CP-002", adminToken, "")
	check("GET", "/v1/keys", "", "")
	check("GET", "/v1/audit", adminToken, "")
	check("GET", "/v1/audit/verify", adminToken, "")
	check("GET", "/healthz", "", "")
	for i := 0; i < 5; i++ {
		check("POST", "/v1/tokens", "", `{"id":"CP-003","credential":"cpc_guess"}`)
	}
	check("POST", "/v1/tokens", "", `{"id":"CP-003","credential":"cpc_guess"}`) // 429
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

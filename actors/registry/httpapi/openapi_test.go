package httpapi

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/testutil/apidoc"
)

// servedDoc loads the OpenAPI document the registry serves and validates it.
func servedDoc(t *testing.T, f *apiFixture) *apidoc.Doc {
	t.Helper()
	a := f.call(t, "GET", "/openapi.yaml", "", nil)
	if a.status != 200 {
		t.Fatalf("GET /openapi.yaml = %d", a.status)
	}
	return apidoc.Load(t, a.body)
}

func TestTheServedOpenAPIDocumentIsValid(t *testing.T) {
	f := startAPI(t, registry.ThrottleOptions{})
	doc := servedDoc(t, f).T
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
		if err := doc.Check(method, path, req.Header, body, resp.StatusCode, resp.Header, got); err != nil {
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

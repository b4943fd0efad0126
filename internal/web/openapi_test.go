package web_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/evcharging/evsim/internal/audit"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/internal/testutil/apidoc"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
	"github.com/evcharging/evsim/messages"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The public API's document is held to the server both ways: every route
// the server serves is in the document, and every operation in the document
// answers as the document says. Neither can change without the other.

// apiDoc is the document the server serves, loaded and validated.
func apiDoc(t *testing.T, r *rig) *apidoc.Doc {
	t.Helper()
	code, h, body := r.do(t, http.MethodGet, "/api/openapi.yaml", "")
	if code != http.StatusOK || h.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /api/openapi.yaml: %d %q", code, h.Get("Content-Type"))
	}
	return apidoc.Load(t, body)
}

// docRig is a server on the fake Central with an operator token and an
// audit log, so that every operation can answer its success.
func docRig(t *testing.T) *rig {
	t.Helper()
	log, err := audit.Open(filepath.Join(t.TempDir(), "audit.log"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	slot := &web.AuditSlot{}
	slot.Set(log)
	st, err := store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	end := time.Now()
	if _, err := st.SaveTicket(context.Background(), &messages.Ticket{TicketId: "T-1", SessionId: "S-1", RequestId: "R-1",
		DriverId: "alice", CpId: "CP-001", Kwh: 3.67, Eur: 1.1, PriceEurPerKwh: 0.3,
		StartedAt: timestamppb.New(end.Add(-10 * time.Second)), EndedAt: timestamppb.New(end)}); err != nil {
		t.Fatal(err)
	}
	drivers := &web.DriverSlot{}
	drivers.Set(webtest.NewDesk())
	return newRig(t, 3, func(o *web.Options) { o.Audit, o.Tickets, o.Drivers = slot, st, drivers })
}

// pagePatterns are the routes that serve the pages and their files, not the API.
var pagePatterns = []string{"GET /{$}", "GET /assets/", "GET /favicon.ico", "GET /driver"}

func TestServedRoutesAndTheOpenAPIDocumentAgree(t *testing.T) {
	r := docRig(t)
	doc := apiDoc(t, r).T
	patterns := r.srv.RoutePatterns()
	if len(patterns) < 10 {
		t.Fatalf("only %d routes recorded: %v", len(patterns), patterns)
	}
	for _, p := range patterns {
		method, path, hasMethod := strings.Cut(p, " ")
		if !hasMethod {
			method, path = "", p
		}
		if slices.Contains(pagePatterns, p) || path == "/api/" {
			continue // the pages, and the catch-all 404 of unknown API paths
		}
		if !documented(doc, method, path) {
			t.Errorf("the server serves %q, which the OpenAPI document does not describe", p)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served(patterns, method, path) {
				t.Errorf("the OpenAPI document describes %s %s, which the server does not serve", method, path)
			}
		}
	}
}

// The operator's charge point actions share one route, /api/chargepoints/{id}/{action};
// the handler names the actions it knows when it meets another, and each must
// be documented as a path of its own.
func TestEveryChargePointActionIsDocumented(t *testing.T) {
	r := docRig(t)
	doc := apiDoc(t, r).T
	code, _, body := r.do(t, http.MethodPost, "/api/chargepoints/CP-001/no-such-action", "Bearer "+testToken)
	_, list, ok := strings.Cut(string(body), "(want ")
	list, _, _ = strings.Cut(list, ")")
	if code != http.StatusNotFound || !ok {
		t.Fatalf("an unknown action: %d %s, want 404 naming the actions", code, body)
	}
	actions := strings.FieldsFunc(strings.ReplaceAll(list, " or ", ","), func(r rune) bool { return r == ',' || r == ' ' })
	if len(actions) < 4 {
		t.Fatalf("the actions named: %q", list)
	}
	for _, a := range actions {
		if item := doc.Paths.Find("/api/chargepoints/{id}/" + a); item == nil || item.Post == nil {
			t.Errorf("the action %q is served but POST /api/chargepoints/{id}/%s is not documented", a, a)
		}
	}
}

// The documented states are the panel's, and a bad ?state= names them all.
func TestEveryStateIsDocumented(t *testing.T) {
	r := docRig(t)
	doc := apiDoc(t, r).T
	var documented []string
	for _, v := range doc.Components.Schemas["State"].Value.Enum {
		documented = append(documented, v.(string))
	}
	want := append(web.StateNames(), "UNKNOWN")
	slices.Sort(documented)
	slices.Sort(want)
	if !slices.Equal(documented, want) {
		t.Errorf("the document's states %v, the server's %v", documented, want)
	}
	code, _, body := r.do(t, http.MethodGet, "/api/chargepoints?state=NOPE", "")
	for _, name := range web.StateNames() {
		if code != http.StatusBadRequest || !strings.Contains(string(body), name) {
			t.Errorf("?state=NOPE answered %d %s, which does not name %s", code, body, name)
		}
	}
}

// served reports whether a pattern with method serves the documented path.
func served(patterns []string, method, docPath string) bool {
	for _, p := range patterns {
		m, path, ok := strings.Cut(p, " ")
		if !ok || (m != method && !(m == http.MethodGet && method == http.MethodHead)) {
			continue
		}
		if segmentsMatch(strings.Split(docPath, "/"), strings.Split(strings.TrimSuffix(path, "{$}"), "/")) {
			return true
		}
	}
	return false
}

// documented reports whether the document has an operation for method
// ("" = any) on a path that the served path matches segment by segment; a
// {wildcard} segment on either side matches any segment.
func documented(doc *openapi3.T, method, path string) bool {
	served := strings.Split(strings.TrimSuffix(path, "{$}"), "/")
	for docPath, item := range doc.Paths.Map() {
		if segmentsMatch(strings.Split(docPath, "/"), served) && (method == "" || item.GetOperation(method) != nil) {
			return true
		}
	}
	return false
}

// segmentsMatch compares two paths segment by segment; a {wildcard} on
// either side matches any segment.
func segmentsMatch(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !isWildcard(a[i]) && !isWildcard(b[i]) {
			return false
		}
	}
	return true
}

func isWildcard(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

func TestEveryDocumentedOperationAnswersAsDocumented(t *testing.T) {
	r := docRig(t)
	doc := apiDoc(t, r)
	auth := "Bearer " + testToken
	checked := map[string]bool{}
	check := func(method, path, authHeader string, body ...string) int {
		t.Helper()
		code := validateAnswer(t, r, doc, method, path, authHeader, strings.Join(body, ""))
		route, _ := doc.Route(method, path)
		checked[method+" "+route] = true
		return code
	}

	// Every documented operation, with the operator token and its path
	// parameters filled from their examples.
	for path, item := range doc.T.Paths.Map() {
		for method := range item.Operations() {
			if strings.HasSuffix(path, "/stream") {
				continue // endless; below
			}
			check(method, fillPath(path, item.Parameters), auth, bodies[method+" "+path])
		}
	}
	// The documented failures a client meets.
	check(http.MethodGet, "/api/chargepoints?state=FAULT,STOPPED", "")
	check(http.MethodGet, "/api/chargepoints?state=BROKEN", "")
	check(http.MethodGet, "/api/chargepoints/CP-404", "")
	check(http.MethodGet, "/api/events?limit=0", "")
	check(http.MethodGet, "/api/events?since=2&limit=5", "")
	check(http.MethodPost, "/api/chargepoints/CP-001/stop", "")
	check(http.MethodPost, "/api/chargepoints/CP-001/stop", "Bearer wrong")
	check(http.MethodPost, "/api/chargepoints/CP-404/stop", auth)
	check(http.MethodGet, "/api/audit?tail=2", auth)
	check(http.MethodGet, "/api/audit?tail=0", auth)
	check(http.MethodGet, "/api/series?after=1", "")
	check(http.MethodGet, "/api/series?after=x", "")
	check(http.MethodPost, "/api/drivers/alice/requests", "", `{"cp_id":"CP-002"}`)
	check(http.MethodPost, "/api/drivers/alice/requests", "Bearer wrong", `{"cp_id":"CP-002"}`)
	check(http.MethodPost, "/api/drivers/alice/requests", auth, `{"cp":"CP-002"}`)
	check(http.MethodPost, "/api/drivers/bad%20id/requests", auth, `{"cp_id":"CP-002"}`)
	check(http.MethodGet, "/api/drivers/alice/tickets?limit=0", auth)
	check(http.MethodGet, "/api/drivers/alice/tickets", "")

	// The live streams: status and content type, then hang up.
	for _, path := range []string{"/api/stream", "/api/drivers/{id}/stream"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.http.URL+strings.ReplaceAll(path, "{id}", "alice"), nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cancel()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		checked["GET "+path] = true
	}

	for path, item := range doc.T.Paths.Map() {
		for method := range item.Operations() {
			if !checked[method+" "+path] {
				t.Errorf("%s %s is documented but was not called", method, path)
			}
		}
	}
}

// bodies are the request bodies of the documented operations that take one.
var bodies = map[string]string{"POST /api/drivers/{id}/requests": `{"cp_id":"CP-001"}`}

// validateAnswer sends the request and checks the answer against the
// document: the status must be one it lists, the body must match its
// schema. It returns the status.
func validateAnswer(t *testing.T, r *rig, doc *apidoc.Doc, method, path, authHeader, body string) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.http.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authHeader != "" {
		req.Header.Set("Authorization", authHeader)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(got), "no such endpoint") {
		t.Errorf("%s %s reached no handler: %s", method, path, got)
	}
	if err := doc.Check(method, path, req.Header, body, resp.StatusCode, resp.Header, got); err != nil {
		t.Errorf("%s %s answered %d %.300s, not as documented: %v", method, path, resp.StatusCode, got, err)
	}
	return resp.StatusCode
}

// fillPath puts each path parameter's example into the path.
func fillPath(path string, params openapi3.Parameters) string {
	for _, p := range params {
		if p.Value == nil || p.Value.In != "path" {
			continue
		}
		ex, _ := p.Value.Example.(string)
		path = strings.ReplaceAll(path, "{"+p.Value.Name+"}", ex)
	}
	return path
}

// Package apidoc holds an HTTP API to its OpenAPI document in tests: the
// document must be valid, and each real answer must be one it describes
// (a listed status, a body of the listed schema). The Registry's API and
// Central's public API both use it.
package apidoc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Doc is a loaded, valid OpenAPI document and its router.
type Doc struct {
	T      *openapi3.T
	router routers.Router
}

// Load parses the document and fails the test unless it is valid OpenAPI.
// Its servers are dropped, so that requests to any host match.
func Load(t testing.TB, data []byte) *Doc {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the OpenAPI document: %v", err)
	}
	return &Doc{T: doc, router: router}
}

// Route is the documented path (e.g. /v1/chargepoints/{id}) that serves
// method on path, or an error when none does.
func (d *Doc) Route(method, path string) (string, error) {
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		return "", err
	}
	route, _, err := d.router.FindRoute(req)
	if err != nil {
		return "", err
	}
	return route.Path, nil
}

// Check says whether an answer to method path (a path with its query, as
// sent) is one the document describes: the operation exists, the status is
// listed, and the headers and body match it. header holds the request's
// headers (for content negotiation); body is the request's body.
func (d *Doc) Check(method, path string, header http.Header, body string, status int, respHeader http.Header, respBody []byte) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://api"+path, rd)
	if err != nil {
		return err
	}
	req.Header = header.Clone()
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%s %s is not in the document: %w", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: respHeader, Body: io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	})
}

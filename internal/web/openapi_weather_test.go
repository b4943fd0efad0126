package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/evcharging/evsim/internal/web"
)

// The weather endpoints answer as openapi.yaml says: the document
// is valid and every answer (200, 400, 404, 503-free here) matches its schema.
func TestWeatherAnswersAsTheOpenAPIDocumentSays(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	withWeather := newRig(t, 0, func(o *web.Options) { o.Panel = newWeatherPanel(3) })
	without := newRig(t, 2, nil)
	for _, c := range []struct {
		r    *rig
		path string
		want int
	}{
		{withWeather, "/api/weather", 200},
		{withWeather, "/api/weather?history=0", 200},
		{withWeather, "/api/weather/Alicante?history=360", 200},
		{withWeather, "/api/weather/Valencia", 200},
		{withWeather, "/api/weather/Oslo", 404},
		{withWeather, "/api/weather?history=-1", 400},
		{without, "/api/weather", 404},
	} {
		code, h, body := c.r.do(t, http.MethodGet, c.path, "")
		if code != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, code, c.want)
		}
		vreq, _ := http.NewRequest(http.MethodGet, "http://central"+c.path, nil)
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Fatalf("GET %s is not in the document: %v", c.path, err)
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route},
			Status:                 code, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		})
		if err != nil {
			t.Errorf("GET %s answered %d %s, not as documented: %v", c.path, code, body, err)
		}
	}
}

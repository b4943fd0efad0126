package web

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the public API's description, served at GET /api/openapi.yaml.
// The tests hold it to the server: every route served is in it, and every
// operation in it answers as it says.
//
//go:embed openapi.yaml
var OpenAPI []byte

// docRoutes serves the document.
func (s *Server) docRoutes(mux *routeMux) {
	mux.HandleFunc("GET /api/openapi.yaml", serveOpenAPI)
	mux.Handle("/api/openapi.yaml", methodNotAllowed("GET, HEAD"))
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
}

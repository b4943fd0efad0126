package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/audit"
)

// Options configure a Server.
type Options struct {
	// Addr is HOST:PORT to listen on (port 0: any free port; see Addr()).
	Addr string
	// Registry answers the calls. Required.
	Registry *registry.Registry
	// Audit is read by GET /v1/audit. Required.
	Audit *audit.Log
	// Certificate is the TLS pair. Required: the API is HTTPS only.
	Certificate tls.Certificate
	// Logger for one line per failure of the server itself.
	Logger *logrus.Entry
}

// Server is the Registry's HTTPS API.
type Server struct {
	opts Options
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// New builds the server; Start listens.
func New(o Options) (*Server, error) {
	if o.Registry == nil || o.Audit == nil {
		return nil, errors.New("registry api: Registry and Audit are required")
	}
	if len(o.Certificate.Certificate) == 0 {
		return nil, errors.New("registry api: a TLS certificate is required")
	}
	if o.Logger == nil {
		o.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	s := &Server{opts: o, done: make(chan error, 1)}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{o.Certificate}},
		// Handshake failures (a scanner, a plain HTTP client) are the
		// client's problem: DEBUG, not the operator's log.
		ErrorLog: log.New(o.Logger.WriterLevel(logrus.DebugLevel), "", 0),
	}
	return s, nil
}

// Handler is the API's routes (without TLS), for tests and embedding.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chargepoints", s.admin(s.register))
	mux.HandleFunc("GET /v1/chargepoints", s.admin(s.list))
	mux.HandleFunc("GET /v1/chargepoints/{id}", s.admin(s.get))
	mux.HandleFunc("DELETE /v1/chargepoints/{id}", s.admin(s.deregister))
	mux.HandleFunc("POST /v1/chargepoints/{id}/revoke", s.admin(s.revoke))
	mux.HandleFunc("POST /v1/tokens", s.token)
	mux.HandleFunc("GET /v1/keys", s.keys)
	mux.HandleFunc("GET /v1/audit", s.admin(s.auditList))
	mux.HandleFunc("GET /v1/audit/verify", s.admin(s.auditVerify))
	mux.HandleFunc("GET /openapi.yaml", serveOpenAPI)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return withRequestID(mux)
}

// withRequestID gives every request an id, echoed in the answer.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestID(r)
		r.Header.Set("X-Request-Id", id)
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// admin lets a call through with the admin token only.
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.opts.Registry.CheckAdmin(caller(r, "admin"), bearer(r)); err != nil {
			if errors.Is(err, registry.ErrBadCredential) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="registry"`)
				writeError(w, r, http.StatusUnauthorized, "the admin token is missing or wrong")
				return
			}
			writeRegistryError(w, r, err)
			return
		}
		h(w, r)
	}
}

// Start listens on Addr and serves HTTPS in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("registry api: listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	go func() {
		err := s.srv.ServeTLS(ln, "", "")
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}

// Addr is where the server listens, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.opts.Addr
	}
	return s.ln.Addr().String()
}

// Done answers when the server stops (nil after Shutdown).
func (s *Server) Done() <-chan error { return s.done }

// Shutdown stops accepting and waits for calls in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

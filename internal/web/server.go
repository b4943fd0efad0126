package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
)

//go:embed assets
var assetsFS embed.FS

// Server is the web panel, the JSON API, the health endpoints and /metrics
// of one process. Build it with New, then Start it, or mount Handler in a
// server of your own.
type Server struct {
	opts    Options
	log     *logrus.Entry
	metrics *metrics
	handler http.Handler
	// tokenSum is the SHA-256 of the operator token; nil when read-only.
	tokenSum []byte
	// wrongTokens counts refusals since the last WARN line, logged at
	// wrongLogged (Unix ns).
	wrongTokens, wrongLogged atomic.Int64
	started                  time.Time

	// closing is closed by Shutdown so that live streams end and the HTTP
	// server can drain.
	closing   chan struct{}
	closeOnce sync.Once

	// hub feeds the live streams; its goroutine starts with the first one.
	hub     *hub
	hubOnce sync.Once
	// patterns are the routes served, for the API document's test.
	patterns []string
	// series samples the run's counters for the panel's plots.
	series *series
	// streams counts the open live streams, for Options.MaxStreamClients.
	streams atomic.Int64

	mu     sync.Mutex // guards srv, ln and errLog between Start and Shutdown
	srv    *http.Server
	ln     net.Listener
	errLog io.Closer // the pipe behind srv.ErrorLog
}

// New checks opts, fills in the defaults and builds the server. It does not
// listen yet.
func New(opts Options) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.setDefaults()
	s := &Server{
		opts:    opts,
		metrics: newMetrics(opts.Run, opts.Bridge, opts.Panel, opts.RequestTimeout),
		log:     logging.Component(opts.Logger, "Web"),
		started: time.Now(),
		closing: make(chan struct{}),
	}
	if opts.OperatorToken != "" {
		sum := sha256.Sum256([]byte(opts.OperatorToken))
		s.tokenSum = sum[:]
	}
	s.hub = newHub(s)
	s.handler = s.routes()
	return s, nil
}

// Registry is the Prometheus registry behind /metrics (the server's own),
// for a process that wants to add collectors of its own.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// Handler serves every endpoint; Start serves it on Options.Addr.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := newRouteMux()
	static, err := fs.Sub(assetsFS, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := validPaths(http.FileServerFS(static))
	mux.Handle("GET /{$}", files)
	mux.Handle("GET /assets/", http.StripPrefix("/assets", files))
	mux.Handle("GET /favicon.ico", http.RedirectHandler("/assets/favicon.svg", http.StatusMovedPermanently))

	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())

	mux.HandleFunc("GET /api/chargepoints", s.listChargePoints)
	mux.HandleFunc("GET /api/chargepoints/{id}", s.getChargePoint)
	mux.HandleFunc("GET /api/events", s.listEvents)
	mux.HandleFunc("GET /api/network", s.network)
	mux.HandleFunc("GET /api/cluster", s.cluster)
	mux.Handle("/api/cluster", methodNotAllowed("GET, HEAD"))
	mux.HandleFunc("GET /api/stream", s.stream)

	mux.Handle("POST /api/auth/check", s.operator(http.HandlerFunc(s.authCheck)))
	mux.Handle("GET /api/audit", s.operator(http.HandlerFunc(s.listAudit)))
	mux.Handle("POST /api/chargepoints/{id}/{action}", s.operator(http.HandlerFunc(s.chargePointAction)))
	mux.Handle("POST /api/stop-all", s.operator(s.allAction("stop-all")))
	mux.Handle("POST /api/resume-all", s.operator(s.allAction("resume-all")))

	// The same paths with another method: 405 and the methods they take.
	for _, p := range []string{"/api/auth/check", "/api/chargepoints/{id}/{action}", "/api/stop-all", "/api/resume-all"} {
		mux.Handle(p, methodNotAllowed("POST"))
	}
	for _, p := range []string{"/api/chargepoints", "/api/chargepoints/{id}", "/api/events", "/api/network", "/api/stream", "/api/audit"} {
		mux.Handle(p, methodNotAllowed("GET, HEAD"))
	}
	s.docRoutes(mux)
	s.driverRoutes(mux)
	s.plotRoutes(mux)
	s.weatherRoutes(mux)
	s.networkRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.patterns = mux.patterns
	return securityHeaders(mux)
}

// methodNotAllowed answers 405 with the Allow header.
func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+" (allowed: "+allow+")")
	})
}

// validPaths answers 404 for a path that cannot name a file (not UTF-8, for
// one), which the file server would answer with 500.
func validPaths(files http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// securityHeaders forbids inline scripts and styles, framing and sniffing:
// even a bug that put data into markup could not run it.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// Start listens on Options.Addr and serves in the background. It returns
// once the port is open (or could not be opened).
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("web: listening on %s: %w", s.opts.Addr, err)
	}
	errLog := s.log.WriterLevel(logrus.DebugLevel)
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Live streams extend their own write deadline before each write.
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
		// net/http's own complaints (bad clients, TLS probes) are DEBUG.
		ErrorLog: log.New(errLog, "", 0),
	}
	s.mu.Lock()
	s.srv, s.ln, s.errLog = srv, ln, errLog
	s.mu.Unlock()
	s.log.WithField("addr", ln.Addr().String()).Infof("Web panel listening on http://%s", ln.Addr())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("The web panel stopped serving")
		}
	}()
	return nil
}

// Addr is the address Start listens on ("" before Start), with the real
// port when Options.Addr asked for port 0.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown ends the live streams, stops accepting connections and waits for
// the requests in flight until ctx ends. Safe to call without Start and more
// than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.mu.Lock()
	srv, errLog := s.srv, s.errLog
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("web: shutting down: %w", err)
	}
	_ = errLog.Close()
	s.log.Debug("Web panel stopped")
	return nil
}

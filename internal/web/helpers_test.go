package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

const testToken = "s3cret-operator-token"

// rig is a web server on a fake Central.
type rig struct {
	srv    *web.Server
	panel  *webtest.Panel
	bridge *web.BridgeStatus
	run    *stats.Run
	http   *httptest.Server
}

// newRig serves a web server with n charge points; edit tweaks the options.
func newRig(t *testing.T, n int, edit func(*web.Options)) *rig {
	t.Helper()
	r := &rig{panel: webtest.NewPanel(n), bridge: &web.BridgeStatus{}, run: stats.New()}
	r.bridge.Set(bridge.StateReady, "")
	opts := web.Options{
		Panel: r.panel, Bridge: r.bridge, Run: r.run, OperatorToken: testToken,
		FlushInterval: 20 * time.Millisecond, PingInterval: 200 * time.Millisecond,
	}
	if edit != nil {
		edit(&opts)
	}
	srv, err := web.New(opts)
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	r.srv = srv
	r.http = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		r.http.Close()
	})
	return r
}

// do sends a request with an optional Authorization header and returns the
// status and body.
func (r *rig) do(t *testing.T, method, path, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := r.http.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// getJSON GETs path, expects want and decodes the body into v.
func (r *rig) getJSON(t *testing.T, path string, want int, v any) {
	t.Helper()
	code, h, body := r.do(t, http.MethodGet, path, "")
	if code != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", path, code, want, body)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: Content-Type %q, want JSON", path, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

func (r *rig) chargePoint(t *testing.T, id string) web.ChargePoint {
	t.Helper()
	var cp web.ChargePoint
	r.getJSON(t, "/api/chargepoints/"+id, http.StatusOK, &cp)
	return cp
}

// sseMessage is one server-sent event.
type sseMessage struct {
	Event string
	Data  string
}

// sseStream reads a live stream in the background.
type sseStream struct {
	msgs chan sseMessage
	done chan struct{} // closed when the server ends the stream
	stop context.CancelFunc
}

func openStream(t *testing.T, url string) *sseStream {
	t.Helper()
	return openStreamAt(t, url+"/api/stream")
}

// openStreamAt reads the server-sent events stream at url in the background.
func openStreamAt(t *testing.T, url string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("opening the stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("stream: status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{msgs: make(chan sseMessage, 1024), done: make(chan struct{}), stop: cancel}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var m sseMessage
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if m.Event != "" {
					s.msgs <- m
				}
				m = sseMessage{}
			case strings.HasPrefix(line, "event: "):
				m.Event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.Data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(cancel)
	return s
}

// next waits for the next message named event (skipping others).
func (s *sseStream) next(t *testing.T, event string, v any) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m := <-s.msgs:
			if m.Event != event {
				continue
			}
			if err := json.Unmarshal([]byte(m.Data), v); err != nil {
				t.Fatalf("%s message: %v in %s", event, err, m.Data)
			}
			return
		case <-s.done:
			t.Fatalf("the stream ended while waiting for a %q message", event)
		case <-deadline:
			t.Fatalf("no %q message within 5 s", event)
		}
	}
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/web"
)

// TestStreamRefusesClientsBeyondTheLimit: with MaxStreamClients open, one
// more stream is answered 503 with Retry-After; once one closes, a new one
// gets in.
func TestStreamRefusesClientsBeyondTheLimit(t *testing.T) {
	r := newRig(t, 2, func(o *web.Options) { o.MaxStreamClients = 3 })
	var open []*sseStream
	for range 3 {
		s := openStream(t, r.http.URL)
		var snap web.StreamSnapshot
		s.next(t, "snapshot", &snap)
		open = append(open, s)
	}
	code, h, body := r.do(t, http.MethodGet, "/api/stream", "")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" || !strings.Contains(string(body), "too many live streams") {
		t.Fatalf("the 4th stream: status %d, Retry-After %q, body %s; want 503 with Retry-After", code, h.Get("Retry-After"), body)
	}
	if r.panel.Watchers() != 1 {
		t.Errorf("%d watches on Central for 3 streams; want the streams to share one", r.panel.Watchers())
	}

	open[0].stop()
	eventually(t, "a free place after one stream closed", func() bool {
		req, _ := http.NewRequest(http.MethodGet, r.http.URL+"/api/stream", nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestStreamDropsAClientThatFallsBehind: a client that stops reading is
// dropped once its queue is full, never buffered without end; the server
// goes on serving.
func TestStreamDropsAClientThatFallsBehind(t *testing.T) {
	// 2,000 charge points make each snapshot most of a megabyte: a dozen of
	// them fill the sockets' buffers, then the queue of 4.
	r := newRig(t, 2000, func(o *web.Options) {
		o.StreamQueue = 4
		o.ResyncInterval = 100 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.http.URL+"/api/stream", nil)
	slow, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Body.Close()
	// The slow client reads nothing of the body for now.

	deadline := time.Now().Add(30 * time.Second)
	for scrape(t, r)["evsim_web_streams_dropped_total"] == "0" {
		if time.Now().After(deadline) {
			t.Fatal("a client that reads nothing was never dropped")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The dropped stream ends: what was written and queued, then the end.
	if _, err := io.Copy(io.Discard, slow.Body); err != nil {
		t.Errorf("the dropped stream did not end: %v", err)
	}
	var snap web.StreamSnapshot
	openStream(t, r.http.URL).next(t, "snapshot", &snap) // the server goes on serving
	if len(snap.ChargePoints) != 2000 {
		t.Errorf("snapshot has %d charge points", len(snap.ChargePoints))
	}
}

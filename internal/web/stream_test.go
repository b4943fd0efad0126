package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/web"
	"github.com/evcharging/evsim/internal/web/webtest"
)

func TestStreamStartsWithASnapshotThenSendsChanges(t *testing.T) {
	r := newRig(t, 5, nil)
	r.panel.AddEvent("registered", "CP-001", "", "Registered new CP: CP-001")
	s := openStream(t, r.http.URL)

	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	if len(snap.ChargePoints) != 5 || snap.ChargePoints[0].ID != "CP-001" || snap.Totals.ChargePoints != 5 ||
		!snap.OperatorEnabled || !snap.Bridge.Ready || len(snap.Events) != 1 || snap.LastEvent != 1 {
		t.Fatalf("snapshot = %+v", snap)
	}

	if _, err := r.panel.Stop(context.Background(), "CP-003"); err != nil {
		t.Fatal(err)
	}
	var up web.StreamUpdate
	s.next(t, "update", &up)
	if len(up.ChargePoints) != 1 || up.ChargePoints[0].ID != "CP-003" || up.ChargePoints[0].State != "STOPPED" ||
		up.ChargePoints[0].Colour != "orange" {
		t.Errorf("update = %+v", up)
	}
	if len(up.Events) != 1 || up.Events[0].Kind != "stopped" || up.Events[0].Seq != 2 {
		t.Errorf("update events = %+v", up.Events)
	}

	// A supply with telemetry: many readings between two flushes arrive as
	// one update holding the latest figures.
	r.panel.StartSupply("CP-001", "alice")
	for range 20 {
		r.panel.Telemetry("CP-001", 22, time.Minute)
	}
	eventually(t, "an update with 20 minutes of supply at CP-001", func() bool {
		s.next(t, "update", &up)
		for _, cp := range up.ChargePoints {
			if cp.ID == "CP-001" && cp.Session != nil && cp.Session.KWh > 7.3 {
				return cp.State == "SUPPLYING" && cp.Session.DriverID == "alice"
			}
		}
		return false
	})

	// The ticket brings fresh totals.
	r.panel.EndSupply("CP-001")
	var totals web.Totals
	s.next(t, "totals", &totals)
	if totals.Tickets != 1 || totals.KWh < 7.3 || totals.ActiveSupplies != 0 {
		t.Errorf("totals after the ticket = %+v", totals)
	}

	var ping map[string]time.Time
	s.next(t, "ping", &ping)
	if ping["at"].IsZero() {
		t.Errorf("ping = %v", ping)
	}
}

// TestStreamEndsWithTheWatchAndTheNextOneResyncs: when Central's watch ends
// the stream ends too (EventSource then reconnects by itself), and the next
// connection starts with a fresh snapshot.
func TestStreamEndsWithTheWatchAndTheNextOneResyncs(t *testing.T) {
	r := newRig(t, 3, nil)
	r.panel.Stop(context.Background(), "CP-002")
	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)

	r.panel.EndWatches()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open after Central's watch ended")
	}

	r.panel.Resume(context.Background(), "CP-002")
	s2 := openStream(t, r.http.URL)
	s2.next(t, "snapshot", &snap)
	if snap.ChargePoints[1].State != "ACTIVATED" {
		t.Errorf("after reconnecting CP-002 is %s", snap.ChargePoints[1].State)
	}
}

// TestStreamResyncsWhenCentralRestartsUnderTheWatch: Central restarts, the
// watch goes on without a word of it, event numbers start again: the stream
// notices, sends a new snapshot with Central's rebuilt view, then the new
// events.
func TestStreamResyncsWhenCentralRestartsUnderTheWatch(t *testing.T) {
	r := newRig(t, 3, func(o *web.Options) { o.RestartCheckInterval = 50 * time.Millisecond })
	for range 5 {
		r.panel.AddEvent("denied", "CP-001", "bob", "denied")
	}
	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	if snap.LastEvent != 5 {
		t.Fatalf("last_event = %d", snap.LastEvent)
	}

	r.panel.Restart()
	s.next(t, "snapshot", &snap)
	if snap.LastEvent != 1 || len(snap.Events) != 1 || snap.Events[0].Kind != "restart" {
		t.Errorf("snapshot after the restart: last_event %d, events %+v", snap.LastEvent, snap.Events)
	}
	for _, cp := range snap.ChargePoints {
		if cp.State != "DISCONNECTED" {
			t.Errorf("after the restart %s is %s, want DISCONNECTED", cp.ID, cp.State)
		}
	}
	r.panel.Connect("CP-001", true)
	var up web.StreamUpdate
	s.next(t, "update", &up)
	if len(up.ChargePoints) != 1 || up.ChargePoints[0].State != "ACTIVATED" || len(up.Events) != 1 || up.Events[0].Seq != 2 {
		t.Errorf("update after the restart = %+v", up)
	}
}

func TestStreamResyncsPeriodically(t *testing.T) {
	r := newRig(t, 2, func(o *web.Options) { o.ResyncInterval = 50 * time.Millisecond })
	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	s.next(t, "snapshot", &snap)
	if len(snap.ChargePoints) != 2 {
		t.Errorf("periodic snapshot = %+v", snap)
	}
}

// TestStreamWhileCentralIsDown: the stream answers 200 with one
// "unavailable" message and ends, so EventSource retries by itself (after an
// HTTP error it would give up).
func TestStreamWhileCentralIsDown(t *testing.T) {
	r := newRig(t, 2, nil)
	r.panel.SetFailing(webtest.ErrUnreachable)
	s := openStream(t, r.http.URL)
	var e map[string]string
	s.next(t, "unavailable", &e)
	if e["error"] == "" {
		t.Error("unavailable carries no error")
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open while Central is down")
	}
	r.panel.SetFailing(nil)
	var snap web.StreamSnapshot
	openStream(t, r.http.URL).next(t, "snapshot", &snap)
}

func TestStreamClientLeavingEndsTheWatch(t *testing.T) {
	r := newRig(t, 2, nil)
	for i := range 3 {
		s := openStream(t, r.http.URL)
		var snap web.StreamSnapshot
		s.next(t, "snapshot", &snap)
		if got := r.panel.Watchers(); got != 1 {
			t.Fatalf("round %d: %d watchers, want 1", i, got)
		}
		s.stop()
		eventually(t, fmt.Sprintf("round %d: the watch to end", i), func() bool { return r.panel.Watchers() == 0 })
	}
}

// TestStreamDoesNotResyncWhenTheHistoryRotates: Central's bounded history
// drops its oldest events as new ones come; that is not a restart.
func TestStreamDoesNotResyncWhenTheHistoryRotates(t *testing.T) {
	r := newRig(t, 2, func(o *web.Options) { o.RestartCheckInterval = 20 * time.Millisecond })
	r.panel.AddEvent("registered", "CP-001", "", "first")
	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	for i := range 1500 { // the fake keeps 1,000
		r.panel.AddEvent("denied", "CP-002", "bob", fmt.Sprint("denied ", i))
	}
	window := time.After(500 * time.Millisecond) // 25 restart checks
	updates := 0
	for {
		select {
		case m := <-s.msgs:
			if m.Event == "snapshot" {
				t.Fatal("a rotating history was taken for a restart")
			}
			if m.Event == "update" {
				updates++
			}
		case <-window:
			if updates == 0 {
				t.Error("no update in the window")
			}
			return
		}
	}
}

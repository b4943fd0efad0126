package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/evcharging/evsim/internal/web"
)

// TestTotalsSeparateThisRunFromEarlierRuns: Central's totals count every
// ticket in its database, earlier runs included; the API and the stream
// carry this run's apart, and the page labels which is which.
func TestTotalsSeparateThisRunFromEarlierRuns(t *testing.T) {
	r := newRig(t, 2, nil)
	r.panel.StartSupply("CP-001", "alice") // an earlier run's ticket: Central's only
	r.panel.EndSupply("CP-001")

	var n web.Network
	r.getJSON(t, "/api/network", http.StatusOK, &n)
	if n.Totals.Tickets != 1 || n.Totals.ThisRun.Tickets != 0 {
		t.Errorf("/api/network totals %+v; want 1 ticket in all, none this run", n.Totals)
	}

	r.run.Tickets.Add(2)
	r.run.AddEnergy(3.5, 1.05)
	s := openStream(t, r.http.URL)
	var snap web.StreamSnapshot
	s.next(t, "snapshot", &snap)
	if got := snap.Totals.ThisRun; got.Tickets != 2 || got.KWh != 3.5 || got.EUR != 1.05 || snap.Totals.Tickets != 1 {
		t.Errorf("snapshot totals %+v; want this run's 2 tickets, 3.5 kWh, 1.05 EUR apart from Central's 1", snap.Totals)
	}

	_, _, page := r.do(t, http.MethodGet, "/", "")
	_, _, script := r.do(t, http.MethodGet, "/assets/app.js", "")
	for _, want := range []string{"Energy delivered this run", "Revenue this run", "Tickets this run"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the page has no label %q", want)
		}
	}
	if !strings.Contains(string(script), "all runs in the database") {
		t.Error("the page does not say which figures include earlier runs")
	}
}

package driver_test

import (
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
)

// TestUnansweredRequestBlamesTheBrokerDuringAnOutage: a request that gets no
// answer while the bridge reports a broker outage says the broker is
// unreachable; without an outage it says Central is.
func TestUnansweredRequestBlamesTheBrokerDuringAnOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		outage bool
		want   string
	}{
		{"broker outage", true, "Cannot reach the Kafka broker (connection refused): no reply to my request for CP-001"},
		{"broker fine", false, "Cannot reach Central: no reply to my request for CP-001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, logger, logs := testkit.NewSystem(t)
			br := testkit.NewProbe(t, sys, nil)
			props, err := driver.Props(driver.Config{ID: "alice", Requests: []string{"CP-001"}, Bridge: br.PID,
				ReplyTimeout: 300 * time.Millisecond, StartDelay: 100 * time.Millisecond, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			d := sys.Root.Spawn(props)
			testkit.Eventually(t, 5*time.Second, func() bool {
				for _, m := range br.Got() {
					if _, ok := m.(*bridge.WatchState); ok {
						return true
					}
				}
				return false
			}, func() string { return "the driver did not watch the bridge's state" })
			sys.Root.Send(d, &bridge.StateChanged{State: bridge.StateReady, Detail: "127.0.0.1:9092"})
			if tc.outage {
				sys.Root.Send(d, &bridge.StateChanged{State: bridge.StateOutage, Detail: "connection refused"})
			}
			testkit.Eventually(t, 5*time.Second, func() bool { return len(logs.Lines("WARN", "Cannot reach")) == 1 },
				func() string { return "no WARN about the unanswered request" })
			if got := logs.Lines("WARN", tc.want); len(got) != 1 {
				t.Errorf("WARN %q; want one saying %q", logs.Lines("WARN", "Cannot reach"), tc.want)
			}
		})
	}
}

// TestOneRequestIsSaidInTheSingular: "1 request to make", never "1 requests".
func TestOneRequestIsSaidInTheSingular(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	props, err := driver.Props(driver.Config{ID: "alice", Requests: []string{"CP-001"}, Bridge: br.PID,
		ReplyTimeout: 100 * time.Millisecond, Pause: 10 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	testkit.Eventually(t, 5*time.Second, func() bool { return len(logs.Lines("INFO", "My one request is done")) == 1 },
		func() string { return "the driver never said its one request is done" })
	if len(logs.Lines("INFO", "1 request to make")) != 1 || len(logs.Lines("1 requests")) != 0 {
		t.Errorf("want \"1 request to make\" and no \"1 requests\":\n%s", logs.String())
	}
}

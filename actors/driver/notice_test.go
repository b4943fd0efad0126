package driver_test

import (
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// TestANoticeAboutTheWaitingRequestRestartsTheWaitForAnAnswer: while Central
// says it is working on the request (a held start: "CP-001 is out of reach;
// you get an answer when it starts or its order expires"), the driver does
// not give up after its reply timeout; once the notices stop, it does.
func TestANoticeAboutTheWaitingRequestRestartsTheWaitForAnAnswer(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	br := testkit.NewProbe(t, sys, nil)
	const replyTimeout = time.Second
	props, err := driver.Props(driver.Config{ID: "alice", Requests: []string{"CP-001"}, Bridge: br.PID,
		ReplyTimeout: replyTimeout, StartDelay: 10 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	d := sys.Root.Spawn(props)
	testkit.Eventually(t, 5*time.Second, func() bool {
		for _, m := range br.Got() {
			if p, ok := m.(*bridge.Publish); ok && p.Topic == bridge.TopicDriverRequests {
				return true
			}
		}
		return false
	}, func() string { return "the driver sent no request" })
	asked := time.Now()

	// Notices for 3 reply timeouts, each well inside the timeout.
	notice := &messages.DriverNotice{DriverId: "alice", CpId: "CP-001", Text: "CP-001 is out of reach; you get an answer when it starts or its order expires"}
	for time.Since(asked) < 3*replyTimeout {
		sys.Root.Send(d, bridge.NewDelivery(bridge.TopicDriverUpdates, "alice", 0, 0, notice, nil))
		time.Sleep(replyTimeout / 8) // pacing the notices, not synchronisation
	}
	if got := logs.Lines("Cannot reach"); len(got) != 0 {
		t.Fatalf("the driver gave up while Central kept saying it works on the request: %q", got)
	}
	testkit.Eventually(t, 10*time.Second, func() bool { return len(logs.Lines("WARN", "Cannot reach Central")) == 1 },
		func() string { return "once the notices stopped, the driver never gave up waiting:\n" + logs.String() })
}

package driver

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/messages"
)

// progressRun is one run of a driver over a shared progress store, with a
// probe standing in for the bridge.
type progressRun struct {
	t      *testing.T
	sys    *actor.ActorSystem
	bridge *testkit.Probe
	pid    *actor.PID
}

func startProgressRun(t *testing.T, sys *actor.ActorSystem, logger logrus.FieldLogger, progress Progress, pause time.Duration, reqs ...string) *progressRun {
	t.Helper()
	probe := testkit.NewProbe(t, sys, nil)
	props, err := Props(Config{ID: "alice", Requests: reqs, Pause: pause, Bridge: probe.PID, Progress: progress, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	return &progressRun{t: t, sys: sys, bridge: probe, pid: sys.Root.Spawn(props)}
}

// request waits for the n-th request (from 1) the driver published.
func (r *progressRun) request(n int) *messages.ChargeRequest {
	r.t.Helper()
	var got []any
	testkit.Eventually(r.t, 5*time.Second, func() bool {
		got = r.bridge.Published(bridge.TopicDriverRequests)
		return len(got) >= n
	}, func() string { return fmt.Sprintf("no request %d", n) })
	return got[n-1].(*messages.ChargeRequest)
}

// deny answers the n-th request with a denial, which ends it.
func (r *progressRun) deny(n int) {
	r.t.Helper()
	req := r.request(n)
	r.sys.Root.Send(r.pid, bridge.NewDelivery(bridge.TopicDriverUpdates, "alice", 0, int64(n), &messages.ChargeDenied{
		RequestId: req.GetRequestId(), DriverId: "alice", CpId: req.GetCpId(), Reason: messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT}, nil))
}

func (r *progressRun) stop() {
	r.t.Helper()
	if err := r.sys.Root.StopFuture(r.pid).Wait(); err != nil {
		r.t.Fatal(err)
	}
}

// A driver re-run with another requests file starts with its first request,
// not "All 2 requests done" from the old file's progress; re-run with the
// same file it resumes where it was, and says which it does in one line.
func TestProgressIsBoundToTheRequests(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	progress := &MemoryProgress{}
	waitLines := func(n int, parts ...string) {
		t.Helper()
		testkit.Eventually(t, 5*time.Second, func() bool { return len(logs.Lines(parts...)) == n },
			func() string { return fmt.Sprintf("want %d lines with %q", n, parts[len(parts)-1]) })
	}
	waitLine := func(parts ...string) { t.Helper(); waitLines(1, parts...) }

	first := startProgressRun(t, sys, logger, progress, time.Millisecond, "CP-001", "CP-002")
	waitLine("INFO", "2 requests to make")
	first.deny(1)
	first.deny(2)
	waitLine("All 2 requests done")
	first.stop()

	// A new file: afresh, from its first request.
	second := startProgressRun(t, sys, logger, progress, time.Hour, "CP-007", "CP-008")
	if cp := second.request(1).GetCpId(); cp != "CP-007" {
		t.Fatalf("the new file's first request went to %s, want CP-007", cp)
	}
	waitLine("INFO", "My requests changed since my progress was saved; starting afresh with the first of 2 requests")
	second.deny(1)
	testkit.Eventually(t, 5*time.Second, func() bool { p, _ := progress.Load(); return p.Next == 1 && p.RequestID == "" },
		func() string { return "the first request of the new file saved as done" })
	second.stop()

	// The same file again: it resumes at request 2.
	third := startProgressRun(t, sys, logger, progress, time.Hour, "CP-007", "CP-008")
	if cp := third.request(1).GetCpId(); cp != "CP-008" {
		t.Fatalf("resumed with a request for %s, want CP-008", cp)
	}
	waitLine("INFO", "Resuming at request 2 of 2")
	third.deny(1)
	waitLines(2, "All 2 requests done")
	third.stop()

	// Done with this file: it says so once and asks nothing.
	fourth := startProgressRun(t, sys, logger, progress, time.Millisecond, "CP-007", "CP-008")
	waitLine("INFO", "All 2 requests were done in an earlier run")
	fourth.stop()
	if n := len(fourth.bridge.Published(bridge.TopicDriverRequests)); n != 0 {
		t.Errorf("a driver done with its file sent %d requests", n)
	}
	if n := len(logs.Lines("All 2 requests done")); n != 2 {
		t.Errorf("want only the two runs that finished to say All 2 requests done, got %d lines", n)
	}
}

package monitor_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/stall"

	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/messages"
)

// interval is the health and liveness interval of these tests, which count
// lines: long enough (with the timeout as long, and a stall meter, as in the
// binaries) that a loaded test machine gives no false fault.
const interval = 50 * time.Millisecond

// meter is a stall meter for one test.
func meter(t *testing.T) *stall.Meter {
	m := stall.Start(0, 0)
	t.Cleanup(m.Stop)
	return m
}

// An engine that answers "waiting for Kafka" is not a fault: one INFO line,
// Central hears what it waits for, and the engine that becomes ready is one
// more INFO line (issue 17: five FAULT lines while engines only waited).
func TestAWaitingEngineIsNotAFault(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, func(m any) any {
		if hc, ok := m.(*messages.HealthCheck); ok {
			return chargepoint.WaitingAnswer(hc.GetCpId(), hc, chargepoint.WaitingForKafka)
		}
		return nil
	})
	central := testkit.NewProbe(t, sys, centralReply(true))
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "s", Engine: engine.PID, Central: central.PID,
		HealthInterval: interval, HealthTimeout: interval, Stall: meter(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	waitingLiveness := func(w string) int {
		return count(central.Got(), func(l *messages.Liveness) bool { return l.GetEngineWaiting() == w && l.GetEngineOk() })
	}
	testkit.Eventually(t, wait, func() bool { return waitingLiveness("waiting for Kafka") > 5 },
		func() string { return "Central never heard that the engine waits for Kafka" })
	engine.SetReply(answer(true))
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "CP-001 engine is ready")) == 1 },
		func() string { return "no line saying the engine is ready" })
	testkit.Eventually(t, wait, func() bool { return waitingLiveness("") > 0 },
		func() string { return "Central never heard that the engine is ready" })
	if got := logs.Lines("INFO", "CP-001 is not available yet: its engine is waiting for Kafka"); len(got) != 1 {
		t.Errorf("want one INFO line for the wait, got %q", got)
	}
	if got := append(logs.Lines("WARN"), logs.Lines("ERROR")...); len(got) != 0 || count[*messages.FaultReport](central.Got(), nil) != 0 {
		t.Errorf("a waiting engine was reported: %q", got)
	}
}

// centralWaitingForKafka answers as a Central that is up but not ready.
func centralWaitingForKafka(m any) any {
	switch x := m.(type) {
	case *messages.RegisterChargePoint:
		return &messages.RegistrationResult{CpId: x.GetCpId(), Waiting: true, Reason: "Central is waiting for Kafka"}
	case *messages.Liveness:
		return &messages.LivenessAck{CpId: x.GetCpId(), Seq: x.GetSeq(), Waiting: true}
	}
	return nil
}

// A Central that is up but waits for Kafka answers "waiting": one INFO
// line, no WARN, no "cannot reach"; the monitor registers once it is ready.
func TestAWaitingCentralIsOneInfoLine(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	central := testkit.NewProbe(t, sys, centralWaitingForKafka)
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "s", Engine: engine.PID, Central: central.PID,
		HealthInterval: interval, HealthTimeout: interval, Stall: meter(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	registrations := func() int { return count[*messages.RegisterChargePoint](central.Got(), nil) }
	testkit.Eventually(t, wait, func() bool { return registrations() > 10 }, func() string { return "no repeated registration" })
	central.SetReply(centralReply(true))
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Registered CP-001 with Central")) == 1 },
		func() string { return "not registered once Central was ready" })
	if got := logs.Lines("INFO", "Central is waiting for Kafka; CP-001 registers as soon as it is ready"); len(got) != 1 {
		t.Errorf("want one INFO line while Central waits, got %q", got)
	}
	if got := append(logs.Lines("WARN"), logs.Lines("ERROR")...); len(got) != 0 {
		t.Errorf("WARN or ERROR while Central waited: %q", got)
	}
}

// A refused registration is one WARN line with Central's reason, not an
// alternation of "Cannot reach Central" and "reachable again" (issue 15.8).
func TestARejectedRegistrationIsOneClearLine(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	central := testkit.NewProbe(t, sys, func(m any) any {
		if x, ok := m.(*messages.RegisterChargePoint); ok {
			return &messages.RegistrationResult{CpId: x.GetCpId(), Reason: "wrong secret"}
		}
		return nil
	})
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "demo", Engine: engine.PID, Central: central.PID,
		HealthInterval: interval, HealthTimeout: interval, Stall: meter(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	// The monitor asks again every 5 intervals; 6 answers are 30 intervals,
	// ten times Central's timeout (3 intervals).
	testkit.Eventually(t, wait, func() bool { return count[*messages.RegisterChargePoint](central.Got(), nil) >= 6 },
		func() string { return "the monitor stopped asking" })
	if got := logs.Lines("WARN", "rejected the registration of CP-001: wrong secret"); len(got) != 1 {
		t.Errorf("want one WARN saying it was rejected and why, got %q", got)
	}
	if got := append(logs.Lines("Cannot reach Central"), logs.Lines("reachable again")...); len(got) != 0 {
		t.Errorf("a Central that answers \"rejected\" was reported unreachable:\n%s", strings.Join(got, "\n"))
	}
}

// A Central that is not up yet (no answer at all since the start) is one
// INFO line, no WARN, and nothing more when it comes up.
func TestACentralNotUpYetIsOneInfoLine(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	central := testkit.NewProbe(t, sys, nil)
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "s", Engine: engine.PID, Central: central.PID,
		HealthInterval: interval, HealthTimeout: interval, Stall: meter(t), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	// 10 tries, 10 intervals: more than three Central timeouts (3 intervals).
	testkit.Eventually(t, wait, func() bool { return count[*messages.RegisterChargePoint](central.Got(), nil) >= 10 },
		func() string { return "the monitor stopped asking" })
	central.SetReply(centralReply(true))
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Registered CP-001 with Central")) == 1 },
		func() string { return "not registered once Central was up" })
	if got := logs.Lines("INFO", "Waiting for Central to answer"); len(got) != 1 {
		t.Errorf("want one INFO line while Central is not up, got %q", got)
	}
	if got := append(logs.Lines("WARN"), logs.Lines("reachable again")...); len(got) != 0 {
		t.Errorf("a Central that was not up yet was reported: %q", got)
	}
}

// The monitors of a site node that all hear "Central is waiting for Kafka"
// are one INFO line for the node (at 20,000 charge points they were 20,000
// lines), and each monitor still registers once Central is ready.
func TestAWaitingCentralIsOneInfoLineForASiteNode(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	central := testkit.NewProbe(t, sys, centralWaitingForKafka)
	reporter := monitor.NewNodeReporter(sys.Root, sys.Root.Spawn(monitor.ReporterProps(monitor.ReporterConfig{
		ChargePoints: 3, Gather: 50 * time.Millisecond, Logger: logger})))
	for _, id := range []string{"CP-001", "CP-002", "CP-003"} {
		props, err := monitor.Props(monitor.Config{CPID: id, Secret: "s", Engine: engine.PID, Central: central.PID,
			HealthInterval: interval, HealthTimeout: interval, Stall: meter(t), Logger: logger, Reporter: reporter})
		if err != nil {
			t.Fatal(err)
		}
		sys.Root.Spawn(props)
	}
	registrations := func() int { return count[*messages.RegisterChargePoint](central.Got(), nil) }
	testkit.Eventually(t, wait, func() bool { return registrations() > 15 }, func() string { return "no repeated registrations" })
	central.SetReply(centralReply(true))
	// The registrations are gathered into lines; under load one may come
	// late and make a line of its own.
	registered := regexp.MustCompile(`Registered (\d+) charge points? of this node`)
	testkit.Eventually(t, wait, func() bool {
		n := 0
		for _, line := range logs.Lines("INFO", "Site node", "Registered") {
			if m := registered.FindStringSubmatch(line); m != nil {
				k, _ := strconv.Atoi(m[1])
				n += k
			}
		}
		return n == 3
	}, func() string { return "not all registered once Central was ready:\n" + logs.String() })
	if got := logs.Lines("INFO", "Central is waiting for Kafka"); len(got) != 1 ||
		!strings.Contains(got[0], "the 3 charge points of this node register as soon as it is ready") {
		t.Errorf("want one INFO line for the node while Central waits, got %q", got)
	}
}

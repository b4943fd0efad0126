package monitor_test

import (
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/messages"
)

const wait = 5 * time.Second

func answer(ok bool) func(any) any {
	return func(m any) any {
		if hc, isCheck := m.(*messages.HealthCheck); isCheck {
			return &messages.HealthAnswer{CpId: hc.GetCpId(), Seq: hc.GetSeq(), Ok: ok,
				EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED}
		}
		return nil
	}
}

func centralReply(known bool) func(any) any {
	return func(m any) any {
		switch x := m.(type) {
		case *messages.RegisterChargePoint:
			return &messages.RegistrationResult{CpId: x.GetCpId(), Accepted: true}
		case *messages.Liveness:
			return &messages.LivenessAck{CpId: x.GetCpId(), Seq: x.GetSeq(), Known: known}
		}
		return nil
	}
}

func count[T any](msgs []any, pred func(T) bool) int {
	n := 0
	for _, m := range msgs {
		if x, ok := m.(T); ok && (pred == nil || pred(x)) {
			n++
		}
	}
	return n
}

func TestMonitorReportsFaultsAtOnceAndRecoveries(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	central := testkit.NewProbe(t, sys, centralReply(true))
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "s3cret", Location: "Alicante",
		Engine: engine.PID, Central: central.PID, HealthInterval: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	testkit.Eventually(t, wait, func() bool {
		got := central.Got()
		return count(got, func(r *messages.RegisterChargePoint) bool {
			return r.GetSecret() == "s3cret" && r.GetLocation() == "Alicante"
		}) == 1 &&
			count[*messages.Liveness](got, nil) > 2
	}, func() string { return "no registration with the secret, or no liveness" })

	faults := func(faulty bool, detail string) int {
		return count(central.Got(), func(f *messages.FaultReport) bool {
			return f.GetFaulty() == faulty && (detail == "" || f.GetDetail() == detail)
		})
	}
	engine.SetReply(nil) // silent engine
	start := time.Now()
	testkit.Eventually(t, wait, func() bool { return faults(true, "engine not answering health checks") == 1 },
		func() string { return "no fault for a silent engine" })
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("fault after %v: want the first missed check (20 ms interval)", took)
	}
	// more missed checks: still one report
	testkit.Eventually(t, wait, func() bool { return count[*messages.HealthCheck](engine.Got(), nil) > 10 },
		func() string { return "checks stopped" })
	if n := faults(true, ""); n != 1 {
		t.Fatalf("%d fault reports for one fault", n)
	}
	engine.SetReply(answer(true))
	testkit.Eventually(t, wait, func() bool { return faults(false, "") == 1 }, func() string { return "no recovery report" })
	engine.SetReply(answer(false))
	testkit.Eventually(t, wait, func() bool { return faults(true, "engine reports KO") == 1 }, func() string { return "no KO report" })
	if len(logs.Lines("WARN", "CP-001 FAULT: engine not answering health checks")) != 1 ||
		len(logs.Lines("INFO", "CP-001 recovered")) != 1 {
		t.Errorf("log lines:\n%s", strings.Join(logs.Lines("Monitor"), "\n"))
	}
}

func TestMonitorSaysOnceThatCentralIsUnreachableAndRegistersAgain(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	central := testkit.NewProbe(t, sys, centralReply(true))
	props, err := monitor.Props(monitor.Config{CPID: "CP-002", Secret: "s", Engine: engine.PID, Central: central.PID,
		HealthInterval: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	registrations := func() int { return count[*messages.RegisterChargePoint](central.Got(), nil) }
	testkit.Eventually(t, wait, func() bool { return registrations() == 1 }, func() string { return "not registered" })
	central.SetReply(nil) // Central gone
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("WARN", "Cannot reach Central")) == 1 },
		func() string { return "no unreachable line" })
	before := count[*messages.Liveness](central.Got(), nil)
	testkit.Eventually(t, wait, func() bool { return count[*messages.Liveness](central.Got(), nil) > before+5 },
		func() string { return "liveness stopped" })
	if n := len(logs.Lines("WARN", "Cannot reach Central")); n != 1 {
		t.Fatalf("unreachable logged %d times", n)
	}
	central.SetReply(centralReply(false)) // back, restarted: does not know us
	testkit.Eventually(t, wait, func() bool { return registrations() >= 2 }, func() string { return "did not register again" })
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("INFO", "Central is reachable again")) == 1 },
		func() string { return "no line saying Central is back" })
}

func TestMonitorConfigValidation(t *testing.T) {
	if _, err := monitor.Props(monitor.Config{CPID: "CP-001"}); err == nil {
		t.Fatal("no PIDs accepted")
	}
}

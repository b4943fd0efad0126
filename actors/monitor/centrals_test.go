package monitor_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/messages"
)

// A monitor given several Centrals of a shared group turns to the next
// when the one it talks to falls silent (killed): it goes on with its
// liveness there, without saying that Central cannot be reached; only when
// none answers does it say so, once.
func TestMonitorTurnsToTheNextCentralWhenItsOwnIsSilent(t *testing.T) {
	sys, logger, logs := testkit.NewSystem(t)
	engine := testkit.NewProbe(t, sys, answer(true))
	first := testkit.NewProbe(t, sys, centralReply(true))
	second := testkit.NewProbe(t, sys, centralReply(true))
	props, err := monitor.Props(monitor.Config{CPID: "CP-001", Secret: "s", Engine: engine.PID, Central: first.PID,
		OtherCentrals: []*actor.PID{second.PID}, HealthInterval: 20 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Spawn(props)
	testkit.Eventually(t, wait, func() bool { return count[*messages.Liveness](first.Got(), nil) >= 3 },
		func() string { return "no liveness to the first Central:\n" + logs.String() })
	if n := count[*messages.Liveness](second.Got(), nil); n > 0 {
		t.Fatalf("%d liveness messages to the second Central while the first answers", n)
	}

	first.SetReply(nil) // killed
	testkit.Eventually(t, wait, func() bool { return count[*messages.Liveness](second.Got(), nil) >= 3 },
		func() string { return "no liveness to the second Central:\n" + logs.String() })
	if n := len(logs.Lines("INFO", "turns to the Central at")); n != 1 {
		t.Fatalf("%d INFO lines about turning to the second Central, want 1:\n%s", n, logs.String())
	}
	if got := logs.Lines("Cannot reach Central"); len(got) > 0 {
		t.Fatalf("a monitor that another Central answers said Central cannot be reached: %q", got)
	}

	second.SetReply(nil) // none answers now
	testkit.Eventually(t, wait, func() bool { return len(logs.Lines("WARN", "Cannot reach Central")) == 1 },
		func() string { return "no WARN when no Central answers:\n" + logs.String() })
}

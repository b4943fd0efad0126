package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// An engine process that hangs (SIGSTOP) 5 s into a supply and wakes up
// 10 s later: Central marks FAULT at once and tells the driver the supply
// ends now. The engine's own end, when it comes, says "completed" with the
// energy of the frozen time; the one ticket still says FAULT, at the fault's
// time, with the energy measured until then: what the driver was told.
func TestHungEngineIsTicketedAsOfTheFault(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about 30 s")
	}
	one := startOneChargePoint(t, "--supply-duration", "10s")
	h, httpAddr, db := one.harness, one.http, one.db
	h.start("driver")
	var started time.Time
	h.eventually(30*time.Second, "CP-001 supplying alice", func() (bool, string) {
		cps := chargePoints(httpAddr)
		s := cps["CP-001"].Session
		if s != nil && s.StartedAt != nil {
			started = *s.StartedAt
		}
		return cps["CP-001"].State == "SUPPLYING" && !started.IsZero(), describe(cps)
	})
	time.Sleep(time.Until(started.Add(5 * time.Second))) // the scenario: 5 s into the supply
	engine := h.procs["engine"].cmd.Process
	stoppedAt := time.Now()
	if err := engine.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	h.eventually(5*time.Second, "CP-001 FAULT", func() (bool, string) {
		cps := chargePoints(httpAddr)
		return cps["CP-001"].State == "FAULT", describe(cps)
	})
	faultSeen := time.Now()
	h.eventually(5*time.Second, "the driver told the supply ends now", func() (bool, string) {
		return strings.Contains(h.log("driver", 0), "your supply ends now"), ""
	})
	time.Sleep(time.Until(stoppedAt.Add(10 * time.Second))) // the scenario: hung for 10 s
	if err := engine.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	h.eventually(20*time.Second, "alice's ticket", func() (bool, string) {
		return strings.Contains(h.log("driver", 0), "Ticket for alice at CP-001"), ""
	})
	h.eventually(10*time.Second, "the engine's own late end", func() (bool, string) {
		return strings.Contains(h.log("engine", 0), "Supply for alice ended"), ""
	})
	for _, n := range []string{"driver", "monitor", "engine", "central"} {
		if code := h.stop(n, 15*time.Second); code != 0 {
			t.Errorf("%s exited %d", n, code)
		}
	}

	// one supply, one ticket, and it is the fault's
	sids := regexp.MustCompile(`session_id=(\S+)`)
	var startedSessions []string
	for _, l := range strings.Split(h.log("engine", -1), "\n") {
		if strings.Contains(l, "| Supplying ") {
			startedSessions = append(startedSessions, sids.FindStringSubmatch(l)[1])
		}
	}
	if len(startedSessions) != 1 {
		t.Fatalf("engine started %d supplies: %v", len(startedSessions), startedSessions)
	}
	if n := strings.Count(h.log("central", -1), "| Central | Ticket for alice"); n != 1 {
		t.Fatalf("Central made %d tickets for one supply", n)
	}
	if n := strings.Count(h.log("driver", -1), "Ticket for alice at CP-001"); n != 1 {
		t.Fatalf("the driver got %d tickets for one supply", n)
	}
	st, err := store.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tk, err := st.Ticket(context.Background(), startedSessions[0])
	if err != nil {
		t.Fatalf("no ticket in the database: %v", err)
	}
	end := tk.GetEndedAt().AsTime()
	// 22 kW x 60 (time scale) for the 5 s before the fault is 1.83 kWh; the
	// engine's own end said 3.67 kWh (10 s)
	if tk.GetReason() != messages.EndReason_END_REASON_FAULT || tk.GetKwh() < 1.0 || tk.GetKwh() > 2.2 ||
		end.Before(stoppedAt) || end.After(faultSeen) {
		t.Fatalf("ticket %v: want FAULT, about 1.8 kWh, ended between the SIGSTOP (%v) and the FAULT seen (%v)", tk, stoppedAt, faultSeen)
	}
	t.Logf("ticket: %.2f kWh (%s), ended %v after the SIGSTOP", tk.GetKwh(), tk.GetReason(), end.Sub(stoppedAt).Round(time.Millisecond))
}

// oneChargePoint is broker, Central, CP-001 (engine and monitor) and a
// driver alice with one request for CP-001, as evnode processes.
type oneChargePoint struct {
	*harness
	http, db string
	env      []string
}

// engineArgs are the engine's flags with a journal at journal, plus extra.
func (o *oneChargePoint) engineArgs(journal string, extra ...string) []string {
	args := append([]string(nil), o.procs["engine"].args...)
	for i := range args {
		if args[i] == "--journal" {
			args[i+1] = journal
		}
	}
	return append(args, extra...)
}

// startOneChargePoint starts everything but the driver and waits until
// CP-001 is ACTIVATED; engineArgs are added to the engine's flags.
func startOneChargePoint(t *testing.T, engineArgs ...string) *oneChargePoint {
	t.Helper()
	h := newHarness(t)
	brokers, httpAddr, centralAddr, engineAddr, monitorAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	env := []string{"KAFKA_BOOTSTRAP=" + brokers, "KAFKA_WAIT_MAX_ATTEMPTS=200", "KAFKA_WAIT_SECONDS=0.5",
		"EVSIM_LOG_LEVEL=info", "EVSIM_LOG_FORMAT=text"}
	db := filepath.Join(h.dir, "central.db")
	requests := filepath.Join(h.dir, "alice.txt")
	if err := os.WriteFile(requests, []byte("CP-001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.add("broker", nil, "broker", "--listen", brokers)
	h.add("central", env, "central", "--listen", centralAddr, "--http", httpAddr, "--db", db, "--cp-secrets", "CP-001=s")
	h.add("engine", env, append([]string{"engine", "--cp", "CP-001", "--listen", engineAddr, "--journal", filepath.Join(h.dir, "engine.json"),
		"--telemetry-interval", "500ms", "--time-scale", "60"}, engineArgs...)...)
	h.add("monitor", append(env, "EVSIM_HEALTH_INTERVAL=500ms", "EVSIM_HEALTH_TIMEOUT=450ms"), "monitor",
		"--cp", "CP-001", "--engine", engineAddr, "--central", centralAddr, "--listen", monitorAddr, "--advertise", monitorAddr, "--secret", "s")
	h.add("driver", env, "driver", "--id", "alice", "--requests", requests, "--progress", filepath.Join(h.dir, "alice.json"))
	for _, n := range []string{"broker", "central", "engine", "monitor"} {
		h.start(n)
	}
	h.eventually(30*time.Second, "CP-001 ACTIVATED", func() (bool, string) {
		cps := chargePoints(httpAddr)
		return cps["CP-001"].State == "ACTIVATED", describe(cps)
	})
	return &oneChargePoint{harness: h, http: httpAddr, db: db, env: env}
}

package deploy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestComposeLive brings compose.yaml up for real on a Docker engine and
// proves what the seed's operators checked by hand: every service running
// and healthy, logs without ERROR lines or stack traces, tickets flowing.
// Then it starts the apps 30 s before Kafka, breaks the deployment on
// purpose (Kafka killed mid-supply, Central's process killed, a monitor cut
// off the network), checks that every supply started got its ticket, and
// that `make down` leaves nothing behind. Each step's time is printed.
// It runs when EVSIM_COMPOSE=1 (`make test-compose`, which starts an engine
// and builds the images first); the image is EVSIM_IMAGE as built.
func TestComposeLive(t *testing.T) {
	d := newDeployment(t, liveProject(t))
	// A failed run leaves nothing behind either.
	d.downNowAndAtTheEnd(t)
	danglingBefore := len(strings.Fields(d.run("docker", "volume", "ls", "-q", "--filter", "dangling=true")))
	services := d.services()
	if len(services) != 17 {
		t.Fatalf("compose.yaml has %d services, want 17 (Kafka, the Registry, enrol, Central, 5 engines, 5 monitors, 3 drivers): %v", len(services), services)
	}
	cps := []string{"CP-001", "CP-002", "CP-003", "CP-004", "CP-005"}

	t.Run("up", func(t *testing.T) {
		d.t = t
		start := time.Now()
		d.dc("up", "-d", "--no-build")
		d.record("compose up -d (create and start 17 containers)", time.Since(start))
		d.record("up -> every service running and healthy (enrol done)", d.waitHealthy(services, 4*time.Minute))
		d.record("healthy -> 5 charge points serving and a ticket", d.waitFor("tickets flow", 3*time.Minute, d.serving(5, 0)))
		d.record("up -> first ticket, in all", time.Since(start))
		// Central verifies tokens only: serving means each monitor got its
		// token with the credential enrol wrote for it.
		d.everyChargePointHasTokens(cps)
		d.checkLogs("normal start", services, false)
		// Drivers start after every monitor answers: their first requests
		// should not meet a charge point still DISCONNECTED (printed, not
		// asserted: a registration retried on a loaded machine may be late).
		t.Logf("requests denied at start because a charge point was still DISCONNECTED: %d",
			len(deniedDisconnected.FindAllString(d.logs("central"), -1)))
	})

	apps := without(services, "kafka")
	t.Run("late broker", func(t *testing.T) {
		d.t = t
		d.dc("down", "-v")
		start := time.Now()
		// Two calls: within one, compose would hold the monitors and
		// drivers until Central is healthy, which needs Kafka.
		var first, second []string
		for _, a := range apps {
			if a == "central" || a == "registry" || strings.HasPrefix(a, "engine-") {
				first = append(first, a)
			} else {
				second = append(second, a)
			}
		}
		d.dc(append([]string{"up", "-d", "--no-build", "--no-deps"}, first...)...)
		d.dc(append([]string{"up", "-d", "--no-build", "--no-deps"}, second...)...)
		d.waitFor("every app running without Kafka", time.Minute, d.running(without(apps, "enrol")))
		// The scenario: Kafka comes 30 s after the apps.
		time.Sleep(time.Until(start.Add(30 * time.Second)))
		kafkaAt := time.Now()
		d.dc("up", "-d", "--no-build", "kafka")
		d.waitHealthy(services, 4*time.Minute)
		d.record("late broker: Kafka started (30 s late) -> all healthy", time.Since(kafkaAt))
		d.waitFor("tickets flow", 3*time.Minute, d.serving(5, 0))
		d.record("late broker: Kafka started -> 5 serving, first ticket", time.Since(kafkaAt))
		d.checkLogs("late broker", apps, true)
		for _, c := range d.containers() {
			if c.Restarts != 0 {
				t.Errorf("late broker: %s restarted %d times; every app should wait for Kafka instead", c.Service, c.Restarts)
			}
		}
	})

	t.Run("fault: Kafka killed mid-supply", func(t *testing.T) {
		d.t = t
		d.waitFor("a supply running", 2*time.Minute, d.supplying)
		before := d.tickets()
		kafka := d.container("kafka")
		d.run("docker", "kill", kafka.ID)
		killed := time.Now()
		atFault, _ := d.ledger()
		time.Sleep(10 * time.Second) // the outage
		d.run("docker", "start", kafka.ID)
		d.waitHealthy([]string{"kafka"}, 3*time.Minute)
		d.record("Kafka killed (down 10 s) -> Kafka healthy again", time.Since(killed))
		d.waitFor("tickets after Kafka's restart", 3*time.Minute, d.serving(5, before+2))
		d.record("Kafka killed -> 3 more tickets", time.Since(killed))
		d.waitHealthy(services, 2*time.Minute)
		d.record("Kafka killed -> every service healthy", time.Since(killed))
		d.everySupplyTicketed("after Kafka's kill", atFault)
		d.checkLogs("after Kafka's kill", apps, false)
	})

	t.Run("fault: Central's process killed", func(t *testing.T) {
		d.t = t
		d.waitFor("a supply running", 2*time.Minute, d.supplying)
		central := d.container("central")
		d.killMainProcess(central)
		killed := time.Now()
		atFault, _ := d.ledger()
		d.waitFor("Central restarted by its restart policy", time.Minute, func() (bool, string) {
			c := d.container("central")
			return c.Restarts > central.Restarts, fmt.Sprintf("restarts %d, status %s", c.Restarts, c.Status)
		})
		d.waitHealthy([]string{"central"}, 2*time.Minute)
		d.record("Central killed -> restarted and healthy", time.Since(killed))
		before := d.tickets()
		d.waitFor("tickets after Central's restart", 3*time.Minute, d.serving(5, before))
		d.record("Central killed -> 5 serving, a new ticket", time.Since(killed))
		d.everySupplyTicketed("after Central's kill", atFault)
		d.checkLogs("after Central's kill", apps, false)
	})

	t.Run("fault: a monitor cut off the network for 10 s", func(t *testing.T) {
		d.t = t
		monitor := d.container("monitor-cp-003")
		net := d.project + "_default"
		d.run("docker", "network", "disconnect", net, monitor.ID)
		cut := time.Now()
		atFault, _ := d.ledger()
		d.waitFor("CP-003 DISCONNECTED", time.Minute, d.cpState("CP-003", "DISCONNECTED"))
		d.record("monitor cut off -> Central shows CP-003 DISCONNECTED", time.Since(cut))
		time.Sleep(time.Until(cut.Add(10 * time.Second))) // the partition lasts 10 s
		d.run("docker", "network", "connect", "--alias", "monitor-cp-003", net, monitor.ID)
		back := time.Now()
		d.waitFor("CP-003 back", 2*time.Minute, d.cpState("CP-003", "ACTIVATED", "SUPPLYING"))
		d.record("network back (after 10 s) -> CP-003 ACTIVATED again", time.Since(back))
		before := d.tickets()
		d.waitFor("tickets after the partition", 3*time.Minute, d.serving(5, before))
		d.everySupplyTicketed("after the partition", atFault)
		d.checkLogs("after the partition", apps, false)
	})

	t.Run("identity: a revocation through the Registry's API", func(t *testing.T) {
		d.t = t
		d.waitFor("CP-002 serving", 2*time.Minute, d.cpState("CP-002", "ACTIVATED", "SUPPLYING"))
		atFault, _ := d.ledger()
		start := time.Now()
		d.revoke("CP-002")
		d.record("revoke over HTTPS -> Central shows CP-002 REVOKED", d.waitFor("CP-002 REVOKED", time.Minute, d.cpState("CP-002", "REVOKED")))
		// It holds: the monitor asks again (every 5 s), the Registry
		// refuses it tokens, Central keeps it REVOKED.
		for time.Since(start) < 7*time.Second {
			if got := d.states()["CP-002"]; got != "REVOKED" {
				t.Fatalf("CP-002 is %s %v after its revocation, want REVOKED", got, time.Since(start).Round(time.Second))
			}
			time.Sleep(time.Second)
		}
		if !strings.Contains(d.logs("monitor-cp-002"), "revoked") {
			t.Errorf("the monitor of CP-002 does not say that it is revoked")
		}
		d.everySupplyTicketed("after the revocation", atFault)
		d.checkLogs("after the revocation", apps, false)
	})

	t.Run("nothing lost: a ticket for every supply started", func(t *testing.T) {
		d.t = t
		// No new requests; the supplies under way end and get their tickets.
		d.dc("stop", "driver-alice", "driver-bob", "driver-charlie")
		var started, ticketed map[string]int
		d.record("drivers stopped -> every supply started has its ticket", d.waitFor("a ticket for every supply", 2*time.Minute, func() (bool, string) {
			started, ticketed = d.ledger()
			var missing []string
			for sid := range started {
				if ticketed[sid] == 0 {
					missing = append(missing, sid)
				}
			}
			return len(missing) == 0, fmt.Sprintf("%d supplies started, %d without a ticket: %v", len(started), len(missing), missing)
		}))
		t.Logf("ledger since the late-broker start, through the three faults: %d supplies started (engines' logs), %d tickets (Central's log)", len(started), len(ticketed))
		if len(started) < 5 {
			t.Errorf("only %d supplies started in the whole run: the ledger proves little", len(started))
		}
		for sid, n := range ticketed {
			if n > 1 {
				t.Errorf("session %s got %d tickets", sid, n)
			}
			if started[sid] == 0 {
				t.Errorf("a ticket for session %s, which no engine started", sid)
			}
		}
		d.checkLogs("whole run", apps, false)
	})

	t.Run("make down leaves nothing behind", func(t *testing.T) {
		d.t = t
		start := time.Now()
		d.run("make", "-s", "-C", "..", "down")
		d.record("make down", time.Since(start))
		if left := strings.TrimSpace(d.run("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+d.project)); left != "" {
			t.Errorf("containers left after make down: %s", left)
		}
		if left := strings.TrimSpace(d.run("docker", "network", "ls", "-q", "--filter", "label=com.docker.compose.project="+d.project)); left != "" {
			t.Errorf("networks left after make down: %s", left)
		}
		// Volumes stay unless asked: Central's database, Kafka's log, the
		// Registry's state and public parts, the monitors' credentials.
		if vols := strings.Fields(d.run("docker", "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+d.project)); len(vols) != 5 {
			t.Errorf("make down kept %d volumes %v, want 5 (Central's, Kafka's, the Registry's two, the credentials)", len(vols), vols)
		}
		d.dc("down", "-v")
		if left := strings.TrimSpace(d.run("docker", "volume", "ls", "-q", "--filter", "label=com.docker.compose.project="+d.project)); left != "" {
			t.Errorf("volumes left after down -v: %s", left)
		}
		// No anonymous volume either (an image VOLUME would leave one per container).
		if n := len(strings.Fields(d.run("docker", "volume", "ls", "-q", "--filter", "dangling=true"))); n > danglingBefore {
			t.Errorf("%d anonymous volumes left behind (there were %d before the test)", n-danglingBefore, danglingBefore)
		}
	})
}

// printTimings prints every measured step, and the total.
func (d *deployment) printTimings() {
	var b strings.Builder
	var total time.Duration
	for _, tm := range d.timings {
		b.WriteString("\n  ")
		b.WriteString(tm.what)
		b.WriteString(strings.Repeat(" ", max(1, 56-len(tm.what))))
		b.WriteString(tm.took.Round(100 * time.Millisecond).String())
		total += tm.took
	}
	d.t.Logf("where the time went:%s", b.String())
}

package deploy

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestComposeLive brings compose.yaml up for real on a Docker engine and
// proves what the seed's operators checked by hand: every service running
// and healthy, logs without ERROR lines or stack traces, tickets flowing.
// It runs when EVSIM_COMPOSE=1 (`make test-compose`, which starts an engine
// and builds the images first); the image is EVSIM_IMAGE as built.
func TestComposeLive(t *testing.T) {
	if os.Getenv("EVSIM_COMPOSE") != "1" {
		t.Skip("set EVSIM_COMPOSE=1 to run the deployment in containers (make test-compose)")
	}
	project := os.Getenv("EVSIM_COMPOSE_PROJECT")
	if project == "" {
		project = "evsimtest"
	}
	d := newDeployment(t, project)
	// A failed run leaves nothing behind either.
	d.try(d.compose[0], append(append([]string{}, d.compose[1:]...), "-f", "compose.yaml", "-p", project, "down", "-v", "--remove-orphans")...)
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := d.try(d.compose[0], append(append([]string{}, d.compose[1:]...), "-f", "compose.yaml", "-p", project, "ps")...)
			t.Logf("compose ps at the failure:\n%s", out)
		}
		d.try(d.compose[0], append(append([]string{}, d.compose[1:]...), "-f", "compose.yaml", "-p", project, "down", "-v", "--remove-orphans")...)
		d.printTimings()
	})
	services := d.services()
	if len(services) != 15 {
		t.Fatalf("compose.yaml has %d services, want 15 (Kafka, Central, 5 engines, 5 monitors, 3 drivers): %v", len(services), services)
	}

	t.Run("up", func(t *testing.T) {
		d.t = t
		start := time.Now()
		d.dc("up", "-d", "--no-build")
		d.record("compose up -d (create and start 15 containers)", time.Since(start))
		d.record("up -> every service running and healthy", d.waitHealthy(services, 4*time.Minute))
		d.record("healthy -> 5 charge points serving and a ticket", d.waitFor("tickets flow", 3*time.Minute, d.serving(5, 0)))
		d.record("up -> first ticket, in all", time.Since(start))
		d.checkLogs("normal start", services, false)
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

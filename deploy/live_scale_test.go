package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestComposeScaleLive brings up the scaled variant (compose.scale.yaml,
// --scale central=3) for real: every charge point ACTIVATED, /api/cluster
// on one Central listing three members whose partitions cover every
// partition once; then `docker kill` of a Central in the middle of a
// supply: its charge points are ACTIVATED again at the other two, and every supply
// started has exactly one ticket, among all three Centrals' logs. It runs
// when EVSIM_COMPOSE=1 (scripts/test-compose.sh), on the image built there.
func TestComposeScaleLive(t *testing.T) {
	d := newDeployment(t, liveProject(t)+"-scale")
	d.files = []string{"compose.yaml", "compose.scale.yaml"}
	// One host port per replica: two ranges of free ports.
	httpFirst, remoteFirst := freePortRange(t, scaleReplicas), freePortRange(t, scaleReplicas)
	d.env = append(d.env,
		fmt.Sprintf("CENTRAL_HTTP_PORT=%d-%d", httpFirst, httpFirst+scaleReplicas-1),
		fmt.Sprintf("CENTRAL_REMOTE_PORT=%d", remoteFirst),
		fmt.Sprintf("CENTRAL_REMOTE_PORT_UPTO=-%d", remoteFirst+scaleReplicas-1))
	d.downNowAndAtTheEnd(t)
	services := d.services()
	cps := []string{"CP-001", "CP-002", "CP-003", "CP-004", "CP-005"}

	up := t.Run("up", func(t *testing.T) {
		d.t = t
		start := time.Now()
		d.dc("up", "-d", "--no-build", "--scale", "central="+strconv.Itoa(scaleReplicas))
		d.record("scale: up -d (3 Centrals, 19 containers)", time.Since(start))
		d.record("scale: up -> every service healthy", d.waitHealthy(services, 4*time.Minute))
		d.waitFor("3 Centrals healthy", 2*time.Minute, d.centralsHealthy(scaleReplicas))
		d.record("scale: up -> 5 charge points serving across the Centrals", d.waitFor("every charge point ACTIVATED", 3*time.Minute, d.servingAcross(cps, nil)))
		d.waitFor("3 members owning every partition", time.Minute, d.clusterCovers(scaleReplicas, 6))
		d.waitFor("a ticket", 3*time.Minute, func() (bool, string) {
			_, ticketed := d.scaleLedger()
			return len(ticketed) > 0, "no ticket yet"
		})
		d.record("scale: up -> 3 members, 5 serving, a ticket", time.Since(start))
	})
	if !up {
		return
	}

	var victim container
	failedOver := t.Run("a Central killed", func(t *testing.T) {
		d.t = t
		// Mid-supply: the supply open at the killed Central must get its
		// ticket from the new owner.
		d.waitFor("a Central with a supply under way", 2*time.Minute, func() (bool, string) {
			victim = d.supplyingCentral()
			return victim.ID != "", "no charge point SUPPLYING"
		})
		owned := d.ownedBy(nil)[victim.ID]
		atFault, _ := d.scaleLedger()
		d.run("docker", "kill", victim.ID)
		killed := time.Now()
		t.Logf("killed Central %.12s mid-supply, which served %v", victim.ID, owned)
		took := d.waitFor("its charge points ACTIVATED at the others", time.Minute, d.servingAcross(cps, &victim))
		d.record("scale: Central killed -> all 5 serving at the other two", took)
		d.waitFor("2 members owning every partition", time.Minute, d.clusterCovers(scaleReplicas-1, 6))
		d.everySupplyTicketedOnce(atFault)
		d.record("scale: Central killed -> every earlier supply ticketed once", time.Since(killed))
		d.noErrorLines(victim)
	})
	if !failedOver {
		return
	}

	t.Run("the killed Central back", func(t *testing.T) {
		d.t = t
		// A Central that comes back takes a share again: three members own
		// the partitions (its share may hold none of the 5 charge points:
		// they hash to partitions unevenly), each serves at exactly one Central,
		// and no supply is ticketed twice by the hand-back.
		atReturn, _ := d.scaleLedger()
		d.run("docker", "start", victim.ID)
		back := time.Now()
		d.record("scale: Central back -> 3 members owning every partition", d.waitFor("3 members owning every partition", 2*time.Minute, d.clusterCovers(scaleReplicas, 6)))
		d.record("scale: Central back -> all 5 serving, one Central each", d.waitFor("every charge point ACTIVATED", time.Minute, d.servingAcross(cps, nil)))
		d.everySupplyTicketedOnce(atReturn)
		d.record("scale: Central back -> every earlier supply ticketed once", time.Since(back))
		d.noErrorLines(container{})
	})
}

// freePortRange returns the first of n consecutive ports that are free on
// 127.0.0.1 (a range Docker publishes one replica per port).
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		first, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := first.Addr().(*net.TCPAddr).Port
		held := []net.Listener{first}
		for p := base + 1; p < base+n; p++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if len(held) == n && base+n-1 <= 65535 {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports on 127.0.0.1", n)
	return 0
}

// centrals are the project's Central containers, running or not.
func (d *deployment) centrals() []container {
	var out []container
	for _, c := range d.containers() {
		if c.Service == "central" {
			out = append(out, c)
		}
	}
	return out
}

func (d *deployment) centralsHealthy(n int) func() (bool, string) {
	return func() (bool, string) {
		healthy := 0
		var states []string
		for _, c := range d.centrals() {
			if c.Status == "running" && c.Health == "healthy" {
				healthy++
			}
			states = append(states, c.Status+"/"+c.Health)
		}
		return healthy >= n, fmt.Sprintf("%d Centrals healthy: %v", healthy, states)
	}
}

// apiOf is the web API of one Central container on the host.
func (d *deployment) apiOf(c container) string {
	out, err := d.try("docker", "port", c.ID, "8080/tcp")
	if err != nil {
		return ""
	}
	hostPort := strings.TrimSpace(strings.Split(out, "\n")[0])
	return "http://" + hostPort
}

// getFrom reads a JSON endpoint of one Central; false while it does not answer.
func getFrom(api, path string, v any) bool {
	if api == "" {
		return false
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(api + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// ownedBy lists, per running Central, the charge points its panel shows
// ACTIVATED or SUPPLYING (a Central shows the charge points it owns).
func (d *deployment) ownedBy(skip *container) map[string][]string {
	out := map[string][]string{}
	for _, c := range d.centrals() {
		if c.Status != "running" || skip != nil && c.ID == skip.ID {
			continue
		}
		var list []chargePoint
		if !getFrom(d.apiOf(c), "/api/chargepoints", &list) {
			continue
		}
		for _, cp := range list {
			if cp.State == "ACTIVATED" || cp.State == "SUPPLYING" {
				out[c.ID] = append(out[c.ID], cp.ID)
			}
		}
	}
	return out
}

// servingAcross is a waitFor condition: every charge point of cps is
// ACTIVATED or SUPPLYING at exactly one running Central (not skip).
func (d *deployment) servingAcross(cps []string, skip *container) func() (bool, string) {
	return func() (bool, string) {
		at := map[string]int{}
		for _, ids := range d.ownedBy(skip) {
			for _, id := range ids {
				at[id]++
			}
		}
		var missing []string
		for _, id := range cps {
			if at[id] != 1 {
				missing = append(missing, fmt.Sprintf("%s at %d Centrals", id, at[id]))
			}
		}
		return len(missing) == 0, strings.Join(missing, ", ")
	}
}

// supplyingCentral is a running Central whose panel shows a charge point
// SUPPLYING, or none.
func (d *deployment) supplyingCentral() container {
	for _, c := range d.centrals() {
		var list []chargePoint
		if c.Status != "running" || !getFrom(d.apiOf(c), "/api/chargepoints", &list) {
			continue
		}
		for _, cp := range list {
			if cp.State == "SUPPLYING" {
				return c
			}
		}
	}
	return container{}
}

// clusterCovers is a waitFor condition: some running Central's /api/cluster
// lists n live members of the newest generation whose partitions cover
// 0..partitions-1, each once.
func (d *deployment) clusterCovers(n, partitions int) func() (bool, string) {
	return func() (bool, string) {
		last := "no Central's /api/cluster answers"
		for _, c := range d.centrals() {
			if c.Status != "running" {
				continue
			}
			var view struct {
				Members []struct {
					Address    string  `json:"address"`
					Generation int32   `json:"generation"`
					Partitions []int32 `json:"partitions"`
					Left       bool    `json:"left"`
				} `json:"members"`
			}
			if !getFrom(d.apiOf(c), "/api/cluster", &view) {
				continue
			}
			newest := int32(-1)
			for _, m := range view.Members {
				if !m.Left {
					newest = max(newest, m.Generation)
				}
			}
			count := map[int32]int{}
			var members []string
			for _, m := range view.Members {
				if m.Left || m.Generation != newest {
					continue
				}
				members = append(members, fmt.Sprintf("%s%v", m.Address, m.Partitions))
				for _, p := range m.Partitions {
					count[p]++
				}
			}
			ok := len(members) == n
			for _, m := range members {
				// Each its own address: the service name is every replica's.
				ok = ok && !strings.HasPrefix(m, "central:")
			}
			for p := int32(0); p < int32(partitions); p++ {
				ok = ok && count[p] == 1
			}
			if ok && len(count) == partitions {
				slices.Sort(members)
				d.t.Logf("/api/cluster of %.12s: %v", c.ID, members)
				return true, ""
			}
			slices.Sort(members)
			last = fmt.Sprintf("generation %d: %v", newest, members)
		}
		return false, last
	}
}

// scaleLedger is ledger over every Central container's log.
func (d *deployment) scaleLedger() (started, ticketed map[string]int) {
	d.t.Helper()
	started, ticketed = map[string]int{}, map[string]int{}
	for i := 1; i <= 5; i++ {
		for _, m := range supplyStarted.FindAllStringSubmatch(d.logs(fmt.Sprintf("engine-cp-%03d", i)), -1) {
			started[m[1]]++
		}
	}
	for _, c := range d.centrals() {
		for _, m := range ticketIssued.FindAllStringSubmatch(d.run("docker", "logs", c.ID), -1) {
			ticketed[m[1]]++
		}
	}
	return started, ticketed
}

// everySupplyTicketedOnce waits until each supply started by the fault has
// its ticket, then fails on any supply ticketed twice (by one Central or two).
func (d *deployment) everySupplyTicketedOnce(atFault map[string]int) {
	d.t.Helper()
	d.everySupplyTicketedIn("after a Central's kill", atFault, d.scaleLedger)
	started, ticketed := d.scaleLedger()
	for sid, n := range ticketed {
		if n != 1 {
			d.t.Errorf("supply %s has %d tickets, want 1", sid, n)
		}
		if started[sid] == 0 {
			d.t.Errorf("a ticket for supply %s, which no engine started", sid)
		}
	}
	d.t.Logf("%d tickets in all, none twice", len(ticketed))
}

// noErrorLines fails on an ERROR or stack-trace line in the log of any
// evnode container of the project but the one killed (a Central away is a
// WARN). Kafka's own ERROR lines (a client killed mid-request) are printed.
func (d *deployment) noErrorLines(killed container) {
	d.t.Helper()
	for _, c := range d.containers() {
		if c.ID == killed.ID {
			continue
		}
		var bad []string
		for _, line := range strings.Split(d.run("docker", "logs", c.ID), "\n") {
			if errorLine.MatchString(line) || stackLine.MatchString(line) {
				bad = append(bad, line)
			}
		}
		switch {
		case len(bad) == 0:
		case c.Service == "kafka":
			d.t.Logf("kafka logged %d ERROR lines, first: %s", len(bad), bad[0])
		default:
			d.t.Errorf("%s (%.12s) logged %d ERROR or stack-trace lines, first: %s", c.Service, c.ID, len(bad), bad[0])
		}
	}
}

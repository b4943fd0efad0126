package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/testutil"
)

// This file drives a real compose deployment for live_test.go: compose and
// docker commands, container states, Central's API, and what the logs say.

// deployment is one compose project of compose.yaml on a Docker engine
// (DOCKER_HOST), with every published port chosen free on 127.0.0.1.
type deployment struct {
	t       *testing.T
	project string
	compose []string // "docker-compose" or "docker compose"
	env     []string
	api     string // Central's web API on the host
	// registry is the Registry's HTTPS API on the host.
	registry string
	timings  []timing
	// files are the compose files, in order (default compose.yaml).
	files []string
}

// timing is one measured step, printed at the end of the test.
type timing struct {
	what string
	took time.Duration
}

func newDeployment(t *testing.T, project string) *deployment {
	t.Helper()
	d := &deployment{t: t, project: project}
	d.compose = strings.Fields(os.Getenv("EVSIM_COMPOSE_CMD"))
	if len(d.compose) == 0 {
		d.compose = []string{"docker-compose"}
		if _, err := exec.LookPath("docker-compose"); err != nil {
			d.compose = []string{"docker", "compose"}
		}
	}
	ports := map[string]string{
		"KAFKA_HOST_PORT": "", "CENTRAL_HTTP_PORT": "", "CENTRAL_REMOTE_PORT": "", "REGISTRY_PORT": "",
	}
	for i := 1; i <= 5; i++ {
		ports[fmt.Sprintf("CP%d_ENGINE_PORT", i)] = ""
		ports[fmt.Sprintf("CP%d_MONITOR_PORT", i)] = ""
	}
	d.env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+project, "PUBLISH_HOST=127.0.0.1", "REGISTRY_ADMIN_TOKEN="+liveAdminToken)
	for name := range ports {
		_, port, _ := net.SplitHostPort(testutil.FreeAddr(t))
		ports[name] = port
		d.env = append(d.env, name+"="+port)
	}
	d.api = "http://127.0.0.1:" + ports["CENTRAL_HTTP_PORT"]
	d.registry = "https://127.0.0.1:" + ports["REGISTRY_PORT"]
	return d
}

// record notes how long a step took and prints it at once.
func (d *deployment) record(what string, took time.Duration) {
	d.timings = append(d.timings, timing{what, took})
	d.t.Logf("TIME %-52s %6.1f s", what, took.Seconds())
}

// run runs a command with the deployment's environment; it returns the
// combined output and fails the test on a non-zero exit.
func (d *deployment) run(name string, args ...string) string {
	d.t.Helper()
	out, err := d.try(name, args...)
	if err != nil {
		d.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (d *deployment) try(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = d.env
	cmd.Dir = "."
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// dc runs compose on compose.yaml in this project.
func (d *deployment) dc(args ...string) string {
	d.t.Helper()
	return d.run(d.compose[0], d.dcArgs(args...)...)
}

// tryDC is dc that reports a failure instead of failing the test.
func (d *deployment) tryDC(args ...string) (string, error) {
	return d.try(d.compose[0], d.dcArgs(args...)...)
}

func (d *deployment) dcArgs(args ...string) []string {
	files := d.files
	if len(files) == 0 {
		files = []string{"compose.yaml"}
	}
	out := append([]string{}, d.compose[1:]...)
	for _, f := range files {
		out = append(out, "-f", f)
	}
	return append(append(out, "-p", d.project), args...)
}

// downNowAndAtTheEnd removes what an earlier run of the project left, and
// does again when t ends (compose ps first, when it failed), then prints
// the timings: a failed run leaves nothing behind either.
func (d *deployment) downNowAndAtTheEnd(t *testing.T) {
	t.Helper()
	d.tryDC("down", "-v", "--remove-orphans")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := d.tryDC("ps")
			t.Logf("compose ps at the failure:\n%s", out)
		}
		d.tryDC("down", "-v", "--remove-orphans")
		d.printTimings()
	})
}

// liveProject skips the test unless EVSIM_COMPOSE=1 and returns the compose
// project name (EVSIM_COMPOSE_PROJECT, default evsimtest).
func liveProject(t *testing.T) string {
	t.Helper()
	if os.Getenv("EVSIM_COMPOSE") != "1" {
		t.Skip("set EVSIM_COMPOSE=1 to run the deployment in containers (make test-compose)")
	}
	if p := os.Getenv("EVSIM_COMPOSE_PROJECT"); p != "" {
		return p
	}
	return "evsimtest"
}

// container is what docker inspect says about one of the project's containers.
type container struct {
	Service  string
	ID       string
	Status   string // running, exited, restarting...
	Health   string // healthy, starting, unhealthy; "" without a check
	Restarts int
	Pid      int
	ExitCode int
}

func (d *deployment) containers() []container {
	d.t.Helper()
	ids := strings.Fields(d.run("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+d.project))
	if len(ids) == 0 {
		return nil
	}
	var inspected []struct {
		ID     string `json:"Id"`
		Config struct {
			Labels map[string]string
		}
		State struct {
			Status   string
			Pid      int
			ExitCode int
			Health   *struct{ Status string }
		}
		RestartCount int
	}
	if err := json.Unmarshal([]byte(d.run("docker", append([]string{"inspect"}, ids...)...)), &inspected); err != nil {
		d.t.Fatalf("docker inspect: %v", err)
	}
	var cs []container
	for _, in := range inspected {
		c := container{Service: in.Config.Labels["com.docker.compose.service"], ID: in.ID, Status: in.State.Status,
			Restarts: in.RestartCount, Pid: in.State.Pid, ExitCode: in.State.ExitCode}
		if in.State.Health != nil {
			c.Health = in.State.Health.Status
		}
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Service < cs[j].Service })
	return cs
}

func (d *deployment) container(service string) container {
	d.t.Helper()
	for _, c := range d.containers() {
		if c.Service == service {
			return c
		}
	}
	d.t.Fatalf("no container for service %s", service)
	return container{}
}

// oneShot are the services that run once and exit 0 (enrol; certs in the
// secured variant).
var oneShot = map[string]bool{"enrol": true, "certs": true}

// waitHealthy polls until every container of services runs and, where it
// has a health check, is healthy (a one-shot step: exited 0). It returns
// how long that took.
func (d *deployment) waitHealthy(services []string, bound time.Duration) time.Duration {
	d.t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < bound {
		byService := map[string]container{}
		for _, c := range d.containers() {
			byService[c.Service] = c
		}
		var waiting []string
		for _, s := range services {
			c, ok := byService[s]
			switch {
			case !ok:
				waiting = append(waiting, s+"=absent")
			case oneShot[s] && c.Status == "exited" && c.ExitCode != 0:
				d.t.Fatalf("%s exited %d:\n%s", s, c.ExitCode, d.logs(s))
			case oneShot[s] && c.Status == "exited":
				// done, as it should be
			case oneShot[s]:
				waiting = append(waiting, s+"="+c.Status+" (not done yet)")
			case c.Status != "running":
				waiting = append(waiting, s+"="+c.Status)
			case c.Health != "" && c.Health != "healthy":
				waiting = append(waiting, s+"="+c.Health)
			}
		}
		if len(waiting) == 0 {
			return time.Since(start)
		}
		last = strings.Join(waiting, " ")
		time.Sleep(time.Second)
	}
	d.t.Fatalf("not every service running and healthy within %v; still waiting for: %s\n%s", bound, last, d.dc("ps"))
	return 0
}

// chargePoint and network are the parts of Central's API the test reads.
type chargePoint struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

type network struct {
	Totals struct {
		ChargePoints   int            `json:"charge_points"`
		ByState        map[string]int `json:"by_state"`
		ActiveSupplies int            `json:"active_supplies"`
		Tickets        int64          `json:"tickets"`
	} `json:"totals"`
}

// get reads one of Central's JSON endpoints; false while Central does not answer.
func (d *deployment) get(path string, v any) bool {
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(d.api + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	return json.NewDecoder(resp.Body).Decode(v) == nil
}

// states returns each charge point's state on Central's panel.
func (d *deployment) states() map[string]string {
	var cps []chargePoint
	if !d.get("/api/chargepoints", &cps) {
		return nil
	}
	out := map[string]string{}
	for _, cp := range cps {
		out[cp.ID] = cp.State
	}
	return out
}

// waitFor polls cond until it holds or bound passes; it returns how long it took.
func (d *deployment) waitFor(what string, bound time.Duration, cond func() (bool, string)) time.Duration {
	d.t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < bound {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		last = state
		time.Sleep(500 * time.Millisecond)
	}
	d.t.Fatalf("%s: not within %v (last seen: %s)", what, bound, last)
	return 0
}

// serving is a waitFor condition: n charge points ACTIVATED or SUPPLYING
// and more than minTickets tickets.
func (d *deployment) serving(n int, minTickets int64) func() (bool, string) {
	return func() (bool, string) {
		var nw network
		if !d.get("/api/network", &nw) {
			return false, "Central's API does not answer"
		}
		up := nw.Totals.ByState["ACTIVATED"] + nw.Totals.ByState["SUPPLYING"]
		return up >= n && nw.Totals.Tickets > minTickets,
			fmt.Sprintf("%d of %d charge points serving, %d tickets, states %v", up, nw.Totals.ChargePoints, nw.Totals.Tickets, nw.Totals.ByState)
	}
}

func (d *deployment) tickets() int64 {
	var nw network
	if !d.get("/api/network", &nw) {
		return -1
	}
	return nw.Totals.Tickets
}

// logs is one container's whole log (stdout and stderr), across restarts.
func (d *deployment) logs(service string) string {
	d.t.Helper()
	return d.run("docker", "logs", d.container(service).ID)
}

var (
	// A line of ours at ERROR (house format), or of Kafka's log4j at ERROR.
	errorLine = regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (ERROR|FATAL|PANIC) \||\[[^\]]*\] (ERROR|FATAL) )`)
	// Go panics and goroutine dumps, Java exceptions and their frames.
	stackLine = regexp.MustCompile(`(?m)^(panic: |goroutine \d+ \[|\s+\S+\.go:\d+ \+0x|\s+at [\w$.<>/]+\(|Exception in thread |Caused by: )`)
	// The bridge's start-up gate, in the house format (bridge/probe.go):
	// matched loosely, so that a reworded line still counts.
	bridgeWaiting = regexp.MustCompile(`(?mi)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO \| Bridge \| .*waiting for Kafka`)
	bridgeStill   = regexp.MustCompile(`(?mi)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO \| Bridge \| .*(still waiting|attempt \d+)`)
	bridgeReady   = regexp.MustCompile(`(?mi)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| INFO \| Bridge \| .*Kafka.* is ready`)
)

// logReport is what one service's log says.
type logReport struct {
	service                     string
	lines, errors, stacks       int
	waiting, stillWaiting, read int
	firstBad                    string
}

func (d *deployment) logReport(service string) logReport {
	text := d.logs(service)
	r := logReport{service: service, lines: strings.Count(text, "\n")}
	errs := errorLine.FindAllString(text, -1)
	stacks := stackLine.FindAllString(text, -1)
	r.errors, r.stacks = len(errs), len(stacks)
	r.waiting = len(bridgeWaiting.FindAllString(text, -1))
	r.stillWaiting = len(bridgeStill.FindAllString(text, -1))
	r.read = len(bridgeReady.FindAllString(text, -1))
	for _, l := range strings.Split(text, "\n") {
		if errorLine.MatchString(l) || stackLine.MatchString(l) {
			r.firstBad = l
			break
		}
	}
	return r
}

// usesKafka: the roles with a bridge (a monitor talks only over the actor remote).
func usesKafka(service string) bool {
	return service == "central" || service == "registry" || strings.HasPrefix(service, "engine-") || strings.HasPrefix(service, "driver-")
}

// checkLogs prints each service's figures and fails on any ERROR line or
// stack trace, or a Kafka user without the bridge's waiting and ready lines.
// mustWait also wants "Still waiting" progress lines (a late broker).
func (d *deployment) checkLogs(label string, services []string, mustWait bool) {
	d.t.Helper()
	d.t.Logf("%s: logs per service (lines, ERROR lines, stack-trace lines, bridge waiting/still-waiting/ready lines)", label)
	for _, s := range services {
		r := d.logReport(s)
		d.t.Logf("  %-16s %5d lines  %d ERROR  %d stack  bridge %d/%d/%d", s, r.lines, r.errors, r.stacks, r.waiting, r.stillWaiting, r.read)
		if r.errors > 0 || r.stacks > 0 {
			d.t.Errorf("%s: %s logged %d ERROR and %d stack-trace lines; first: %s", label, s, r.errors, r.stacks, r.firstBad)
		}
		if usesKafka(s) && (r.waiting == 0 || r.read == 0) {
			d.t.Errorf("%s: %s has no bridge waiting/ready lines in the house format", label, s)
		}
		if mustWait && usesKafka(s) && r.stillWaiting == 0 {
			d.t.Errorf("%s: %s started before Kafka but logged no \"Still waiting for Kafka\" progress line", label, s)
		}
	}
}

// services lists compose.yaml's services.
func (d *deployment) services() []string {
	d.t.Helper()
	return strings.Fields(d.dc("config", "--services"))
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// running is a waitFor condition: every container of services runs.
func (d *deployment) running(services []string) func() (bool, string) {
	return func() (bool, string) {
		byService := map[string]string{}
		for _, c := range d.containers() {
			byService[c.Service] = c.Status
		}
		var waiting []string
		for _, s := range services {
			if byService[s] != "running" {
				waiting = append(waiting, s+"="+byService[s])
			}
		}
		return len(waiting) == 0, strings.Join(waiting, " ")
	}
}

// supplying is a waitFor condition: a charge point is supplying.
func (d *deployment) supplying() (bool, string) {
	var nw network
	if !d.get("/api/network", &nw) {
		return false, "Central's API does not answer"
	}
	return nw.Totals.ActiveSupplies > 0, fmt.Sprintf("states %v", nw.Totals.ByState)
}

// cpState is a waitFor condition: charge point id is in one of states.
func (d *deployment) cpState(id string, states ...string) func() (bool, string) {
	return func() (bool, string) {
		got := d.states()[id]
		for _, s := range states {
			if got == s {
				return true, got
			}
		}
		return false, id + " is " + got
	}
}

// killMainProcess kills the container's evnode process with SIGKILL, as a
// crash would: its init (tini) ends the container, and the restart policy
// (not a manual stop) brings it back.
func (d *deployment) killMainProcess(c container) {
	d.t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", c.Pid, c.Pid))
	if err != nil || len(strings.Fields(string(raw))) == 0 {
		d.t.Fatalf("cannot find the main process of %s (init pid %d): %v", c.Service, c.Pid, err)
	}
	pid, _ := strconv.Atoi(strings.Fields(string(raw))[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		d.t.Fatalf("kill -9 %d (%s): %v", pid, c.Service, err)
	}
}

var (
	supplyStarted      = regexp.MustCompile(`(?m)^.*\| INFO \| .*\| Supplying .*session_id=(\S+)`)
	deniedDisconnected = regexp.MustCompile(`(?m)^.*\| INFO \| Central \| Denied \S+ at \S+: disconnected`)
	ticketIssued       = regexp.MustCompile(`(?m)^.*\| INFO \| Central \| Ticket for .*session_id=(\S+)`)
)

// ledger counts, by session id, the supplies the engines started and the
// tickets Central issued, from their logs (kept across restarts).
func (d *deployment) ledger() (started, ticketed map[string]int) {
	d.t.Helper()
	started, ticketed = map[string]int{}, map[string]int{}
	for i := 1; i <= 5; i++ {
		for _, m := range supplyStarted.FindAllStringSubmatch(d.logs(fmt.Sprintf("engine-cp-%03d", i)), -1) {
			started[m[1]]++
		}
	}
	for _, m := range ticketIssued.FindAllStringSubmatch(d.logs("central"), -1) {
		ticketed[m[1]]++
	}
	return started, ticketed
}

// everySupplyTicketed waits until each supply the engines had started by
// the fault (the ones under way included) has its ticket from Central:
// nothing lost across the fault. It prints the figures.
func (d *deployment) everySupplyTicketed(label string, atFault map[string]int) {
	d.t.Helper()
	d.everySupplyTicketedIn(label, atFault, d.ledger)
}

// everySupplyTicketedIn is everySupplyTicketed with the tickets of ledger.
func (d *deployment) everySupplyTicketedIn(label string, atFault map[string]int, ledger func() (started, ticketed map[string]int)) {
	d.t.Helper()
	took := d.waitFor(label+": a ticket for every supply started before the fault", 2*time.Minute, func() (bool, string) {
		_, ticketed := ledger()
		var missing []string
		for sid := range atFault {
			if ticketed[sid] == 0 {
				missing = append(missing, sid)
			}
		}
		return len(missing) == 0, fmt.Sprintf("%d of %d without a ticket: %v", len(missing), len(atFault), missing)
	})
	d.t.Logf("%s: %d supplies started before the fault, %d tickets for them (all there %.1f s after recovery)", label, len(atFault), len(atFault), took.Seconds())
}

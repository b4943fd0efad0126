package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/testutil"
)

// partitionCPs is the size of the partitioned site node; partitionLiveness
// is Central's --liveness-timeout; a supply lasts partitionSupply, long
// enough that the supplies running when the link is cut are still running
// on their engines when Central gives their charge points up.
const (
	partitionCPs      = 20
	partitionLiveness = 3 * time.Second
	partitionSupply   = 10 * time.Second
	// partitionHealBound is how soon after the heal Central must hear the
	// node again: what redialling costs (--remote-dial-timeout, protoactor's
	// 2 s pause after a failed dial, the next liveness message), with room
	// for a loaded machine; a node that waits out TCP's back-off is later.
	partitionHealBound = 10 * time.Second
)

// TestSiteNodePartitionHealsWithNothingLost puts one `evnode site` node in
// a network namespace of its own, joined to the broker and Central by a
// veth pair, and cuts that link (iptables DROP of what arrives at each
// end: packets vanish, no connection is refused) under load, for longer
// than Central's liveness timeout: its charge points go DISCONNECTED on
// Central, as rules.md says of a silent monitor. Healed when TCP has just
// backed off, they are all ACTIVATED again within partitionHealBound (the
// node dials Central again rather than wait for TCP) and supplies go on; every supply an engine started ends with exactly one
// ticket and every ticket is for such a supply, and each node says each
// node-level event in one clean line. Needs root (ip netns, iptables).
func TestSiteNodePartitionHealsWithNothingLost(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	// Names and addresses of this process alone: two runs at once (two
	// worktrees, or a loop beside the suite) must not remove each other's.
	name, rootIP, siteIP := partitionNames(os.Getpid())
	ns := newPartitionedNetns(t, name, rootIP, siteIP)
	s := &siteRun{harness: newHarness(t), http: freeAddr(t), pattern: "CP-P%02d"}
	// The nodes run ahead of the rest of a loaded machine: the test judges
	// what a partition does, not what a starved process does.
	s.favoured = true
	// The broker and Central listen on the root side of the veth pair:
	// reachable from the namespace, and locally from the root namespace
	// whatever happens on the link.
	s.brokers = onHost(ns.rootIP, freeAddr(t))
	central := onHost(ns.rootIP, freeAddr(t))
	s.nodes[0] = onHost(ns.siteIP, freeAddr(t))
	env := append(nodeKafkaEnv(s.brokers), "EVSIM_ENCRYPTION=off")
	s.add("broker", nil, "broker", "--listen", s.brokers, "--data-dir", filepath.Join(s.dir, "kafka"))
	s.add("central", env, "central", "--listen", central, "--http", s.http, "--db", filepath.Join(s.dir, "central.db"),
		"--liveness-timeout", partitionLiveness.String(), "--start-timeout", "10s", "--request-ttl", "4s")
	s.addBinary("site", ns.ip, env, "netns", "exec", ns.name, s.bin, "site", "--central", central, "--listen", s.nodes[0],
		"--first", "1", "--count", fmt.Sprint(partitionCPs), "--id-pattern", s.pattern,
		"--key-file", filepath.Join(s.dir, "site.key"), "--journal-dir", filepath.Join(s.dir, "site-engines"),
		"--supply-duration", partitionSupply.String(), "--telemetry-interval", "500ms",
		"--health-interval", "1s", "--health-timeout", "900ms")
	s.add("drivers", env, "drivers", "--count", "10", "--id-pattern", "driver-%02d",
		"--cp-first", "1", "--cp-count", fmt.Sprint(partitionCPs), "--cp-pattern", s.pattern, "--requests-per-driver", "500",
		"--progress-dir", filepath.Join(s.dir, "drivers"), "--driver-pause", "300ms", "--reply-timeout", "4s")
	s.start("broker")
	if out, err := testutil.Command(t, s.bin, "wait-kafka", "--brokers", s.brokers, "--kafka-wait-attempts", "100", "--kafka-wait-seconds", "0.2").CombinedOutput(); err != nil {
		s.fail("Kafka at %s: %v\n%s", s.brokers, err, out)
	}
	s.from = map[string]map[int32]int64{
		bridge.TopicStatus:  endsOf(t, s.brokers, bridge.TopicStatus),
		bridge.TopicTickets: endsOf(t, s.brokers, bridge.TopicTickets),
	}
	for _, n := range []string{"central", "site", "drivers"} {
		s.start(n)
	}
	var cps []string
	for n := 1; n <= partitionCPs; n++ {
		cps = append(cps, s.cp(n))
	}
	s.eventually(60*time.Second, "the namespaced node's charge points ACTIVATED on Central", func() (bool, string) {
		return s.inStates(cps, "ACTIVATED", "SUPPLYING")
	})
	// The cut falls on supplies that have most of their time still to
	// run: their engines go on supplying while Central gives them up.
	var fresh []string
	s.eventually(60*time.Second, "tickets, and supplies that began a moment ago", func() (bool, string) {
		n, view := s.tickets(cps, 0), chargePoints(s.http)
		fresh = fresh[:0]
		for _, id := range cps {
			if cp := view[id]; cp.Session != nil && cp.Session.StartedAt != nil && time.Since(*cp.Session.StartedAt) < partitionSupply/3 {
				fresh = append(fresh, id)
			}
		}
		return n >= 3 && len(fresh) >= 2, fmt.Sprintf("%d tickets, %d fresh supplies: %s", n, len(fresh), describe(view))
	})

	// Cut: the node hears nobody and nobody hears it.
	centralLog, siteLog := s.mark("central"), s.mark("site")
	ns.cut(t)
	cut := time.Now()
	s.eventually(30*time.Second, "the partitioned node's charge points DISCONNECTED", func() (bool, string) {
		return s.inStates(cps, "DISCONNECTED")
	})
	t.Logf("link cut with supplies running at %v: all %d charge points DISCONNECTED after %v", fresh, partitionCPs, time.Since(cut).Round(100*time.Millisecond))
	// Stay cut past one more liveness timeout: the node is well beyond
	// any grace on both sides (polled, so a loaded machine waits longer).
	// EVSIM_E2E_PARTITION_HOLD holds it longer, to move the heal against
	// TCP's retransmission times (scripts/partition-heal.sh sweeps it).
	hold := partitionHold(t)
	held := time.Now()
	s.eventually(hold+2*partitionLiveness, "the cut held one more liveness timeout", func() (bool, string) {
		return time.Since(held) > hold, "still DISCONNECTED"
	})
	if ok, seen := s.inStates(cps, "DISCONNECTED"); !ok {
		s.fail("a charge point of the cut node left DISCONNECTED while cut: %s", seen)
	}

	// Heal at the worst moment for a node that keeps its connection to
	// Central through the cut: just after TCP backed off on it, more than
	// partitionHealBound before it sends again. A node that dropped that
	// connection is healed at once.
	s.eventually(30*time.Second, "TCP backed off on the node's connection to Central", func() (bool, string) {
		next, retransmitting := ns.nextRetransmission(t, central)
		return !retransmitting || next > partitionHealBound+time.Second, fmt.Sprintf("it retransmits in %v", next)
	})
	// Heal: every charge point comes back and takes supplies again.
	seq := s.lastSeq()
	ns.heal(t)
	healed := time.Now()
	s.eventually(45*time.Second, "the healed node's charge points ACTIVATED again", func() (bool, string) {
		return s.inStates(cps, "ACTIVATED", "SUPPLYING")
	})
	back := time.Since(healed)
	t.Logf("link healed after %v cut: all ACTIVATED again %v later", healed.Sub(cut).Round(100*time.Millisecond),
		back.Round(100*time.Millisecond))
	if back > partitionHealBound {
		s.fail("the healed node's charge points were ACTIVATED again %v after the heal, want within %v: the node waited for TCP's retransmission back-off instead of dialling Central again",
			back.Round(100*time.Millisecond), partitionHealBound)
	}
	s.eventually(45*time.Second, "new tickets after the heal", func() (bool, string) {
		n := s.tickets(cps, seq)
		return n >= 3, fmt.Sprintf("%d tickets since the heal", n)
	})

	// The drivers stop; the supplies under way end; then nothing is lost.
	if code := s.stop("drivers", 20*time.Second); code != 0 {
		s.fail("drivers exited %d after SIGTERM", code)
	}
	s.eventually(60*time.Second, "no supply running on Central", func() (bool, string) {
		view := chargePoints(s.http)
		if view == nil {
			return false, "Central does not answer"
		}
		running := 0
		for _, id := range cps {
			if cp, ok := view[id]; !ok || cp.Session != nil {
				running++
			}
		}
		return running == 0, fmt.Sprintf("%d supplies running", running)
	})
	s.eventually(20*time.Second, "every supply started has exactly one ticket, every ticket a supply", func() (bool, string) {
		return s.ticketPerSupply(cps)
	})
	_, seen := s.ticketPerSupply(cps)
	if n := s.interrupted(cps); n == 0 {
		s.fail("no supply was ended by the partition (MONITOR_LOST ticket): the cut proved nothing; %s", seen)
	} else {
		t.Logf("nothing lost: %s; %d supplies ended by the partition, each ticketed once", seen, n)
	}

	// One clean line per node-level event, on both sides of the cut.
	during := s.since(centralLog)
	if n := strings.Count(during, "charge points DISCONNECTED"); n != 1 {
		s.fail("Central said the node's charge points DISCONNECTED in %d lines, want 1:\n%s", n, during)
	}
	site := s.since(siteLog)
	for _, line := range []string{"Cannot reach Central", "is reachable again"} {
		if n := strings.Count(site, line); n != 1 {
			s.fail("the site node said %q in %d lines, want 1:\n%s", line, n, site)
		}
	}
	// The bridge may or may not miss the broker in a short cut, and a
	// connection the broker closed during the cut may fail once more
	// after it: each outage is one WARN and one INFO when it ends.
	if lost, back := strings.Count(site, "Lost Kafka"), strings.Count(site, "is back; sending"); back != lost {
		s.fail("the site node's bridge said Kafka was lost %d times and back %d times, want one line each per outage:\n%s", lost, back, site)
	}
	for _, n := range []string{"site", "central"} {
		if code := s.stop(n, 30*time.Second); code != 0 {
			s.fail("%s exited %d after SIGTERM", n, code)
		}
	}
	for _, n := range []string{"site", "central", "drivers"} {
		if bad := badLines(s.log(n, -1)); len(bad) > 0 {
			s.fail("%s logged %d ERROR or stack lines:\n%s", n, len(bad), strings.Join(bad, "\n"))
		}
	}
}

// partitionHold is how long the cut stays after the charge points went
// DISCONNECTED: EVSIM_E2E_PARTITION_HOLD (a Go duration, at least
// partitionLiveness), else partitionLiveness.
func partitionHold(t *testing.T) time.Duration {
	v := os.Getenv("EVSIM_E2E_PARTITION_HOLD")
	if v == "" {
		return partitionLiveness
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < partitionLiveness {
		t.Fatalf("EVSIM_E2E_PARTITION_HOLD=%q: want a Go duration of at least %v", v, partitionLiveness)
	}
	return d
}

// partitionNames are a namespace name (short enough for its veth names)
// and the two addresses of a /30 in 10.251.0.0/16, both picked by pid.
func partitionNames(pid int) (name, rootIP, siteIP string) {
	block := pid % (256 * 64) // 64 blocks of /30 per third octet
	third, base := block/64, (block%64)*4
	return fmt.Sprintf("evp%d", pid%100000), fmt.Sprintf("10.251.%d.%d", third, base+1), fmt.Sprintf("10.251.%d.%d", third, base+2)
}

// partitionedNetns is a network namespace joined to the root namespace by
// a veth pair: rootIP on the root side, siteIP inside, one /30.
type partitionedNetns struct {
	name, ip         string // ip: the ip(8) binary
	rootVeth, inVeth string
	rootIP, siteIP   string
}

// newPartitionedNetns makes the namespace, or skips the test where it
// cannot (not root, no ip netns or iptables); the namespace and its veth
// pair go when the test ends, however it ends, and a leftover of an
// earlier run is removed first.
func newPartitionedNetns(t *testing.T, name, rootIP, siteIP string) *partitionedNetns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: puts a site node in its own network namespace (ip netns, iptables)")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("needs ip(8) from iproute2 for a network namespace")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables to cut the namespace's link")
	}
	ns := &partitionedNetns{name: name, ip: ip, rootVeth: name + "-r", inVeth: name + "-n", rootIP: rootIP, siteIP: siteIP}
	ns.remove()
	if out, err := testutil.Command(t, ip, "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns is unavailable here: %v: %s", err, out)
	}
	t.Cleanup(ns.remove)
	ns.run(t, ip, "link", "add", ns.rootVeth, "type", "veth", "peer", "name", ns.inVeth, "netns", name)
	ns.run(t, ip, "addr", "add", rootIP+"/30", "dev", ns.rootVeth)
	ns.run(t, ip, "link", "set", ns.rootVeth, "up")
	ns.run(t, ip, "-n", name, "addr", "add", siteIP+"/30", "dev", ns.inVeth)
	ns.run(t, ip, "-n", name, "link", "set", ns.inVeth, "up")
	ns.run(t, ip, "-n", name, "link", "set", "lo", "up")
	return ns
}

// dropRules are the iptables rules that cut the link: each end drops
// what arrives from the other, so that packets are lost on the way, as on
// a network that fails. (Dropping in OUTPUT instead fails the sender's own
// writes at once, which TCP treats as local congestion and retries as soon
// as the application writes again: a kinder cut than a real one.) Each
// rule is the command line to run in the root namespace.
func (ns *partitionedNetns) dropRules(op string) [][]string {
	return [][]string{
		{ns.ip, "netns", "exec", ns.name, "iptables", op, "INPUT", "-i", ns.inVeth, "-j", "DROP"},
		{"iptables", op, "INPUT", "-i", ns.rootVeth, "-j", "DROP"},
	}
}

// cut drops every packet on the namespace's link, both ways, silently.
func (ns *partitionedNetns) cut(t *testing.T) {
	t.Helper()
	for _, rule := range ns.dropRules("-I") {
		ns.run(t, rule[0], rule[1:]...)
	}
}

// heal removes what cut added.
func (ns *partitionedNetns) heal(t *testing.T) {
	t.Helper()
	for _, rule := range ns.dropRules("-D") {
		ns.run(t, rule[0], rule[1:]...)
	}
}

// nextRetransmission is how long until TCP retransmits on the namespace's
// established connection to addr (HOST:PORT), the soonest of several;
// retransmitting is false when none is retransmitting. It reads the
// namespace's /proc/net/tcp: "rem_address st ... tr:tm->when", the timer
// in clock ticks (1/100 s), tr 1 the retransmission timer.
func (ns *partitionedNetns) nextRetransmission(t *testing.T, addr string) (next time.Duration, retransmitting bool) {
	t.Helper()
	out, err := testutil.Command(t, ns.ip, "netns", "exec", ns.name, "cat", "/proc/net/tcp").Output()
	if err != nil {
		t.Fatalf("read the namespace's /proc/net/tcp: %v", err)
	}
	_, port, _ := net.SplitHostPort(addr)
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	remote := fmt.Sprintf(":%04X", p)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || !strings.HasSuffix(f[2], remote) || f[3] != "01" || !strings.HasPrefix(f[5], "01:") {
			continue
		}
		var ticks int64
		if _, err := fmt.Sscanf(f[5][3:], "%x", &ticks); err != nil {
			continue
		}
		if d := time.Duration(ticks) * 10 * time.Millisecond; !retransmitting || d < next {
			next, retransmitting = d, true
		}
	}
	return next, retransmitting
}

func (ns *partitionedNetns) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := testutil.Command(t, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// remove deletes the namespace (its end of the veth pair, and so the
// pair, goes with it) and the root end in case the namespace was gone.
// The root namespace's drop rule goes too. It runs in t.Cleanup, hence plain exec (ip ends at once).
func (ns *partitionedNetns) remove() {
	root := ns.dropRules("-D")[1]
	for range 3 { // a cut left in place, by as many runs that failed
		_ = exec.Command(root[0], root[1:]...).Run()
	}
	_ = exec.Command(ns.ip, "netns", "del", ns.name).Run()
	_ = exec.Command(ns.ip, "link", "del", ns.rootVeth).Run()
}

// onHost is addr (HOST:PORT) with its host replaced.
func onHost(host, addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, port)
}

package e2e

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// TestEvnodeSiteNodes runs the network as nodes that host many charge points
// each: `evnode broker`, `evnode central`, two `evnode site` nodes of 50
// charge points and `evnode drivers --count 20`. All 100 charge points are
// ACTIVATED and supplies run; kill -9 of one site node turns its charge
// points DISCONNECTED while the other node's go on; restarted, they come
// back; at the end every supply started has exactly one ticket.
func TestEvnodeSiteNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	runSiteNodes(t, "")
}

// TestIntegrationEvnodeSiteNodesKafka is the same on the real Apache Kafka
// of the integration suite; ids and groups carry a run id.
func TestIntegrationEvnodeSiteNodesKafka(t *testing.T) {
	brokers := suiteKafka(t)
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	runSiteNodes(t, brokers)
}

const (
	siteCPs     = 50 // per site node
	siteDrivers = 20
	siteSupply  = 3 * time.Second
)

type siteRun struct {
	*harness
	brokers string
	http    string
	pattern string
	nodes   [2]string // the site nodes' remote addresses
	// from is where cp.status and driver.tickets ended before the run.
	from map[string]map[int32]int64
}

func (s *siteRun) cp(n int) string { return fmt.Sprintf(s.pattern, n) }

// nodeCPs lists the charge points of site node 0 or 1.
func (s *siteRun) nodeCPs(node int) []string {
	var ids []string
	for n := node*siteCPs + 1; n <= (node+1)*siteCPs; n++ {
		ids = append(ids, s.cp(n))
	}
	return ids
}

func runSiteNodes(t *testing.T, realBrokers string) {
	s := &siteRun{harness: newHarness(t), http: freeAddr(t), pattern: "CP-%03d"}
	run, central := "", freeAddr(t)
	if realBrokers != "" {
		run = runID()
		s.brokers = realBrokers
		s.pattern = "CP-" + run + "-%03d"
	} else {
		s.brokers = freeAddr(t)
		s.add("broker", nil, "broker", "--listen", s.brokers, "--data-dir", filepath.Join(s.dir, "kafka"))
		s.start("broker")
	}
	// The test reads supplies started on cp.status as kcat would, so the
	// records travel in clear; the sealed network's invariant is proven in
	// actors/network (seal_chaos_test.go).
	env := append(nodeKafkaEnv(s.brokers), "EVSIM_ENCRYPTION=off")
	group := func(g string) string {
		if run == "" {
			return g
		}
		return g + "-" + run
	}
	s.add("central", env, "central", "--listen", central, "--http", s.http, "--db", filepath.Join(s.dir, "central.db"),
		"--group", group("central"), "--liveness-timeout", "3s", "--start-timeout", "10s", "--request-ttl", "4s")
	for node := 0; node < 2; node++ {
		name := fmt.Sprintf("site-%d", node+1)
		s.nodes[node] = freeAddr(t)
		s.add(name, env, "site", "--central", central, "--listen", s.nodes[node],
			"--first", fmt.Sprint(node*siteCPs+1), "--count", fmt.Sprint(siteCPs), "--id-pattern", s.pattern,
			"--location", "Street {n}", "--price", "0.35",
			"--key-file", filepath.Join(s.dir, name+".key"), "--journal-dir", filepath.Join(s.dir, name+"-engines"),
			"--supply-duration", siteSupply.String(), "--telemetry-interval", "500ms",
			"--health-interval", "500ms", "--health-timeout", "450ms")
	}
	s.add("drivers", env, "drivers", "--count", fmt.Sprint(siteDrivers), "--id-pattern", group("driver")+"-%02d",
		"--cp-first", "1", "--cp-count", fmt.Sprint(2*siteCPs), "--cp-pattern", s.pattern, "--requests-per-driver", "500",
		"--progress-dir", filepath.Join(s.dir, "drivers"), "--driver-pause", "500ms", "--reply-timeout", "4s")
	if out, err := testutil.Command(t, s.bin, "wait-kafka", "--brokers", s.brokers, "--kafka-wait-attempts", "100", "--kafka-wait-seconds", "0.2").CombinedOutput(); err != nil {
		t.Fatalf("Kafka at %s: %v\n%s", s.brokers, err, out)
	}
	// Only this run's records count (a real Kafka holds earlier runs').
	s.from = map[string]map[int32]int64{
		bridge.TopicStatus:  endsOf(t, s.brokers, bridge.TopicStatus),
		bridge.TopicTickets: endsOf(t, s.brokers, bridge.TopicTickets),
	}
	for _, n := range []string{"central", "site-1", "site-2", "drivers"} {
		s.start(n)
	}

	all := append(s.nodeCPs(0), s.nodeCPs(1)...)
	s.eventually(90*time.Second, "all 100 charge points ACTIVATED on Central", func() (bool, string) {
		return s.inStates(all, "ACTIVATED", "SUPPLYING")
	})
	s.eventually(10*time.Second, "/api/cluster lists both site nodes with 50 connected charge points each", func() (bool, string) {
		return s.clusterIs(siteCPs, siteCPs)
	})
	began := time.Now()
	s.eventually(60*time.Second, "tickets on both nodes' charge points", func() (bool, string) {
		a, b := s.tickets(s.nodeCPs(0), 0), s.tickets(s.nodeCPs(1), 0)
		return a >= 3 && b >= 3, fmt.Sprintf("%d and %d tickets", a, b)
	})
	t.Logf("supplies flow: tickets on both nodes %v after all were ACTIVATED", time.Since(began).Round(100*time.Millisecond))

	// kill -9 of site-1 with supplies running there (else the kill proves
	// nothing): its charge points go DISCONNECTED, site-2's go on.
	s.eventually(30*time.Second, "supplies running at site-1", func() (bool, string) {
		cps := chargePoints(s.http)
		running := 0
		for _, id := range s.nodeCPs(0) {
			if cps[id].State == "SUPPLYING" {
				running++
			}
		}
		return running >= 2, fmt.Sprintf("%d supplies running at site-1", running)
	})
	seq := s.lastSeq()
	s.kill("site-1")
	killed := time.Now()
	s.eventually(20*time.Second, "site-1's charge points DISCONNECTED", func() (bool, string) {
		return s.inStates(s.nodeCPs(0), "DISCONNECTED")
	})
	t.Logf("site-1 killed: its %d charge points DISCONNECTED after %v", siteCPs, time.Since(killed).Round(100*time.Millisecond))
	ticketsB := s.tickets(s.nodeCPs(1), seq)
	s.eventually(30*time.Second, "new tickets on site-2 while site-1 is down", func() (bool, string) {
		n := s.tickets(s.nodeCPs(1), seq)
		return n >= ticketsB+3, fmt.Sprintf("%d tickets on site-2 since the kill", n)
	})
	if ok, seen := s.inStates(s.nodeCPs(1), "ACTIVATED", "SUPPLYING"); !ok {
		s.fail("site-2's charge points while site-1 is down: %s", seen)
	}
	s.noDisconnection(s.nodeCPs(1), 0)
	s.eventually(10*time.Second, "/api/cluster shows site-1 with none connected", func() (bool, string) {
		return s.clusterIs(0, siteCPs)
	})

	// Restarted, site-1's charge points are back, with their old secrets.
	seq = s.lastSeq()
	s.start("site-1")
	restarted := time.Now()
	s.eventually(60*time.Second, "site-1's charge points ACTIVATED again", func() (bool, string) {
		return s.inStates(s.nodeCPs(0), "ACTIVATED", "SUPPLYING")
	})
	t.Logf("site-1 restarted: its charge points ACTIVATED after %v", time.Since(restarted).Round(100*time.Millisecond))
	s.eventually(10*time.Second, "/api/cluster lists both site nodes connected again", func() (bool, string) {
		return s.clusterIs(siteCPs, siteCPs)
	})
	s.eventually(60*time.Second, "new tickets on site-1 after its restart", func() (bool, string) {
		n := s.tickets(s.nodeCPs(0), seq)
		return n >= 3, fmt.Sprintf("%d tickets on site-1 since its restart", n)
	})

	// The drivers stop; the supplies under way end; then the invariant.
	if code := s.stop("drivers", 20*time.Second); code != 0 {
		s.fail("drivers exited %d after SIGTERM", code)
	}
	s.eventually(30*time.Second, "no supply running on Central", func() (bool, string) {
		cps := chargePoints(s.http)
		running := 0
		for _, id := range all {
			if cp, ok := cps[id]; !ok || cp.Session != nil {
				running++
			}
		}
		return cps != nil && running == 0, fmt.Sprintf("%d supplies running", running)
	})
	s.eventually(20*time.Second, "every supply started has exactly one ticket", func() (bool, string) {
		return s.ticketPerSupply(all)
	})
	_, seen := s.ticketPerSupply(all)
	t.Logf("invariant holds: %s", seen)
	if n := s.interrupted(s.nodeCPs(0)); n == 0 {
		s.fail("no supply of site-1 was interrupted by the kill (ENGINE_RESTART or MONITOR_LOST ticket): the kill proved nothing")
	} else {
		t.Logf("%d supplies of site-1 were interrupted by the kill and ticketed once", n)
	}
	for _, n := range []string{"site-1", "site-2", "central"} {
		if code := s.stop(n, 30*time.Second); code != 0 {
			s.fail("%s exited %d after SIGTERM", n, code)
		}
	}
	for _, n := range []string{"site-1", "site-2", "central", "drivers"} {
		if bad := badLines(s.log(n, -1)); len(bad) > 0 {
			s.fail("%s logged %d ERROR or stack lines:\n%s", n, len(bad), strings.Join(bad, "\n"))
		}
	}
}

// clusterIs says whether Central's /api/cluster lists the two site nodes,
// each with its 50 charge points, connected1 and connected2 of them connected.
func (s *siteRun) clusterIs(connected1, connected2 int) (bool, string) {
	var c struct {
		Central struct{ Address string }
		Nodes   []struct {
			Address      string
			ChargePoints int `json:"charge_points"`
			Connected    int
		}
	}
	if err := getJSON("http://"+s.http+"/api/cluster", &c); err != nil {
		return false, err.Error()
	}
	want := map[string]int{s.nodes[0]: connected1, s.nodes[1]: connected2}
	ok := c.Central.Address != "" && len(c.Nodes) >= 2
	for _, n := range c.Nodes {
		if w, ours := want[n.Address]; ours && (n.ChargePoints != siteCPs || n.Connected != w) {
			ok = false
		}
		delete(want, n.Address)
	}
	return ok && len(want) == 0, fmt.Sprintf("%+v", c)
}

// inStates says whether every charge point of ids is in one of states on Central.
func (s *siteRun) inStates(ids []string, states ...string) (bool, string) {
	cps := chargePoints(s.http)
	if cps == nil {
		return false, "Central does not answer"
	}
	count := map[string]int{}
	for _, id := range ids {
		count[cps[id].State]++
	}
	in := 0
	for _, st := range states {
		in += count[st]
	}
	return in == len(ids), fmt.Sprint(count)
}

// lastSeq is the sequence number of Central's newest event.
func (s *siteRun) lastSeq() uint64 {
	var last uint64
	for since := uint64(0); ; {
		page := events(s.http, since)
		if len(page) == 0 {
			return last
		}
		last = page[len(page)-1].Seq
		since = last
	}
}

// tickets counts Central's ticket events for ids after seq.
func (s *siteRun) tickets(ids []string, after uint64) int {
	return s.countEvents(ids, after, "ticket")
}

func (s *siteRun) countEvents(ids []string, after uint64, kind string) int {
	ours := map[string]bool{}
	for _, id := range ids {
		ours[id] = true
	}
	n := 0
	for since := after; ; {
		page := events(s.http, since)
		if len(page) == 0 {
			return n
		}
		for _, e := range page {
			if e.Kind == kind && ours[e.CPID] {
				n++
			}
		}
		since = page[len(page)-1].Seq
	}
}

// noDisconnection fails when Central's feed shows one of ids DISCONNECTED after seq.
func (s *siteRun) noDisconnection(ids []string, after uint64) {
	s.t.Helper()
	ours := map[string]bool{}
	for _, id := range ids {
		ours[id] = true
	}
	for since := after; ; {
		page := events(s.http, since)
		if len(page) == 0 {
			return
		}
		for _, e := range page {
			if ours[e.CPID] && strings.Contains(e.Text, "DISCONNECTED") {
				s.fail("%s went DISCONNECTED though its node runs: %s", e.CPID, e.Text)
			}
		}
		since = page[len(page)-1].Seq
	}
}

// ticketPerSupply compares the supplies the engines started (SupplyStarted
// on cp.status) with the tickets on driver.tickets, for ids: every supply
// has exactly one ticket and every ticket a supply.
func (s *siteRun) ticketPerSupply(ids []string) (bool, string) {
	ours := map[string]bool{}
	for _, id := range ids {
		ours[id] = true
	}
	started := map[string]bool{}
	for _, m := range readTopic(s.t, s.brokers, bridge.TopicStatus, s.from[bridge.TopicStatus]) {
		if st, ok := m.(*messages.SupplyStarted); ok && ours[st.GetCpId()] {
			started[st.GetSessionId()] = true
		}
	}
	tickets := map[string]int{}
	for _, m := range readTopic(s.t, s.brokers, bridge.TopicTickets, s.from[bridge.TopicTickets]) {
		if tk, ok := m.(*messages.Ticket); ok && ours[tk.GetCpId()] {
			tickets[tk.GetSessionId()]++
		}
	}
	var wrong []string
	for sid := range started {
		if tickets[sid] != 1 {
			wrong = append(wrong, fmt.Sprintf("%s: %d tickets", sid, tickets[sid]))
		}
	}
	for sid := range tickets {
		if !started[sid] {
			wrong = append(wrong, sid+": a ticket for a supply no engine started")
		}
	}
	sort.Strings(wrong)
	return len(wrong) == 0 && len(started) > 0, fmt.Sprintf("%d supplies, %d tickets; %v", len(started), len(tickets), wrong)
}

// interrupted counts the tickets of ids that a kill ended (the restarted
// engine's report, or Central's for a lost monitor).
func (s *siteRun) interrupted(ids []string) int {
	ours := map[string]bool{}
	for _, id := range ids {
		ours[id] = true
	}
	n := 0
	for _, m := range readTopic(s.t, s.brokers, bridge.TopicTickets, s.from[bridge.TopicTickets]) {
		if tk, ok := m.(*messages.Ticket); ok && ours[tk.GetCpId()] {
			switch tk.GetReason() {
			case messages.EndReason_END_REASON_ENGINE_RESTART, messages.EndReason_END_REASON_MONITOR_LOST:
				n++
			}
		}
	}
	return n
}

// endsOf returns where topic ends now, per partition (empty when it does not exist yet).
func endsOf(t *testing.T, brokers, topic string) map[int32]int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	// A topic not there yet is the nodes' to create (with their
	// --partitions), not this probe's with the broker's num.partitions.
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(strings.Split(brokers, ","), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	out := map[int32]int64{}
	parts, err := client.Partitions(topic)
	if err != nil {
		return out
	}
	// A topic made a moment ago may have no leader yet (a cluster of several
	// brokers elects one): poll its metadata until each partition answers.
	deadline := time.Now().Add(30 * time.Second)
	for _, p := range parts {
		for out[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil; out[p], err = client.GetOffset(topic, p, sarama.OffsetNewest) {
			if time.Now().After(deadline) {
				t.Fatalf("%s partition %d: %v", topic, p, err)
			}
			time.Sleep(200 * time.Millisecond) // polling the broker until the partition has a leader
			_ = client.RefreshMetadata(topic)
		}
	}
	return out
}

// readTopic decodes topic's records from the given offsets (the start of a
// partition not named) to its end (readRecords, in centralgroup_test.go).
func readTopic(t *testing.T, brokers, topic string, from map[int32]int64) []any {
	t.Helper()
	out, err := readRecords(brokers, topic, from)
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return out
}

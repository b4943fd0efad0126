package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// TestFailoverOfOneCentralOfThree runs three `evnode central --shared-group`
// of one group on the embedded broker (`evnode broker`), two site nodes of
// 20 charge points that know all three Centrals, and 12 drivers. The three
// share the partitions (each /api/cluster lists all three and what they
// own, with no partition twice); every charge point is ACTIVATED at its
// owner. kill -9 of one Central: within 10 s its partitions are the
// survivors' and its charge points ACTIVATED there again; at the end every
// supply the engines started has exactly one ticket and no request was
// answered twice. The killed Central, started again, takes a share again.
func TestFailoverOfOneCentralOfThree(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	runCentralFailover(t, "", false)
}

// TestFailoverOfOneCentralOfThreeSealed is the same with every record
// between Central and the charge points sealed (--encryption on, one
// --master-key for the three): the survivors open the killed Central's
// charge points' records with the keys it published on central.keys, and
// hand their monitors the same keys. The records cannot be read as kcat
// would here, so the invariant is checked on the tickets: the supplies
// open at the kill get exactly one each, no session gets two, and no
// record is refused.
func TestFailoverOfOneCentralOfThreeSealed(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	runCentralFailover(t, "", true)
}

// TestIntegrationFailoverOfOneCentralOfThree is the same on the real Apache
// Kafka of the integration suite (its group.min.session.timeout.ms allows
// the Centrals' short session); ids and groups carry a run id.
func TestIntegrationFailoverOfOneCentralOfThree(t *testing.T) {
	brokers := suiteKafka(t)
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	if os.Getenv("EVSIM_KAFKA_CLUSTER_BROKERS") != "" {
		// The same run, and a Kafka node's crash besides, is
		// TestIntegrationFailoverOnThreeBrokers: 45 s of CI saved.
		t.Skip("covered by TestIntegrationFailoverOnThreeBrokers on the three-node cluster (EVSIM_INTEGRATION_CLUSTER=0 runs this one instead)")
	}
	runCentralFailover(t, brokers, false)
}

const (
	groupCentrals = 3
	groupSiteCPs  = 20 // per site node
	groupDrivers  = 12
	// groupFailover is the promise: kill -9 to all ACTIVATED again.
	groupFailover = 10 * time.Second
)

type groupRun struct {
	*siteRun
	names   []string // the Centrals' node names
	https   []string // their web addresses
	remotes []string
}

// union is the charge points as the running Centrals show them; a charge
// point shown by two of them is reported in dup.
func (g *groupRun) union() (cps map[string]apiChargePoint, dup []string, down int) {
	cps = map[string]apiChargePoint{}
	for i, name := range g.names {
		if !g.running(name) {
			continue
		}
		view := chargePoints(g.https[i])
		if view == nil {
			down++
			continue
		}
		for id, cp := range view {
			if _, twice := cps[id]; twice {
				dup = append(dup, id)
			}
			cps[id] = cp
		}
	}
	sort.Strings(dup)
	return cps, dup, down
}

// allIn says whether every charge point of ids shows one of states at
// exactly one running Central.
func (g *groupRun) allIn(ids []string, states ...string) (bool, string) {
	cps, dup, down := g.union()
	count := map[string]int{}
	for _, id := range ids {
		st := "missing"
		if cp, ok := cps[id]; ok {
			st = cp.State
		}
		count[st]++
	}
	in := 0
	for _, st := range states {
		in += count[st]
	}
	return in == len(ids) && len(dup) == 0 && down == 0, fmt.Sprintf("%v; shown twice: %v; Centrals not answering: %d", count, dup, down)
}

type clusterMember struct {
	Address    string  `json:"address"`
	Generation int32   `json:"generation"`
	Partitions []int32 `json:"partitions"`
	Self       bool    `json:"self"`
	Left       bool    `json:"left"`
}

// owners reads /api/cluster of Central i: the owner of each partition (the
// latest generation's claim) and whether every member is listed.
func (g *groupRun) owners(i int, want []string) (bool, string, map[int32]string) {
	var c struct {
		Central struct {
			Shared bool `json:"shared"`
		} `json:"central"`
		Members []clusterMember `json:"members"`
	}
	if err := getJSON("http://"+g.https[i]+"/api/cluster", &c); err != nil {
		return false, err.Error(), nil
	}
	top := int32(-1)
	for _, m := range c.Members {
		top = max(top, m.Generation)
	}
	owner := map[int32]string{}
	var twice []int32
	listed := map[string]bool{}
	for _, m := range c.Members {
		listed[m.Address] = true
		if m.Left || m.Generation != top {
			continue // a stale claim (e.g. of a killed member)
		}
		for _, p := range m.Partitions {
			if _, ok := owner[p]; ok {
				twice = append(twice, p)
			}
			owner[p] = m.Address
		}
	}
	ok := c.Central.Shared && len(owner) == len(endsOf(g.t, g.brokers, bridge.TopicStatus)) && len(twice) == 0
	var holders []string
	for _, a := range want {
		ok = ok && listed[a]
	}
	for _, a := range owner {
		if !slices.Contains(holders, a) {
			holders = append(holders, a)
		}
	}
	ok = ok && len(holders) == len(want)
	return ok, fmt.Sprintf("members %+v; owners %v; claimed twice %v", c.Members, owner, twice), owner
}

// runCentralFailover runs the scenario above; each of more runs after the
// failover's supplies flow again and before the killed Central comes back
// (e.g. a Kafka node's crash), the invariants checked at the end cover it.
func runCentralFailover(t *testing.T, realBrokers string, sealed bool, more ...func(g *groupRun)) {
	s := &siteRun{harness: newHarness(t), pattern: "GP-%03d"}
	g := &groupRun{siteRun: s}
	run := ""
	if realBrokers != "" {
		run = runID()
		s.brokers = realBrokers
		s.pattern = "GP-" + run + "-%03d"
	} else {
		s.brokers = freeAddr(t)
		s.add("broker", nil, "broker", "--listen", s.brokers, "--data-dir", filepath.Join(s.dir, "kafka"))
		s.start("broker")
	}
	env := append(nodeKafkaEnv(s.brokers), "EVSIM_ENCRYPTION=off")
	var centralArgs []string
	if sealed {
		env = append(nodeKafkaEnv(s.brokers), "EVSIM_ENCRYPTION=on")
		master := make([]byte, 32)
		_, _ = rand.Read(master)
		centralArgs = []string{"--master-key", hex.EncodeToString(master)}
	}
	group := "centrals"
	if run != "" {
		group += "-" + run
	}
	for i := 0; i < groupCentrals; i++ {
		name := fmt.Sprintf("central-%d", i+1)
		remote, web := freeAddr(t), freeAddr(t)
		g.names, g.remotes, g.https = append(g.names, name), append(g.remotes, remote), append(g.https, web)
		args := []string{"central", "--shared-group", "--group", group, "--group-session-timeout", "2s",
			"--listen", remote, "--http", web, "--db", filepath.Join(s.dir, name+".db"),
			"--liveness-timeout", "3s", "--start-timeout", "10s", "--request-ttl", "4s"}
		s.add(name, env, append(args, centralArgs...)...)
	}
	for node := 0; node < 2; node++ {
		name := fmt.Sprintf("site-%d", node+1)
		s.nodes[node] = freeAddr(t)
		// Each node knows the three Centrals, in another order.
		order := append(slices.Clone(g.remotes[node:]), g.remotes[:node]...)
		s.add(name, env, "site", "--central", strings.Join(order, ","), "--listen", s.nodes[node],
			"--first", fmt.Sprint(node*groupSiteCPs+1), "--count", fmt.Sprint(groupSiteCPs), "--id-pattern", s.pattern,
			"--key-file", filepath.Join(s.dir, name+".key"), "--journal-dir", filepath.Join(s.dir, name+"-engines"),
			"--supply-duration", "3s", "--telemetry-interval", "500ms") // health every 1 s, as by default
	}
	drivers := "gdriver-%02d"
	if run != "" {
		drivers = "gdriver-" + run + "-%02d"
	}
	s.add("drivers", env, "drivers", "--count", fmt.Sprint(groupDrivers), "--id-pattern", drivers,
		"--cp-first", "1", "--cp-count", fmt.Sprint(2*groupSiteCPs), "--cp-pattern", s.pattern, "--requests-per-driver", "500",
		"--progress-dir", filepath.Join(s.dir, "drivers"), "--driver-pause", "500ms", "--reply-timeout", "4s")
	if out, err := exec.Command(s.bin, "wait-kafka", "--brokers", s.brokers, "--kafka-wait-attempts", "100", "--kafka-wait-seconds", "0.2").CombinedOutput(); err != nil {
		t.Fatalf("Kafka at %s: %v\n%s", s.brokers, err, out)
	}
	if realBrokers != "" {
		alignPartitions(t, s.brokers, bridge.TopicStatus, bridge.TopicTelemetry, bridge.TopicSessionEnd)
	}
	s.from = map[string]map[int32]int64{
		bridge.TopicStatus:        endsOf(t, s.brokers, bridge.TopicStatus),
		bridge.TopicTickets:       endsOf(t, s.brokers, bridge.TopicTickets),
		bridge.TopicDriverUpdates: endsOf(t, s.brokers, bridge.TopicDriverUpdates),
	}
	for _, n := range append(slices.Clone(g.names), "site-1", "site-2", "drivers") {
		s.start(n)
	}

	var all []string
	for n := 1; n <= 2*groupSiteCPs; n++ {
		all = append(all, s.cp(n))
	}
	s.eventually(90*time.Second, "the three Centrals share the partitions", func() (bool, string) {
		ok, seen, _ := g.owners(0, g.remotes)
		return ok, seen
	})
	s.eventually(90*time.Second, "all 40 charge points ACTIVATED, each at one Central", func() (bool, string) {
		return g.allIn(all, "ACTIVATED", "SUPPLYING")
	})
	for i := range g.names {
		if ok, seen, _ := g.owners(i, g.remotes); !ok {
			s.fail("/api/cluster of %s: %s", g.names[i], seen)
		}
	}
	s.eventually(60*time.Second, "tickets flow", func() (bool, string) {
		n := len(g.readAll(bridge.TopicTickets))
		return n >= 10, fmt.Sprintf("%d tickets", n)
	})

	// kill -9 of the first Central, while it has supplies open: its
	// partitions move to the two others, and its supplies end at them.
	_, _, owner := g.owners(0, g.remotes)
	var lost []int32
	for p, a := range owner {
		if a == g.remotes[0] {
			lost = append(lost, p)
		}
	}
	var open, openSessions []string
	s.eventually(30*time.Second, "supplies open at the first Central", func() (bool, string) {
		open, openSessions = open[:0], openSessions[:0]
		for id, cp := range chargePoints(g.https[0]) {
			if cp.Session != nil {
				open, openSessions = append(open, id), append(openSessions, cp.Session.SessionID)
			}
		}
		return len(open) >= 2, fmt.Sprintf("%d open: %v", len(open), open)
	})
	var seqs []uint64 // where each survivor's events were at the kill
	for _, h := range g.https[1:] {
		seqs = append(seqs, lastSeqOf(h))
	}
	s.kill(g.names[0])
	killed := time.Now()
	s.eventually(groupFailover, "the survivors own every partition", func() (bool, string) {
		ok, seen, _ := g.owners(1, g.remotes[1:])
		return ok, seen
	})
	moved := time.Since(killed)
	s.eventually(groupFailover-moved, "all 40 charge points ACTIVATED at the survivors", func() (bool, string) {
		return g.allIn(all, "ACTIVATED", "SUPPLYING")
	})
	t.Logf("failover: partitions %v of the killed Central moved after %v; all charge points ACTIVATED %v after the kill",
		lost, moved.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	// The survivors' own charge points stayed connected (their monitors that
	// talked through the killed Central had moved to their owner), and the
	// killed Central's moved without a DISCONNECTED.
	for i, h := range g.https[1:] {
		if lost := disconnectedSince(h, seqs[i]); len(lost) > 0 {
			s.fail("%s showed charge points DISCONNECTED after the kill: %v", g.names[i+1], lost)
		}
	}
	began := time.Now()
	s.eventually(30*time.Second, "new tickets after the kill", func() (bool, string) {
		n := g.ticketsEndedAfter(killed)
		return n >= 5, fmt.Sprintf("%d tickets of supplies that ended after the kill", n)
	})
	t.Logf("supplies flow again: %v after all were ACTIVATED", time.Since(began).Round(100*time.Millisecond))
	for _, step := range more {
		step(g)
	}

	// The killed Central comes back and takes a share again.
	s.start(g.names[0])
	back := time.Now()
	s.eventually(60*time.Second, "the three Centrals share the partitions again", func() (bool, string) {
		ok, seen, _ := g.owners(1, g.remotes)
		return ok, seen
	})
	s.eventually(groupFailover, "all 40 charge points ACTIVATED, each at one Central, after the return", func() (bool, string) {
		return g.allIn(all, "ACTIVATED", "SUPPLYING")
	})
	t.Logf("return: the restarted Central owns a share and all charge points are ACTIVATED %v after its start",
		time.Since(back).Round(100*time.Millisecond))
	returned := time.Now()
	s.eventually(30*time.Second, "new tickets after the return", func() (bool, string) {
		n := g.ticketsEndedAfter(returned)
		return n >= 5, fmt.Sprintf("%d tickets of supplies that ended after the return", n)
	})

	// The drivers stop; the supplies under way end; then the invariants.
	if code := s.stop("drivers", 20*time.Second); code != 0 {
		s.fail("drivers exited %d after SIGTERM", code)
	}
	s.eventually(30*time.Second, "no supply running at the survivors", func() (bool, string) {
		cps, _, _ := g.union()
		running := 0
		for _, id := range all {
			if cp, ok := cps[id]; !ok || cp.Session != nil {
				running++
			}
		}
		return running == 0, fmt.Sprintf("%d supplies running", running)
	})
	if sealed {
		s.eventually(20*time.Second, "one ticket for each supply open at the kill, none twice", func() (bool, string) {
			return g.ticketsOf(openSessions)
		})
		_, seen := g.ticketsOf(openSessions)
		t.Logf("invariant holds: %s", seen)
	} else {
		s.eventually(20*time.Second, "every supply started has exactly one ticket", func() (bool, string) {
			return s.ticketPerSupply(all)
		})
		_, seen := s.ticketPerSupply(all)
		t.Logf("invariant holds: %s", seen)
	}
	t.Logf("supplies open at the killed Central, each ticketed once by a survivor: %v", open)
	twice, resent := g.answeredTwice()
	if len(twice) > 0 {
		s.fail("requests answered twice, differently: %v", twice)
	}
	t.Logf("no request answered twice (the same answer record delivered again: %d)", resent)
	for _, n := range append(slices.Clone(g.names), "site-1", "site-2") {
		if code := s.stop(n, 30*time.Second); code != 0 {
			s.fail("%s exited %d after SIGTERM", n, code)
		}
	}
	for _, n := range append(slices.Clone(g.names), "site-1", "site-2", "drivers") {
		if refused := strings.Count(s.log(n, -1), "Refused a record"); refused > 0 {
			s.fail("%s refused %d sealed records", n, refused)
		}
		if bad := badLines(s.log(n, -1)); len(bad) > 0 {
			s.fail("%s logged %d ERROR or stack lines:\n%s", n, len(bad), strings.Join(bad, "\n"))
		}
	}
}

// lastSeqOf is the sequence number of the newest event of the Central at h.
func lastSeqOf(h string) uint64 {
	var last uint64
	for page := events(h, 0); len(page) > 0; page = events(h, last) {
		last = page[len(page)-1].Seq
	}
	return last
}

// disconnectedSince lists the DISCONNECTED events of the Central at h after seq.
func disconnectedSince(h string, seq uint64) []string {
	var out []string
	for page := events(h, seq); len(page) > 0; page = events(h, seq) {
		for _, e := range page {
			if strings.Contains(e.Text, "DISCONNECTED") {
				out = append(out, e.Text)
			}
		}
		seq = page[len(page)-1].Seq
	}
	return out
}

// ticketsEndedAfter counts the tickets of supplies that ended after at.
func (g *groupRun) ticketsEndedAfter(at time.Time) int {
	n := 0
	for _, m := range g.readAll(bridge.TopicTickets) {
		if tk, ok := m.(*messages.Ticket); ok && tk.GetEndedAt().AsTime().After(at) {
			n++
		}
	}
	return n
}

// ticketsOf says whether each of sessions has exactly one ticket on
// driver.tickets, and no session of the run has two.
func (g *groupRun) ticketsOf(sessions []string) (bool, string) {
	count := map[string]int{}
	for _, m := range g.readAll(bridge.TopicTickets) {
		if tk, ok := m.(*messages.Ticket); ok {
			count[tk.GetSessionId()]++
		}
	}
	var wrong []string
	for _, sid := range sessions {
		if count[sid] != 1 {
			wrong = append(wrong, fmt.Sprintf("%s (open at the kill): %d tickets", sid, count[sid]))
		}
	}
	for sid, n := range count {
		if n > 1 {
			wrong = append(wrong, fmt.Sprintf("%s: %d tickets", sid, n))
		}
	}
	sort.Strings(wrong)
	return len(wrong) == 0 && len(sessions) > 0, fmt.Sprintf("%d tickets, %d supplies open at the kill; %v", len(count), len(sessions), wrong)
}

// answeredTwice lists the requests that got two different answers
// (accepted or denied, or two sessions) on driver.updates: two Centrals
// decided on one request. The same answer record twice is the bridge's
// at-least-once delivery (it re-sends what it kept after a broker hiccup):
// those are counted in resent.
func (g *groupRun) answeredTwice() (twice []string, resent int) {
	answers := map[string][]string{}
	for _, m := range g.readAll(bridge.TopicDriverUpdates) {
		switch a := m.(type) {
		case *messages.ChargeAccepted:
			answers[a.GetRequestId()] = append(answers[a.GetRequestId()], "accepted "+a.GetSessionId())
		case *messages.ChargeDenied:
			answers[a.GetRequestId()] = append(answers[a.GetRequestId()], "denied "+a.GetReason().String()+" "+a.GetDetail())
		}
	}
	for id, list := range answers {
		distinct := slices.Compact(slices.Sorted(slices.Values(list)))
		resent += len(list) - len(distinct)
		if len(distinct) > 1 {
			twice = append(twice, fmt.Sprintf("%s: %v", id, distinct))
		}
	}
	sort.Strings(twice)
	return twice, resent
}

// alignPartitions gives topics (those that exist) one partition count, the
// largest: a shared group of Centrals needs the cp.* topics alike, and a
// long-lived broker may hold one that an earlier run auto-created with
// the broker's num.partitions.
func alignPartitions(t *testing.T, brokers string, topics ...string) {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(strings.Split(brokers, ","), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	metas, err := admin.DescribeTopics(topics)
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for _, m := range metas {
		most = max(most, len(m.Partitions))
	}
	for _, m := range metas {
		if n := len(m.Partitions); n > 0 && n < most {
			if err := admin.CreatePartitions(m.Name, int32(most), nil, false); err != nil {
				t.Fatalf("grow %s from %d to %d partitions: %v", m.Name, n, most, err)
			}
			t.Logf("grew %s from %d to %d partitions, as the other cp.* topics", m.Name, n, most)
			waitLeaders(t, brokers, m.Name, most)
		}
	}
}

// waitLeaders polls until every partition of topic has a leader that answers.
func waitLeaders(t *testing.T, brokers, topic string, partitions int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := func() error {
			client, err := sarama.NewClient(strings.Split(brokers, ","), sarama.NewConfig())
			if err != nil {
				return err
			}
			defer client.Close()
			for p := 0; p < partitions; p++ {
				if _, err := client.GetOffset(topic, int32(p), sarama.OffsetNewest); err != nil {
					return err
				}
			}
			return nil
		}()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's %d partitions have no leader yet: %v", topic, partitions, err)
		}
		time.Sleep(200 * time.Millisecond) // polling the broker's metadata
	}
}

// readAll decodes topic's records of this run, trying again (up to a
// minute) when the broker does not serve them at once: a loaded machine,
// or a partition whose leader moved.
func (g *groupRun) readAll(topic string) []any {
	g.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := readRecords(g.brokers, topic, g.from[topic])
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("read %s: %v", topic, err)
		}
		g.t.Logf("read %s: %v; trying again", topic, err)
		time.Sleep(time.Second) // polling the broker until it serves the topic
	}
}

// readRecords decodes topic's records from the given offsets (the start of
// a partition not named) to its end.
func readRecords(brokers, topic string, from map[int32]int64) ([]any, error) {
	values, err := testutil.ReadTopicValues(strings.Split(brokers, ","), topic, from)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, v := range values {
		if msg, _, err := bridge.Decode(v); err == nil {
			out = append(out, msg)
		}
	}
	return out, nil
}

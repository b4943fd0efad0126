package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// What a Central must know to take a charge point over, carried through
// Kafka: two `evnode central --shared-group` on the embedded broker, one
// site node of takeoverCPs charge points that knows both, and the test
// acting as operator, driver or forger. The first Central is killed with
// kill -9 and the second takes its charge points over.

const (
	// takeoverCPs: TK-001 to TK-008 fall in all six partitions, so that each
	// Central of two owns four.
	takeoverCPs   = 8
	takeoverToken = "op-token-0123456789"
)

type takeoverRun struct {
	*groupRun
	env []string
	// run marks this run's ids and groups on a real Kafka ("" on the embedded broker).
	run string
}

// id is name as this run's (with its run id on a real Kafka).
func (r *takeoverRun) id(name string) string {
	if r.run == "" {
		return name
	}
	return name + "-" + r.run
}

// takeoverRunID is a run id whose charge point ids fall at least two in
// each half of n partitions: each of two range-assigned Centrals owns two.
func takeoverRunID(t *testing.T, n int32) string {
	for range 1000 {
		run := runID()
		var low, high int
		for i := 1; i <= takeoverCPs; i++ {
			if bridge.PartitionOf(fmt.Sprintf("TK-%s-%03d", run, i), n) < n/2 {
				low++
			} else {
				high++
			}
		}
		if low >= 2 && high >= 2 {
			return run
		}
	}
	t.Fatalf("no run id puts two charge points in each half of %d partitions", n)
	return ""
}

// takeoverSetup varies startTakeover.
type takeoverSetup struct {
	// brokers is a real Kafka ("": an embedded broker, evnode broker).
	brokers string
	// env is added to every node's environment (after EVSIM_ENCRYPTION=off).
	env []string
	// centralArgs are added to both Centrals' arguments.
	centralArgs []string
	// siteArgs are added to the site node's arguments.
	siteArgs []string
	// firstAlone starts the first Central alone until every charge point is
	// ACTIVATED there, then the second: the second has never registered the
	// charge points that stay the first's.
	firstAlone bool
	// soloFirst runs the first Central alone, not in a shared group, until
	// every charge point is ACTIVATED there; then it is stopped and both
	// Centrals start in the shared group.
	soloFirst bool
}

// startTakeover starts the broker, the two Centrals and the site node; it
// returns once every charge point is ACTIVATED at one of them.
func startTakeover(t *testing.T, setup takeoverSetup) *takeoverRun {
	s := &siteRun{harness: newHarness(t), pattern: "TK-%03d"}
	g := &groupRun{siteRun: s}
	r := &takeoverRun{groupRun: g}
	if setup.brokers != "" {
		s.brokers = setup.brokers
		alignPartitions(t, s.brokers, bridge.TopicStatus, bridge.TopicTelemetry, bridge.TopicSessionEnd)
		r.run = takeoverRunID(t, partitionsOf(t, s.brokers, bridge.TopicStatus))
		s.pattern = "TK-" + r.run + "-%03d"
	} else {
		s.brokers = freeAddr(t)
		s.add("broker", nil, "broker", "--listen", s.brokers, "--data-dir", filepath.Join(s.dir, "kafka"))
		s.start("broker")
	}
	r.env = append(append(nodeKafkaEnv(s.brokers), "EVSIM_ENCRYPTION=off"), setup.env...)
	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("central-%d", i+1)
		remote, web := freeAddr(t), freeAddr(t)
		g.names, g.remotes, g.https = append(g.names, name), append(g.remotes, remote), append(g.https, web)
		args := []string{"central", "--group", r.id("centrals"), "--group-session-timeout", "2s",
			"--listen", remote, "--http", web, "--db", filepath.Join(s.dir, name+".db"), "--operator-token", takeoverToken,
			"--liveness-timeout", "3s", "--start-timeout", "10s", "--request-ttl", "10s"}
		if i > 0 || !setup.soloFirst {
			// (soloFirst: the first joins the group at its second start)
			args = append(args, "--shared-group")
		}
		s.add(name, r.env, append(args, setup.centralArgs...)...)
	}
	s.nodes[0] = freeAddr(t)
	s.add("site", r.env, "site", "--central", strings.Join(g.remotes, ","), "--listen", s.nodes[0],
		"--first", "1", "--count", fmt.Sprint(takeoverCPs), "--id-pattern", s.pattern,
		"--key-file", filepath.Join(s.dir, "site.key"), "--journal-dir", filepath.Join(s.dir, "site-engines"),
		"--telemetry-interval", "500ms")
	s.procs["site"].args = append(s.procs["site"].args, setup.siteArgs...)
	if out, err := testutil.Command(t, s.bin, "wait-kafka", "--brokers", s.brokers, "--kafka-wait-attempts", "100", "--kafka-wait-seconds", "0.2").CombinedOutput(); err != nil {
		t.Fatalf("Kafka at %s: %v\n%s", s.brokers, err, out)
	}
	// Only this run's records count (a real Kafka holds earlier runs').
	s.from = map[string]map[int32]int64{
		bridge.TopicTickets:       endsOf(t, s.brokers, bridge.TopicTickets),
		bridge.TopicDriverUpdates: endsOf(t, s.brokers, bridge.TopicDriverUpdates),
	}
	if setup.soloFirst || setup.firstAlone {
		s.start("central-1")
		s.start("site")
		s.eventually(90*time.Second, "every charge point ACTIVATED at the first Central, alone", func() (bool, string) {
			s.http = g.https[0]
			return s.inStates(r.all(), "ACTIVATED")
		})
		if setup.soloFirst {
			if code := s.stop("central-1", 20*time.Second); code != 0 {
				t.Fatalf("central-1 exited %d after SIGTERM", code)
			}
			p := s.procs["central-1"]
			p.args = append(p.args, "--shared-group")
			s.start("central-1")
		}
		s.start("central-2")
	} else {
		for _, n := range []string{"central-1", "central-2", "site"} {
			s.start(n)
		}
	}
	s.eventually(90*time.Second, "the two Centrals share the partitions", func() (bool, string) {
		ok, seen, _ := g.owners(0, g.remotes)
		return ok, seen
	})
	s.eventually(90*time.Second, "every charge point ACTIVATED at one Central", func() (bool, string) {
		return g.allIn(r.all(), "ACTIVATED")
	})
	return r
}

func (r *takeoverRun) all() []string {
	var ids []string
	for n := 1; n <= takeoverCPs; n++ {
		ids = append(ids, r.cp(n))
	}
	return ids
}

// ownedBy is a charge point that Central i shows, other than those of skip.
func (r *takeoverRun) ownedBy(i int, skip ...string) string {
	r.t.Helper()
	for _, id := range r.all() {
		if _, ok := chargePoints(r.https[i])[id]; ok && !slices.Contains(skip, id) {
			return id
		}
	}
	r.t.Fatalf("%s owns none of %v", r.names[i], r.all())
	return ""
}

// operator posts an operator action (e.g. "stop") for cpID to Central i;
// with cpID "" the action on all (e.g. "resume-all").
func (r *takeoverRun) operator(i int, cpID, action string) {
	r.t.Helper()
	if code, a := r.order(i, cpID, action); code != http.StatusOK {
		r.t.Fatalf("%s %s at %s: %d %s", action, cpID, r.names[i], code, a.Error)
	}
}

// stateAt is cpID's state as Central i shows it ("missing" when it does not).
func (r *takeoverRun) stateAt(i int, cpID string) string {
	if cp, ok := chargePoints(r.https[i])[cpID]; ok {
		return cp.State
	}
	return "missing"
}

// killFirst kills the first Central with kill -9 and waits until the second
// owns every partition and shows every charge point connected again.
func (r *takeoverRun) killFirst() {
	r.killFirstOnly()
	r.eventually(30*time.Second, "every charge point connected at the second Central", func() (bool, string) {
		return r.allIn(r.all(), "ACTIVATED", "STOPPED", "SUPPLYING")
	})
}

// killFirstOnly kills the first Central with kill -9 and waits until the
// second owns every partition.
func (r *takeoverRun) killFirstOnly() {
	r.kill(r.names[0])
	r.eventually(30*time.Second, "the second Central owns every partition", func() (bool, string) {
		ok, seen, _ := r.owners(1, r.remotes[1:])
		return ok, seen
	})
}

// request sends a driver's charge request on driver.requests, as a driver would.
func (r *takeoverRun) request(driver, requestID, cpID string) {
	r.t.Helper()
	rec, err := bridge.Encode(&messages.ChargeRequest{RequestId: r.id(requestID), DriverId: r.id(driver), CpId: cpID,
		RequestedAt: timestamppb.Now()}, "test-driver")
	if err != nil {
		r.t.Fatal(err)
	}
	testutil.ProduceRecord(r.t, r.brokers, bridge.TopicDriverRequests, r.id(driver), rec)
}

// answer is Central's answer to a request on driver.updates: "accepted",
// "denied REASON: detail", or "" while there is none.
func (r *takeoverRun) answer(requestID string) string {
	requestID = r.id(requestID)
	for _, m := range r.readAll(bridge.TopicDriverUpdates) {
		switch a := m.(type) {
		case *messages.ChargeAccepted:
			if a.GetRequestId() == requestID {
				return "accepted"
			}
		case *messages.ChargeDenied:
			if a.GetRequestId() == requestID {
				return "denied " + a.GetReason().String() + ": " + a.GetDetail()
			}
		}
	}
	return ""
}

// TestTakeoverKeepsTheOperatorsStop: an operator stops a charge point at
// the Central that owns it; the operator of the other Central resumes all
// of its own; the first Central is killed. The Central that takes
// the charge point over shows it STOPPED (not ACTIVATED, and it does not
// resume its engine), denies a request for it as stopped, and lets the
// operator resume it there. The killed Central, back with its old
// database, does not bring the old stop back, also when it takes the
// charge point over from the second, killed in turn.
func TestTakeoverKeepsTheOperatorsStop(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	takeoverKeepsTheOperatorsStop(t, "")
}

// TestIntegrationTakeoverKeepsTheOperatorsStop is the same on the real
// Apache Kafka of the integration suite.
func TestIntegrationTakeoverKeepsTheOperatorsStop(t *testing.T) {
	brokers := suiteKafka(t)
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	takeoverKeepsTheOperatorsStop(t, brokers)
}

func takeoverKeepsTheOperatorsStop(t *testing.T, brokers string) {
	r := startTakeover(t, takeoverSetup{brokers: brokers})
	cp := r.ownedBy(0)
	r.operator(0, cp, "stop")
	r.eventually(10*time.Second, cp+" STOPPED at its owner", func() (bool, string) {
		st := r.stateAt(0, cp)
		return st == "STOPPED", st
	})
	// The second Central's operator resumes all while the first is frozen:
	// its part never arrives (it is killed next), and the second keeps the
	// stop that it holds of the group's records (once they have it).
	r.eventually(20*time.Second, "the stop of "+cp+" in the group's records", func() (bool, string) {
		stopped := "none"
		for _, m := range r.readAll(bridge.TopicCentralChargePoints) {
			if e, ok := m.(*messages.CentralChargePoint); ok && e.GetCpId() == cp {
				stopped = fmt.Sprint(e.GetStopped())
			}
		}
		return stopped == "true", "latest record stopped: " + stopped
	})
	r.signal(r.names[0], syscall.SIGSTOP)
	r.operator(1, "", "resume-all")

	r.killFirst()
	// Watched over two liveness timeouts: a Central that does not know of the
	// stop shows it ACTIVATED and resumes its engine.
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); {
		if st := r.stateAt(1, cp); st != "STOPPED" {
			r.fail("%s after the takeover: %s, want STOPPED (the operator's stop)", cp, st)
			break
		}
		time.Sleep(200 * time.Millisecond) // sampling the panel over the window
	}
	r.request("takeover-driver", "R-stopped", cp)
	r.eventually(20*time.Second, "the request for the stopped charge point answered", func() (bool, string) {
		a := r.answer("R-stopped")
		return a != "", a
	})
	if a := r.answer("R-stopped"); !strings.HasPrefix(a, "denied DENY_REASON_STOPPED") {
		r.fail("a request for %s, stopped by the operator before the takeover: %s, want denied as stopped", cp, a)
	}

	r.operator(1, cp, "resume")
	r.eventually(10*time.Second, cp+" ACTIVATED after the resume at the new owner", func() (bool, string) {
		st := r.stateAt(1, cp)
		return st == "ACTIVATED", st
	})
	// The killed Central comes back with its database, where cp is still
	// stopped: whichever Central owns cp then shows it ACTIVATED.
	r.start(r.names[0])
	r.eventually(60*time.Second, "the two Centrals share the partitions again", func() (bool, string) {
		ok, seen, _ := r.owners(1, r.remotes)
		return ok, seen
	})
	r.eventually(30*time.Second, "every charge point ACTIVATED after the return", func() (bool, string) {
		return r.allIn(r.all(), "ACTIVATED")
	})
	// The second Central is killed: the first takes cp over from its
	// database, rewritten by the group's records, and shows it ACTIVATED.
	r.kill(r.names[1])
	r.eventually(30*time.Second, "the first Central owns every partition", func() (bool, string) {
		ok, seen, _ := r.owners(0, r.remotes[:1])
		return ok, seen
	})
	r.eventually(30*time.Second, "every charge point ACTIVATED at the first Central", func() (bool, string) {
		return r.allIn(r.all(), "ACTIVATED")
	})
	for _, n := range r.names {
		if bad := badLines(r.log(n, -1)); len(bad) > 0 {
			r.fail("%s logged %d ERROR or stack lines:\n%s", n, len(bad), strings.Join(bad, "\n"))
		}
	}
}

// TestTakeoverOpensKeysStoredBeforeTheGroup: with encryption on, the first
// Central runs alone and issues every charge point its key; it is started
// again in a shared group (same database, the group's master key) with a
// second Central, then killed with kill -9. The second takes the charge
// points over with the keys they hold: no charge point gets a new key
// (their engines do not log "Sealing with a new key"), no record is refused.
func TestTakeoverOpensKeysStoredBeforeTheGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	master := make([]byte, 32)
	_, _ = rand.Read(master)
	r := startTakeover(t, takeoverSetup{env: []string{"EVSIM_ENCRYPTION=on"}, soloFirst: true,
		centralArgs: []string{"--master-key", hex.EncodeToString(master)}})
	moved := 0
	for _, id := range r.all() {
		if _, ok := chargePoints(r.https[0])[id]; ok {
			moved++
		}
	}
	if moved == 0 {
		t.Fatalf("the first Central owns none of %v", r.all())
	}
	site := r.mark("site")
	r.killFirst()
	if n := strings.Count(r.since(site), "Sealing with a new key from Central"); n > 0 {
		r.fail("%d engines got a new key after the takeover of %d charge points, want none (the keys they hold):\n%s", n, moved, r.since(site))
	}
	for _, n := range append(slices.Clone(r.names), "site") {
		log := r.log(n, -1)
		if refused := strings.Count(log, "Refused a record"); refused > 0 {
			r.fail("%s refused %d sealed records", n, refused)
		}
		if bad := badLines(log); len(bad) > 0 {
			r.fail("%s logged %d ERROR or stack lines:\n%s", n, len(bad), strings.Join(bad, "\n"))
		}
	}
}

// TestTakeoverKeepsTheMonitorsSecret (open mode: a charge point joins with
// the first secret its monitor presents): the first Central registered a
// charge point; its site node is down when that Central is killed, and a
// forger registers the charge point with another secret at the Central
// that takes it over. The forger is rejected ("wrong secret"), the charge
// point is not shown in service; the real monitor, back, is accepted.
func TestTakeoverKeepsTheMonitorsSecret(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	r := startTakeover(t, takeoverSetup{firstAlone: true})
	cp := r.ownedBy(0)
	r.kill("site")
	r.killFirstOnly()
	engine, monitor := freeAddr(t), freeAddr(t)
	r.add("forged-engine", r.env, "engine", "--cp", cp, "--listen", engine, "--journal", filepath.Join(r.dir, "forged.json"))
	r.add("forger", r.env, "monitor", "--cp", cp, "--engine", engine, "--central", r.remotes[1], "--listen", monitor,
		"--secret", "forged-secret")
	r.start("forged-engine")
	r.start("forger")
	r.eventually(30*time.Second, "the forger answered by the new owner", func() (bool, string) {
		log := r.log("forger", 0)
		return strings.Contains(log, "rejected the registration") || r.stateAt(1, cp) == "ACTIVATED", r.stateAt(1, cp)
	})
	if st := r.stateAt(1, cp); st == "ACTIVATED" || !strings.Contains(r.log("forger", 0), "wrong secret") {
		r.fail("a monitor with another secret took %s over after the takeover: %s at the new owner; the forger's log:\n%s",
			cp, st, r.log("forger", 0))
	}
	r.kill("forger")
	r.kill("forged-engine")
	r.start("site")
	r.eventually(30*time.Second, "every charge point ACTIVATED at the new owner with its real monitor", func() (bool, string) {
		return r.allIn(r.all(), "ACTIVATED")
	})
}

// TestDriverBusyAtEveryCentralOfTheGroup: a driver whose supply runs at a
// charge point of the first Central asks for a charge point of the second:
// denied, the driver is busy (as one Central denies it). Once the supply
// has ended (the operator stops its charge point) the second serves the
// driver. Then the first Central is killed while the driver is supplied at
// its charge point: the second takes the supply over and still counts the
// driver busy.
func TestDriverBusyAtEveryCentralOfTheGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	driverBusyAtEveryCentral(t, "")
}

// TestIntegrationDriverBusyAtEveryCentralOfTheGroup is the same on the real
// Apache Kafka of the integration suite.
func TestIntegrationDriverBusyAtEveryCentralOfTheGroup(t *testing.T) {
	brokers := suiteKafka(t)
	if testing.Short() {
		t.Skip("real processes, about a minute")
	}
	driverBusyAtEveryCentral(t, brokers)
}

func driverBusyAtEveryCentral(t *testing.T, brokers string) {
	r := startTakeover(t, takeoverSetup{brokers: brokers, siteArgs: []string{"--supply-duration", "120s"}})
	first, second := r.ownedBy(0), r.ownedBy(1)
	first2 := r.ownedBy(0, first)
	const driver = "busy-driver"
	answered := func(id string) string {
		r.t.Helper()
		r.eventually(20*time.Second, "an answer to "+id, func() (bool, string) {
			a := r.answer(id)
			return a != "", a
		})
		return r.answer(id)
	}
	supplying := func(i int, cp string) {
		r.t.Helper()
		r.eventually(20*time.Second, cp+" SUPPLYING", func() (bool, string) {
			st := r.stateAt(i, cp)
			return st == "SUPPLYING", st
		})
	}
	r.request(driver, "R-first", first)
	if a := answered("R-first"); a != "accepted" {
		t.Fatalf("the driver's first request: %s", a)
	}
	supplying(0, first)
	r.request(driver, "R-second", second)
	if a := answered("R-second"); !strings.HasPrefix(a, "denied DENY_REASON_DRIVER_BUSY") {
		r.fail("a request at the second Central while the driver is supplied at the first: %s, want denied as busy", a)
	}

	r.operator(0, first, "stop")
	r.eventually(20*time.Second, "the driver's first supply ticketed", func() (bool, string) {
		for _, m := range r.readAll(bridge.TopicTickets) {
			if tk, ok := m.(*messages.Ticket); ok && tk.GetDriverId() == r.id(driver) {
				return true, ""
			}
		}
		return false, "no ticket"
	})
	r.eventually(20*time.Second, "the driver served at the second Central after the ticket", func() (bool, string) {
		id := fmt.Sprintf("R-again-%d", time.Now().UnixNano())
		r.request(driver, id, second)
		a := answered(id)
		return a == "accepted", a
	})
	supplying(1, second)
	r.operator(1, second, "stop")

	// The first Central is killed during a supply at its charge point.
	r.eventually(30*time.Second, "the driver served at the first Central again", func() (bool, string) {
		id := fmt.Sprintf("R-third-%d", time.Now().UnixNano())
		r.request(driver, id, first2)
		a := answered(id)
		return a == "accepted", a
	})
	supplying(0, first2)
	r.killFirst()
	supplying(1, first2)
	r.operator(1, second, "resume")
	r.request(driver, "R-after-kill", second)
	if a := answered("R-after-kill"); !strings.HasPrefix(a, "denied DENY_REASON_DRIVER_BUSY") {
		r.fail("a request while the driver's supply taken over from the killed Central runs: %s, want denied as busy", a)
	}
}

// partitionsOf is how many partitions topic has on Kafka, or the bridge's
// default (6) for a topic the Centrals will make: read without a metadata
// request for it, which would make it with the broker's num.partitions.
func partitionsOf(t *testing.T, brokers, topic string) int32 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(strings.Split(brokers, ","), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	topics, err := admin.ListTopics()
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := topics[topic]; ok {
		return d.NumPartitions
	}
	return 6
}

package bridge

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/messages"
)

// One conformance suite, two brokers: the embedded kfake broker (always) and
// a real Apache Kafka (when EVSIM_KAFKA_BROKERS names one; the integration
// run, scripts/test-integration.sh, starts it and sets the variable).
//
// Policy for the real broker: EVSIM_KAFKA_BROKERS set -> run, and a broker
// that does not answer is a failure. Not set -> skipped, unless
// EVSIM_INTEGRATION=1 (the integration run), where it is a failure: CI must
// never pass without having talked to Kafka.

// brokerUnderTest is a broker the suite can stop and start again.
type brokerUnderTest struct {
	name string
	addr string
	// keepsData: a restart keeps topics, records and committed offsets.
	keepsData bool
	// startTakes is how long a start may take (a JVM is slower than kfake).
	startTakes time.Duration
	// restarts is how many times the restart test stops and starts it.
	restarts int
	stop     func(t *testing.T)
	start    func(t *testing.T)
}

func TestConformanceEmbedded(t *testing.T) {
	runConformance(t, func(t *testing.T) *brokerUnderTest { return embeddedUnderTest(t, true) })
}

// A restarted in-memory broker comes back empty: the bridge must create the
// topics again and still deliver what was published during the outage.
func TestConformanceEmbeddedRestartWithoutDataDir(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	testRestartLosesNothing(t, embeddedUnderTest(t, false))
}

func TestIntegrationConformanceKafka(t *testing.T) {
	runConformance(t, realKafkaUnderTest)
}

func runConformance(t *testing.T, newBroker func(t *testing.T) *brokerUnderTest) {
	for _, tc := range []struct {
		name string
		slow bool
		fn   func(*testing.T, *brokerUnderTest)
	}{
		{"RoundTripRoutesByKey", false, testRoundTripRoutesByKey},
		{"OrderPerKeyAndHeldRecords", false, testOrderPerKeyAndHeldRecords},
		{"KeepsOnlyItsOwnKeys", false, testKeepsOnlyItsOwnKeys},
		{"OffsetMarkedOnlyAfterDone", false, testOffsetMarkedOnlyAfterDone},
		{"GarbageRecordSkippedWithOneWarn", false, testGarbageRecordSkipped},
		{"WaitsForABrokerThatStartsLater", true, testWaitsForABrokerThatStartsLater},
		{"RestartLosesNothing", true, testRestartLosesNothing},
		{"NeverComesGivesOneError", false, testGivesUpWithOneErrorLine},
		{"OpenPortThatIsNotKafka", false, testOpenPortIsNotKafka},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow && testing.Short() {
				t.Skip("slow")
			}
			tc.fn(t, newBroker(t))
		})
	}
}

func embeddedUnderTest(t *testing.T, keepsData bool) *brokerUnderTest {
	t.Helper()
	opts := EmbeddedOptions{Addr: freeAddr(t)}
	if keepsData {
		opts.DataDir = t.TempDir()
	}
	var e *Embedded
	b := &brokerUnderTest{name: "embedded", addr: opts.Addr, keepsData: keepsData, startTakes: 5 * time.Second, restarts: 3}
	if !keepsData {
		// What an empty broker acknowledged and then lost is not the
		// bridge's to keep: one restart, whose losses the test knows.
		b.restarts = 1
	}
	b.start = func(t *testing.T) {
		t.Helper()
		var err error
		// The port of the last broker may linger a moment after Close.
		eventually(t, 5*time.Second, "embedded broker listening on "+opts.Addr, func() bool {
			e, err = StartEmbedded(opts)
			return err == nil
		})
	}
	b.stop = func(t *testing.T) {
		t.Helper()
		if e != nil {
			e.Close()
			e = nil
		}
	}
	b.start(t)
	t.Cleanup(func() { b.stop(t) })
	return b
}

func realKafkaUnderTest(t *testing.T) *brokerUnderTest {
	t.Helper()
	addr := os.Getenv("EVSIM_KAFKA_BROKERS")
	if addr == "" {
		if os.Getenv("EVSIM_INTEGRATION") == "1" {
			t.Fatal("EVSIM_INTEGRATION=1 but EVSIM_KAFKA_BROKERS is empty: the real Kafka suite cannot run")
		}
		t.Skip("EVSIM_KAFKA_BROKERS is not set (scripts/test-integration.sh runs this against Apache Kafka)")
	}
	addr = strings.Split(addr, ",")[0]
	ctl := os.Getenv("EVSIM_KAFKA_CTL")
	if ctl == "" {
		ctl = filepath.Join("..", "scripts", "kafka.sh")
	}
	if err := probe(&Config{Brokers: []string{addr}, ProbeTimeout: 5 * time.Second}, true); err != nil {
		t.Fatalf("Apache Kafka at %s does not answer: %v", addr, err)
	}
	run := func(t *testing.T, verb string) {
		t.Helper()
		// Plain exec, not testutil.Command: `up` leaves Kafka running in this
		// command's process group, which must outlive the test.
		cmd := exec.Command("bash", ctl, verb)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", ctl, verb, err, out)
		}
	}
	b := &brokerUnderTest{name: "kafka", addr: addr, keepsData: true, startTakes: 90 * time.Second, restarts: 1}
	stopped := false
	b.stop = func(t *testing.T) { t.Helper(); run(t, "down"); stopped = true }
	b.start = func(t *testing.T) { t.Helper(); run(t, "up"); stopped = false }
	t.Cleanup(func() {
		if stopped {
			b.start(t)
		}
	})
	return b
}

func (b *brokerUnderTest) config(t *testing.T, topics ...string) Config {
	cfg := testConfig(b.addr)
	cfg.Topics = topics
	return cfg
}

func testRoundTripRoutesByKey(t *testing.T, b *brokerUnderTest) {
	topic := uniqueName(t, "cmd")
	tb := startBridge(t, b.config(t, topic))
	one, _ := tb.subscribe(t, topic, "g", "CP-001", true)
	two, _ := tb.subscribe(t, topic, "g", "CP-002", true)
	tb.awaitState(t, StateReady, 20*time.Second)
	for i := range 10 {
		cp := fmt.Sprintf("CP-%03d", i%2+1)
		tb.publish(topic, cp, &messages.Command{CommandId: fmt.Sprint(i), CpId: cp})
	}
	eventually(t, 30*time.Second, "10 deliveries", func() bool { return one.count.Load()+two.count.Load() == 10 })
	for _, d := range one.deliveries() {
		if d.Key != "CP-001" || d.Msg.(*messages.Command).CpId != "CP-001" || d.Topic != topic {
			t.Errorf("CP-001's subscriber got %s %v", d.Key, d.Msg)
		}
	}
	if n := len(one.deliveries()); n != 5 {
		t.Errorf("CP-001 got %d records, want 5", n)
	}
	if n := tb.run.KafkaRecordsIn.Load(); n != 10 {
		t.Errorf("records in = %d, want 10", n)
	}
	eventually(t, 5*time.Second, "records out counted", func() bool { return tb.run.KafkaRecordsOut.Load() == 10 })
}

func testOrderPerKeyAndHeldRecords(t *testing.T, b *brokerUnderTest) {
	topic := uniqueName(t, "updates")
	tb := startBridge(t, b.config(t, topic))
	// bob is announced, as a process does for the drivers it is starting.
	tb.system.Root.Send(tb.pid, &ExpectKeys{Topic: topic, Group: "drivers", Keys: []string{"bob"}})
	early, _ := tb.subscribe(t, topic, "drivers", "alice", true)
	tb.awaitState(t, StateReady, 20*time.Second)
	for i := range 20 {
		tb.publish(topic, "alice", &messages.Telemetry{DriverId: "alice", Seq: uint64(i)})
		tb.publish(topic, "bob", &messages.Telemetry{DriverId: "bob", Seq: uint64(i)})
	}
	eventually(t, 30*time.Second, "alice's 20 records", func() bool { return early.count.Load() == 20 })
	// bob has no subscriber yet: his records are held, then handed over in order.
	late, _ := tb.subscribe(t, topic, "drivers", "bob", true)
	eventually(t, 30*time.Second, "bob's 20 held records", func() bool { return late.count.Load() == 20 })
	for name, col := range map[string]*collector{"alice": early, "bob": late} {
		for i, d := range col.deliveries() {
			tm := d.Msg.(*messages.Telemetry)
			if tm.DriverId != name || tm.Seq != uint64(i) {
				t.Fatalf("%s: delivery %d is %s seq %d (want in order)", name, i, tm.DriverId, tm.Seq)
			}
		}
	}
}

// committedOffset asks the broker for the group's committed offset of partition 0.
func committedOffset(broker, group, topic string) int64 {
	admin, err := sarama.NewClusterAdmin([]string{broker}, sarama.NewConfig())
	if err != nil {
		return -2
	}
	defer func() { _ = admin.Close() }()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0}})
	if err != nil {
		return -2
	}
	if blk := resp.GetBlock(topic, 0); blk != nil {
		return blk.Offset
	}
	return -1
}

func testOffsetMarkedOnlyAfterDone(t *testing.T, b *brokerUnderTest) {
	topic, group := uniqueName(t, "tickets"), uniqueName(t, "group")
	cfg := b.config(t, topic)
	cfg.Partitions = 1

	first := startBridge(t, cfg)
	col, _ := first.subscribe(t, topic, group, "", false)
	first.awaitState(t, StateReady, 20*time.Second)
	for i := range 3 {
		first.publish(topic, "alice", &messages.Ticket{TicketId: string(rune('a' + i)), DriverId: "alice"})
	}
	eventually(t, 30*time.Second, "3 deliveries", func() bool { return col.count.Load() == 3 })
	ds := col.deliveries()
	// Done out of order: the third first. Nothing may be committed past the first.
	ds[2].Done()
	ds[0].Done()
	ds[0].Done() // twice is harmless
	eventually(t, 15*time.Second, "offset 1 committed", func() bool { return committedOffset(b.addr, KafkaGroupID(group, topic), topic) == 1 })
	_ = first.system.Root.StopFuture(first.pid).Wait()

	// A new process of the same group gets the record that was not done, and the one after it.
	second := startBridge(t, cfg)
	again, _ := second.subscribe(t, topic, group, "", true)
	eventually(t, 45*time.Second, "records 1 and 2 again", func() bool { return again.count.Load() >= 2 })
	got := again.deliveries()
	if got[0].Offset != 1 || got[0].Msg.(*messages.Ticket).TicketId != "b" {
		t.Fatalf("first redelivery is offset %d %v, want offset 1 (ticket b)", got[0].Offset, got[0].Msg)
	}
	eventually(t, 15*time.Second, "offset 3 committed", func() bool { return committedOffset(b.addr, KafkaGroupID(group, topic), topic) == 3 })
}

func testGarbageRecordSkipped(t *testing.T, b *brokerUnderTest) {
	topic, group := uniqueName(t, "status"), uniqueName(t, "group")
	cfg := b.config(t, topic)
	cfg.Partitions = 1
	tb := startBridge(t, cfg)
	col, _ := tb.subscribe(t, topic, group, "", true)
	tb.awaitState(t, StateReady, 20*time.Second)
	produceRaw(t, b.addr, topic, "CP-001", []byte("this is not an envelope \xff\x00\x01"))
	tb.publish(topic, "CP-001", &messages.StatusChange{CpId: "CP-001", Reason: "after the garbage"})
	eventually(t, 30*time.Second, "the good record after the garbage", func() bool { return col.count.Load() == 1 })
	if got := col.deliveries()[0].Msg.(*messages.StatusChange); got.Reason != "after the garbage" {
		t.Fatalf("got %v", got)
	}
	warns := tb.log.Lines("| WARN |")
	if len(warns) != 1 || !strings.Contains(warns[0], "| WARN | Bridge | Skipped a record that does not decode") ||
		!strings.Contains(warns[0], "topic="+topic) || !strings.Contains(warns[0], "partition=0") || !strings.Contains(warns[0], "offset=0") {
		t.Fatalf("want one WARN naming topic, partition and offset, got %q", warns)
	}
	if n := tb.run.KafkaRecordsBad.Load(); n != 1 {
		t.Errorf("bad records counted %d, want 1", n)
	}
	// The garbage does not hold the partition back: both offsets get committed.
	eventually(t, 15*time.Second, "offset 2 committed", func() bool { return committedOffset(b.addr, KafkaGroupID(group, topic), topic) == 2 })
}

// (a) A process started before the broker waits, then works, with exactly
// the gate's lines and no ERROR.
func testWaitsForABrokerThatStartsLater(t *testing.T, b *brokerUnderTest) {
	b.stop(t)
	topic := uniqueName(t, "cmd")
	cfg := b.config(t, topic)
	cfg.WaitAttempts = 1000
	tb := startBridge(t, cfg)
	col, _ := tb.subscribe(t, topic, "central", "", true)
	tb.publish(topic, "CP-001", &messages.Command{CommandId: "sent-while-waiting", CpId: "CP-001"})
	eventually(t, 5*time.Second, "the 5th attempt", func() bool {
		return len(tb.log.Lines("Still waiting for Kafka (attempt 5/1000)")) == 1
	})
	b.start(t)
	tb.awaitState(t, StateReady, b.startTakes)
	eventually(t, 30*time.Second, "the command published while waiting", func() bool { return col.count.Load() == 1 })

	wantOnce := []string{
		"| INFO | Bridge | Waiting for Kafka at " + b.addr + " to be ready (max attempts 1000, interval 0.1s)",
		"| INFO | Bridge | Kafka at " + b.addr + " is ready",
	}
	for _, w := range wantOnce {
		if n := len(tb.log.Lines(w)); n != 1 {
			t.Errorf("%d lines with %q, want 1", n, w)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(tb.log.String()), "\n") {
		if strings.Contains(l, "Still waiting") {
			if !strings.Contains(l, "| INFO | Bridge | Still waiting for Kafka (attempt ") {
				t.Errorf("unexpected progress line %q", l)
			}
			continue
		}
		if !strings.Contains(l, wantOnce[0]) && !strings.Contains(l, wantOnce[1]) {
			t.Errorf("unexpected line %q", l)
		}
	}
	if s := tb.states.seen(); s[0] != StateWaiting || s[len(s)-1] != StateReady {
		t.Errorf("states %v", s)
	}
}

// (d) A broker restarted mid-run loses no command, supply end or ticket.
func testRestartLosesNothing(t *testing.T, b *brokerUnderTest) {
	cmds, ends, tickets := uniqueName(t, "cmd"), uniqueName(t, "end"), uniqueName(t, "ticket")
	cfg := b.config(t, cmds, ends, tickets)
	tb := startBridge(t, cfg)
	colCmd, _ := tb.subscribe(t, cmds, "engine", "", true)
	colEnd, _ := tb.subscribe(t, ends, "central", "", true)
	colTicket, _ := tb.subscribe(t, tickets, "driver", "", true)
	tb.awaitState(t, StateReady, 20*time.Second)

	sent := 0
	publish := func() {
		id := fmt.Sprint(sent)
		tb.publish(cmds, "CP-001", &messages.Command{CommandId: id, CpId: "CP-001"})
		tb.publish(ends, "CP-001", &messages.SupplyEnded{SessionId: id, CpId: "CP-001"})
		tb.publish(tickets, "alice", &messages.Ticket{TicketId: id, DriverId: "alice"})
		sent++
	}
	// Before the outage: everything arrives.
	for range 20 {
		publish()
	}
	eventually(t, 30*time.Second, "the first 20 of each", func() bool { return colTicket.count.Load() >= 20 && colCmd.count.Load() >= 20 })

	for range b.restarts {
		b.stop(t)
		for range 10 { // published before the bridge notices: sarama hands them back
			publish()
		}
		tb.awaitState(t, StateOutage, 10*time.Second)
		for range 20 { // published while the broker is away
			publish()
		}
		b.start(t)
		tb.awaitState(t, StateReady, b.startTakes)
		for range 10 {
			publish()
		}
	}

	ids := func(col *collector, id func(proto.Message) string) map[string]bool {
		seen := map[string]bool{}
		for _, d := range col.deliveries() {
			seen[id(d.Msg)] = true
		}
		return seen
	}
	from := 0
	if !b.keepsData {
		from = 20 // an empty broker cannot re-deliver what it never kept
	}
	complete := func(col *collector, id func(proto.Message) string) bool {
		seen := ids(col, id)
		for i := from; i < sent; i++ {
			if !seen[fmt.Sprint(i)] {
				return false
			}
		}
		return true
	}
	cmdID := func(m proto.Message) string { return m.(*messages.Command).CommandId }
	endID := func(m proto.Message) string { return m.(*messages.SupplyEnded).SessionId }
	ticketID := func(m proto.Message) string { return m.(*messages.Ticket).TicketId }
	eventually(t, 60*time.Second, "every command, supply end and ticket", func() bool {
		return complete(colCmd, cmdID) && complete(colEnd, endID) && complete(colTicket, ticketID)
	})

	warns := tb.log.Lines("| WARN |")
	if len(warns) != b.restarts || !strings.Contains(warns[0], "Lost Kafka at "+b.addr) {
		t.Errorf("want one WARN per outage (%d), got %q", b.restarts, warns)
	}
	infos := tb.log.Lines("is back")
	if len(infos) != b.restarts || !strings.Contains(infos[0], "| INFO | Bridge | Kafka at "+b.addr+" is back") {
		t.Errorf("want one INFO per recovery (%d), got %q", b.restarts, infos)
	}
	if errs := tb.log.Lines("| ERROR |"); len(errs) > 0 {
		t.Errorf("no ERROR expected during an outage: %q", errs)
	}
}

package bridge

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// While Kafka is away, commands are kept one by one and telemetry only as
// the latest reading per charge point.
func TestKeptTelemetryIsCoalescedToTheLatestPerKey(t *testing.T) {
	addr := freeAddr(t)
	cfg := testConfig(addr)
	cfg.Topics = nil // the network's topics: coalescing applies to TopicTelemetry
	tb := startBridge(t, cfg)
	tel, _ := tb.subscribe(t, TopicTelemetry, "central", "", true)
	cmd, _ := tb.subscribe(t, TopicCommands, "engines", "", true)
	for i := range 10 {
		for _, cp := range []string{"CP-001", "CP-002"} {
			tb.publish(TopicTelemetry, cp, &messages.Telemetry{CpId: cp, Seq: uint64(i)})
			tb.publish(TopicCommands, cp, &messages.Command{CpId: cp, CommandId: fmt.Sprint(i)})
		}
	}
	// Let the bridge take every Publish before the broker comes.
	eventually(t, 5*time.Second, "20 commands and 2 readings kept", func() bool { return tb.keptRecords(t) == 22 })
	startEmbedded(t, EmbeddedOptions{Addr: addr})
	tb.awaitState(t, StateReady, 10*time.Second)
	eventually(t, 20*time.Second, "every command", func() bool { return cmd.count.Load() == 20 })
	eventually(t, 20*time.Second, "the latest readings", func() bool { return tel.count.Load() == 2 })
	for _, d := range tel.deliveries() {
		if tm := d.Msg.(*messages.Telemetry); tm.Seq != 9 {
			t.Errorf("%s: reading %d delivered, want only the latest (9)", tm.CpId, tm.Seq)
		}
	}
}

// Above Config.BufferRecords a publisher that asks for an answer is held
// until Kafka is back; a fire-and-forget record is still kept, never dropped.
func TestAFullBufferHoldsPublishersThatWait(t *testing.T) {
	addr := freeAddr(t)
	topic := uniqueName(t, "tickets")
	cfg := testConfig(addr)
	cfg.Topics = []string{topic}
	cfg.BufferRecords = 3
	tb := startBridge(t, cfg)
	col, _ := tb.subscribe(t, topic, "drivers", "", true)
	ask := func(i int) *PublishAccepted {
		t.Helper()
		f := tb.system.Root.RequestFuture(tb.pid, &Publish{Topic: topic, Key: "alice", Msg: &messages.Ticket{TicketId: fmt.Sprint(i)}}, 100*time.Millisecond)
		res, err := f.Result()
		if err != nil {
			return nil
		}
		return res.(*PublishAccepted)
	}
	for i := range 3 {
		if a := ask(i); a == nil || a.Err != nil {
			t.Fatalf("publish %d within the bound: %v", i, a)
		}
	}
	// Over the bound: the answer is held back.
	held := tb.system.Root.RequestFuture(tb.pid, &Publish{Topic: topic, Key: "alice", Msg: &messages.Ticket{TicketId: "3"}}, 30*time.Second)
	tb.publish(topic, "alice", &messages.Ticket{TicketId: "4"}) // fire and forget: kept too
	eventually(t, 5*time.Second, "the WARN about the full buffer", func() bool { return len(tb.log.Lines("buffer for Kafka is full")) == 1 })
	if _, err := tb.system.Root.RequestFuture(tb.pid, &Publish{Topic: topic, Key: "alice", Msg: &messages.Ticket{TicketId: "5"}}, 200*time.Millisecond).Result(); err == nil {
		t.Fatal("a publisher over the bound got its answer while Kafka is away")
	}
	startEmbedded(t, EmbeddedOptions{Addr: addr})
	res, err := held.Result()
	if err != nil {
		t.Fatalf("the held publisher never got its answer: %v", err)
	}
	if a := res.(*PublishAccepted); a.Err != nil {
		t.Fatal(a.Err)
	}
	eventually(t, 20*time.Second, "all 6 tickets", func() bool { return col.count.Load() == 6 })
	if w := tb.log.Lines("| WARN |"); len(w) != 1 {
		t.Errorf("want only the one WARN about the buffer, got %q", w)
	}
}

func TestUnknownMessageTypeIsRefusedWithAnError(t *testing.T) {
	tb := startBridge(t, testConfig(freeAddr(t)))
	res, err := tb.system.Root.RequestFuture(tb.pid, &Publish{Topic: "x", Key: "k", Msg: &messages.Envelope{}}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if a := res.(*PublishAccepted); a.Err == nil || !strings.Contains(a.Err.Error(), "unknown message type") {
		t.Fatalf("want an unknown type error, got %v", a.Err)
	}
}

// A subscriber that stops before it is done gives its record back: the next
// subscriber of the key gets it.
func TestARecordOfAStoppedSubscriberGoesToTheNextOne(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	topic := uniqueName(t, "updates")
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{topic}
	tb := startBridge(t, cfg)
	first, firstPID := tb.subscribe(t, topic, "drivers", "bob", false)
	tb.awaitState(t, StateReady, 10*time.Second)
	tb.publish(topic, "bob", &messages.DriverNotice{DriverId: "bob", Text: "cannot reach Central"})
	eventually(t, 20*time.Second, "the first subscriber's delivery", func() bool { return first.count.Load() == 1 })
	_ = tb.system.Root.StopFuture(firstPID).Wait()
	second, _ := tb.subscribe(t, topic, "drivers", "bob", true)
	eventually(t, 10*time.Second, "the record handed to the next subscriber", func() bool { return second.count.Load() == 1 })
}

// Many records that do not decode give one WARN per interval, all counted.
func TestBadRecordWarningsAreRateLimited(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	topic := uniqueName(t, "status")
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{topic}
	cfg.Partitions = 1
	cfg.BadRecordLogEvery = time.Hour
	tb := startBridge(t, cfg)
	col, _ := tb.subscribe(t, topic, "central", "", true)
	tb.awaitState(t, StateReady, 10*time.Second)
	for range 5 {
		produceRaw(t, e.Addr(), topic, "CP-001", []byte{0xff, 0xff, 0xff})
	}
	tb.publish(topic, "CP-001", &messages.StatusChange{CpId: "CP-001"})
	eventually(t, 20*time.Second, "the good record", func() bool { return col.count.Load() == 1 })
	if n := tb.run.KafkaRecordsBad.Load(); n != 5 {
		t.Errorf("counted %d bad records, want 5", n)
	}
	if w := tb.log.Lines("Skipped a record that does not decode"); len(w) != 1 {
		t.Errorf("want one WARN for 5 bad records within the interval, got %q", w)
	}
}

// A long outage with steady telemetry keeps one reading per charge point,
// however many come.
func TestKeptTelemetryStaysBoundedInALongOutage(t *testing.T) {
	b := newBridge(DefaultConfig("127.0.0.1:1"), component(logging.Discard()), stats.New())
	for i := range 100_000 {
		b.seq++
		b.keep(&outRecord{seq: b.seq, topic: TopicTelemetry, key: fmt.Sprintf("CP-%03d", i%5)})
	}
	b.seq++
	b.keep(&outRecord{seq: 1, topic: TopicTelemetry, key: "CP-001"}) // an old reading handed back late
	if b.pendingLive != 5 || len(b.pending) > 2*5+1024 {
		t.Fatalf("kept %d readings in %d slots, want 5 in a few", b.pendingLive, len(b.pending))
	}
	for _, r := range b.pending {
		if r != nil && r.seq < 99_990 {
			t.Fatalf("an old reading (seq %d) is kept", r.seq)
		}
	}
}

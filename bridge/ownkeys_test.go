package bridge

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// A driver process reads driver.updates with a consumer group of its own, so
// Kafka hands it every driver's records. It keeps only its own: the others
// are skipped as they arrive (no WARN about held records, nothing held),
// and its own are all delivered, in order, also those that came while its
// subscriber was away. (Part of the conformance suite: run
// TestConformanceEmbedded/KeepsOnlyItsOwnKeys.)
func testKeepsOnlyItsOwnKeys(t *testing.T, b *brokerUnderTest) {
	topic, group := uniqueName(t, "updates"), uniqueName(t, "driver-alice")
	cfg := b.config(t, topic)
	cfg.HoldPerConsumer = 50 // small, so that holding others' records shows at once
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 20*time.Second)

	const others, each = 100, 5
	seq := map[string]uint64{}
	publishRound := func() {
		for i := range others {
			id := fmt.Sprintf("driver-%03d", i)
			for range each {
				seq[id]++
				tb.publish(topic, id, &messages.Telemetry{DriverId: id, Seq: seq[id]})
			}
		}
		for range each {
			seq["alice"]++
			tb.publish(topic, "alice", &messages.Telemetry{DriverId: "alice", Seq: seq["alice"]})
		}
	}
	publishRound() // already on the topic when the driver starts
	alice, alicePID := tb.subscribe(t, topic, group, "alice", true)
	publishRound()
	total := int64(2 * (others + 1) * each)
	eventually(t, 30*time.Second, "every record consumed", func() bool { return tb.run.KafkaRecordsIn.Load() == total })
	eventually(t, 10*time.Second, "alice's 10 records", func() bool { return alice.count.Load() == 2*each })
	eventually(t, 10*time.Second, "nothing in flight", func() bool { return tb.stats(t).InFlightRecords == 0 })
	if s := tb.stats(t); s.HeldRecords != 0 || s.NotOursRecords != int(total)-2*each {
		t.Errorf("held %d records, skipped %d as not ours; want 0 held and %d skipped", s.HeldRecords, s.NotOursRecords, total-2*each)
	}

	// alice away (her actor stopped): her records are hers still, held
	// until she is back, and then handed over in order.
	_ = tb.system.Root.StopFuture(alicePID).Wait()
	publishRound()
	eventually(t, 30*time.Second, "the third round consumed", func() bool { return tb.run.KafkaRecordsIn.Load() == total*3/2 })
	back, _ := tb.subscribe(t, topic, group, "alice", true)
	eventually(t, 10*time.Second, "alice's records from while she was away", func() bool { return back.count.Load() == each })
	for i, d := range append(alice.deliveries(), back.deliveries()...) {
		if tm := d.Msg.(*messages.Telemetry); tm.DriverId != "alice" || tm.Seq != uint64(i+1) {
			t.Fatalf("delivery %d is %s seq %d; want alice's in order", i, tm.DriverId, tm.Seq)
		}
	}
	if w := tb.log.Lines("| WARN |"); len(w) != 0 {
		t.Errorf("want no WARN in a healthy run, got %q", w)
	}
}

// A bridge actor that restarts (a bug made it panic) knows no subscriber
// until they repeat their subscriptions: for Config.RestartGrace it holds
// every key's records, so a driver that is a moment late still gets its
// own; then the records of keys nobody came back for are skipped.
func TestARestartedBridgeHoldsEveryKeyUntilItsSubscribersAreBack(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	topic, group := uniqueName(t, "updates"), uniqueName(t, "drivers")
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{topic}
	cfg.RestartGrace = 5 * time.Second
	logger, _ := newTestLogger(t)
	system := newSystem(t)
	run := stats.New()
	props, err := Props(cfg, logger, run)
	if err != nil {
		t.Fatal(err)
	}
	// The bridge as the child of a parent that can restart it, as a
	// supervisor does after a panic.
	type restart struct{}
	var bridgePID *actor.PID
	spawned := make(chan struct{})
	parent := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			bridgePID = c.Spawn(props)
			close(spawned)
		case restart:
			c.(interface{ RestartChildren(...*actor.PID) }).RestartChildren(bridgePID)
		}
	}))
	t.Cleanup(func() { _ = system.Root.StopFuture(parent).Wait() })
	<-spawned
	tb := &testBridge{system: system, pid: bridgePID, run: run}
	alice, _ := tb.subscribe(t, topic, group, "alice", true)
	bob, _ := tb.subscribe(t, topic, group, "bob", true)
	tb.publish(topic, "alice", &messages.Telemetry{DriverId: "alice", Seq: 1})
	tb.publish(topic, "bob", &messages.Telemetry{DriverId: "bob", Seq: 1})
	eventually(t, 20*time.Second, "the first records", func() bool { return alice.count.Load() == 1 && bob.count.Load() == 1 })

	system.Root.Send(parent, restart{})
	eventually(t, 10*time.Second, "a bridge that forgot its subscribers", func() bool { return tb.stats(t).Subscriptions == 0 })
	restarted := time.Now()
	// alice repeats her subscription at once, bob a moment later.
	alice2, _ := tb.subscribe(t, topic, group, "alice", true)
	tb.publish(topic, "alice", &messages.Telemetry{DriverId: "alice", Seq: 2})
	tb.publish(topic, "bob", &messages.Telemetry{DriverId: "bob", Seq: 2})
	tb.publish(topic, "zed", &messages.Telemetry{DriverId: "zed", Seq: 1}) // nobody's here
	eventually(t, 20*time.Second, "alice's record after the restart", func() bool { return alice2.count.Load() == 1 })
	eventually(t, 10*time.Second, "bob's and zed's records held", func() bool { return tb.stats(t).HeldRecords == 2 })
	if time.Since(restarted) > cfg.RestartGrace {
		t.Skip("the machine was too slow to subscribe bob within the grace")
	}
	bob2, _ := tb.subscribe(t, topic, group, "bob", true)
	eventually(t, 10*time.Second, "bob's record, held for him", func() bool { return bob2.count.Load() == 1 })
	eventually(t, 2*cfg.RestartGrace, "zed's record skipped after the grace", func() bool {
		s := tb.stats(t)
		return s.HeldRecords == 0 && s.NotOursRecords == 1
	})
}

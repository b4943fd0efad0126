package bridge

import (
	"fmt"
	"testing"
	"time"

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

package bridge

import (
	"fmt"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
)

func TestRoundTripRoutesByKey(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	cfg := testConfig(e.Addr())
	topic := uniqueName(t, "cmd")
	cfg.Topics = []string{topic}
	tb := startBridge(t, cfg)
	one, _ := tb.subscribe(t, topic, "g", "CP-001", true)
	two, _ := tb.subscribe(t, topic, "g", "CP-002", true)
	tb.awaitState(t, StateReady, 10*time.Second)
	for i := range 10 {
		cp := fmt.Sprintf("CP-%03d", i%2+1)
		tb.publish(topic, cp, &messages.Command{CommandId: fmt.Sprint(i), CpId: cp})
	}
	eventually(t, 20*time.Second, "10 deliveries", func() bool { return one.count.Load()+two.count.Load() == 10 })
	for _, d := range one.deliveries() {
		if d.Key != "CP-001" || d.Msg.(*messages.Command).CpId != "CP-001" {
			t.Errorf("CP-001's subscriber got %s %v", d.Key, d.Msg)
		}
	}
	if n := len(one.deliveries()); n != 5 {
		t.Errorf("CP-001 got %d records, want 5", n)
	}
	if tb.run.KafkaRecordsIn.Load() != 10 {
		t.Errorf("records in = %d", tb.run.KafkaRecordsIn.Load())
	}
	eventually(t, 5*time.Second, "records out counted", func() bool { return tb.run.KafkaRecordsOut.Load() == 10 })
}

func TestOrderPerKeyAndHeldRecordsReachALateSubscriber(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	cfg := testConfig(e.Addr())
	topic := uniqueName(t, "updates")
	cfg.Topics = []string{topic}
	tb := startBridge(t, cfg)
	early, _ := tb.subscribe(t, topic, "drivers", "alice", true)
	tb.awaitState(t, StateReady, 10*time.Second)
	for i := range 20 {
		tb.publish(topic, "alice", &messages.Telemetry{DriverId: "alice", Seq: uint64(i)})
		tb.publish(topic, "bob", &messages.Telemetry{DriverId: "bob", Seq: uint64(i)})
	}
	eventually(t, 20*time.Second, "alice's 20 records", func() bool { return early.count.Load() == 20 })
	// bob has no subscriber yet: his records are held, then handed over in order.
	late, _ := tb.subscribe(t, topic, "drivers", "bob", true)
	eventually(t, 20*time.Second, "bob's 20 held records", func() bool { return late.count.Load() == 20 })
	for name, col := range map[string]*collector{"alice": early, "bob": late} {
		for i, d := range col.deliveries() {
			tm := d.Msg.(*messages.Telemetry)
			if tm.DriverId != name || tm.Seq != uint64(i) {
				t.Fatalf("%s: delivery %d is %s seq %d (want in order)", name, i, tm.DriverId, tm.Seq)
			}
		}
	}
}

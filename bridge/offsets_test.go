package bridge

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/messages"
)

// committedOffset asks the broker for the group's committed offset of partition 0.
func committedOffset(t *testing.T, broker, group, topic string) int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin([]string{broker}, sarama.NewConfig())
	if err != nil {
		return -2
	}
	defer func() { _ = admin.Close() }()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0}})
	if err != nil {
		return -2
	}
	if b := resp.GetBlock(topic, 0); b != nil {
		return b.Offset
	}
	return -1
}

func TestOffsetIsMarkedOnlyAfterDone(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	cfg := testConfig(e.Addr())
	cfg.Partitions = 1
	topic, group := uniqueName(t, "tickets"), uniqueName(t, "group")
	cfg.Topics = []string{topic}

	first := startBridge(t, cfg)
	col, _ := first.subscribe(t, topic, group, "", false)
	first.awaitState(t, StateReady, 10*time.Second)
	for i := range 3 {
		first.publish(topic, "alice", &messages.Ticket{TicketId: string(rune('a' + i)), DriverId: "alice"})
	}
	eventually(t, 20*time.Second, "3 deliveries", func() bool { return col.count.Load() == 3 })
	ds := col.deliveries()
	// Done out of order: the third first. Nothing may be committed past the first.
	ds[2].Done()
	ds[0].Done()
	ds[0].Done() // twice is harmless
	eventually(t, 10*time.Second, "offset 1 committed", func() bool { return committedOffset(t, e.Addr(), group, topic) == 1 })
	_ = first.system.Root.StopFuture(first.pid).Wait()

	// A new process of the same group gets the record that was not done, and the one after it.
	second := startBridge(t, cfg)
	again, _ := second.subscribe(t, topic, group, "", true)
	eventually(t, 30*time.Second, "records 1 and 2 again", func() bool { return again.count.Load() >= 2 })
	got := again.deliveries()
	if got[0].Offset != 1 || got[0].Msg.(*messages.Ticket).TicketId != "b" {
		t.Fatalf("first redelivery is offset %d %v, want offset 1 (ticket b)", got[0].Offset, got[0].Msg)
	}
	eventually(t, 10*time.Second, "offset 3 committed", func() bool { return committedOffset(t, e.Addr(), group, topic) == 3 })
}

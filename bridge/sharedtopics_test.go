package bridge

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// A topic of a shared consumption that exists with fewer partitions than
// the others (auto-created on first use with the broker's num.partitions,
// as a three-node cluster did with cp.status: 3 against 6) is grown to the
// others' count before the group consumes it: every topic's partition p
// then holds the same keys, so one member gets all of a key's records.
// Before, the member got partitions [0 1 2] of the 6-partition topics and
// [0 1] of the 3-partition one, and a charge point's status and its supply
// ends reached different Centrals.
func TestSharedConsumptionGrowsATopicWithFewerPartitions(t *testing.T) {
	addr := startEmbedded(t, EmbeddedOptions{}).Addr()
	topics := []string{uniqueName(t, "a"), uniqueName(t, "b"), uniqueName(t, "c")}
	admin, err := sarama.NewClusterAdmin([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(topics[1], &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(addr)
	cfg.Partitions = 6
	cfg.Topics = topics
	cfg.GroupSessionTimeout = 2 * time.Second
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 30*time.Second)
	got := tb.subscribeShared(t, "shared", uniqueName(t, "group"), topics)
	eventually(t, 30*time.Second, "an assignment", func() bool { return got.last() != nil })
	m := got.last()
	for _, tp := range topics {
		if m.PartitionCounts[tp] != 6 || !slices.Equal(m.Partitions[tp], []int32{0, 1, 2, 3, 4, 5}) {
			t.Fatalf("%s: %d partitions, got %v; want the six of every topic: %+v", tp, m.PartitionCounts[tp], m.Partitions[tp], m)
		}
	}
	var warned bool
	for _, l := range tb.log.Lines("Grew " + topics[1] + " from 3 to 6 partitions") {
		warned = warned || (strings.Contains(l, "WARN") && strings.Contains(l, "--partitions 6"))
	}
	if !warned {
		t.Fatalf("no WARN about the grown topic naming --partitions:\n%s", tb.log)
	}
}

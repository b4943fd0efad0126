package bridge

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
)

// A role may publish the moment the bridge says ready (the weather office
// does). On Apache Kafka a topic just created is not in every broker's
// metadata at once: a produce then failed with "topic or partition does
// not exist", which the bridge took for an outage (one WARN "Lost Kafka").
// Ready now means the topics it created answer.
func TestIntegrationPublishRightAfterReadyOnFreshTopics(t *testing.T) {
	publishRightAfterReady(t, realKafkaUnderTest(t).addr)
}

func TestPublishRightAfterReadyOnFreshTopics(t *testing.T) {
	publishRightAfterReady(t, startEmbedded(t, EmbeddedOptions{}).Addr())
}

func publishRightAfterReady(t *testing.T, addr string) {
	cfg := testConfig(addr)
	cfg.Partitions = 6 // as the network's topics
	for i := range 12 {
		cfg.Topics = append(cfg.Topics, uniqueName(t, fmt.Sprintf("fresh%d", i)))
	}
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 60*time.Second)
	for _, topic := range cfg.Topics {
		for p := range cfg.Partitions {
			tb.publish(topic, fmt.Sprintf("key-%d", p), &messages.Ticket{SessionId: topic})
		}
	}
	for _, topic := range cfg.Topics {
		eventually(t, 20*time.Second, "records on "+topic, func() bool {
			return recordsIn(t, addr, topic, cfg.Partitions) == int64(cfg.Partitions)
		})
	}
	if seen := tb.states.seen(); slices.Contains(seen, StateOutage) {
		t.Fatalf("the bridge went through an outage after ready: %v\n%s", seen, tb.log)
	}
}

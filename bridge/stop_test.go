package bridge

import (
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/messages"
)

// Publishes sent just before the bridge is stopped are produced, not
// dropped: a shutdown's last tickets reach Kafka. (Stopping with a system
// message overtook the mailbox: a ticket Central published at shutdown was
// sometimes lost.)
func TestStopProducesWhatWasSentBefore(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	topic := uniqueName(t, "tickets")
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{topic}
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 20*time.Second)
	const n = 2000
	for i := range n {
		tb.publish(topic, fmt.Sprintf("driver-%d", i%50), &messages.Ticket{SessionId: fmt.Sprint(i)})
	}
	if err := Stop(tb.system, tb.pid); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if got := recordsIn(t, e.Addr(), topic, cfg.Partitions); got != n {
		t.Fatalf("%d records on %s after Stop, want %d", got, topic, n)
	}
}

// recordsIn counts the records of topic (its newest offsets, summed).
func recordsIn(t *testing.T, broker, topic string, partitions int) int64 {
	t.Helper()
	client, err := sarama.NewClient([]string{broker}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	var sum int64
	for p := range int32(partitions) {
		off, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatalf("offset of %s/%d: %v", topic, p, err)
		}
		sum += off
	}
	return sum
}

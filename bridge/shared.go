package bridge

import (
	"maps"
	"slices"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
)

// Shared consumption: several topics read in ONE Kafka consumer group
// (Subscribe.Topics), so that the processes of the group split the keys
// the same way on every topic. The bridge's groups are range-assigned and
// every topic it creates has Config.Partitions partitions: a member that
// gets partitions [0 1] of cp.status gets [0 1] of cp.telemetry too, and so
// every record of a key (a charge point) goes to the same process.

// Assigned tells the subscribers of a shared consumption which partitions
// this process got, after every rebalance (also when it got none).
type Assigned struct {
	// Topic is the name of the consumption (Subscribe.Topic), Group its group.
	Topic, Group string
	// Generation is the Kafka group's generation: it grows with every
	// rebalance, so of two members that claim a partition the one with
	// the higher generation has it.
	Generation int32
	// MemberID is this process's id in the Kafka group.
	MemberID string
	// Partitions are the partitions got, by topic, each sorted.
	Partitions map[string][]int32
	// PartitionCounts are how many partitions each topic has (0: unknown):
	// a topic that existed before the bridge may not have Config.Partitions.
	PartitionCounts map[string]int32
}

// assignedNote carries an assignment from a session's goroutine to the bridge.
type assignedNote struct {
	key tgKey
	gen uint64
	msg *Assigned
}

func newAssigned(cfg *Config, key tgKey, gen uint64, sess sarama.ConsumerGroupSession, client sarama.Client, topics []string) *assignedNote {
	parts, counts := map[string][]int32{}, map[string]int32{}
	for topic, ps := range sess.Claims() {
		ps = slices.Clone(ps)
		slices.Sort(ps)
		parts[cfg.roleTopic(topic)] = ps
	}
	for _, topic := range topics {
		if all, err := client.Partitions(cfg.kafkaTopic(topic)); err == nil {
			counts[topic] = int32(len(all))
		}
	}
	return &assignedNote{key: key, gen: gen, msg: &Assigned{
		Topic: key.topic, Group: key.group, Generation: sess.GenerationID(), MemberID: sess.MemberID(), Partitions: parts,
		PartitionCounts: counts,
	}}
}

// assigned hands an assignment to every subscriber of the consumption.
func (b *bridge) assigned(c actor.Context, m *assignedNote) {
	cons := b.consumers[m.key]
	if cons == nil || !cons.running || cons.gen != m.gen {
		return
	}
	for _, key := range slices.Sorted(maps.Keys(cons.subs)) {
		for _, s := range cons.subs[key] {
			c.Send(s.pid, m.msg)
		}
	}
}

// PartitionOf is the partition a record with key goes to among n
// partitions: the producer's own hash partitioner (sarama's FNV-1a), so
// that a consumer can tell which keys its partitions hold.
func PartitionOf(key string, n int32) int32 {
	p, err := sarama.NewHashPartitioner("").Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
	if err != nil {
		return 0
	}
	return p
}

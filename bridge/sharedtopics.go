package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/sirupsen/logrus"
)

// The topics of a shared consumption must have one partition count: the
// group's members get the same partition numbers of each topic, and a
// charge point's records of two topics of different counts land in
// different partitions, so at different members (its status at one
// Central, its supply ends at another). A topic the bridge did not create
// (auto-created on first use with the broker's num.partitions, or made by
// an operator) may have another count. Before a shared consumption starts,
// the bridge creates its missing topics and grows those with fewer
// partitions to the most any of them has (at least Config.Partitions).

// alignAttempts bound the tries to align the topics of a shared
// consumption before it consumes them as they are (with a WARN).
const alignAttempts = 10

// alignSharedTopics gives the topics of a shared consumption one partition
// count, trying again while the broker does not answer; false if ctx ended.
func (b *bridge) alignSharedTopics(ctx context.Context, log *logrus.Entry, client sarama.Client, topics []string) bool {
	if len(topics) < 2 {
		return true
	}
	for attempt := 1; ; attempt++ {
		grown, err := alignPartitionCounts(&b.cfg, client, topics)
		for _, g := range grown {
			log.Warnf("Grew %s from %d to %d partitions, as the other topics read in this group (--partitions %d): records of one key must reach the same member on every topic; keys of this topic now go to other partitions",
				g.topic, g.from, g.to, b.cfg.Partitions)
		}
		if err == nil {
			return true
		}
		if attempt == alignAttempts {
			log.WithField("error", err).Warnf("Could not give the topics %v one partition count (--partitions %d); reading them as they are", topics, b.cfg.Partitions)
			return true
		}
		log.WithField("error", err).Debug("Cannot align the partition counts of the shared topics yet")
		if !sleepCtx(ctx, time.Second) {
			return false
		}
	}
}

type grownTopic struct {
	topic    string
	from, to int32
}

// alignPartitionCounts creates the missing topics of topics and grows the
// others to one partition count: the largest of theirs and cfg.Partitions.
func alignPartitionCounts(cfg *Config, client sarama.Client, topics []string) ([]grownTopic, error) {
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, cfg.baseSarama())
	if err != nil {
		return nil, fmt.Errorf("connect to align partition counts: %w", err)
	}
	defer func() { _ = admin.Close() }()
	counts, err := partitionCounts(admin, cfg, topics)
	if err != nil {
		return nil, err
	}
	target := int32(cfg.Partitions)
	for _, n := range counts {
		target = max(target, n)
	}
	var grown []grownTopic
	changed := false
	for _, t := range topics {
		name := cfg.kafkaTopic(t)
		switch n := counts[t]; {
		case n == 0:
			err := admin.CreateTopic(name, cfg.topicDetail(t, target), false)
			if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
				return grown, fmt.Errorf("create topic %s: %w", name, err)
			}
			changed = true
		case n < target:
			if err := admin.CreatePartitions(name, target, nil, false); err != nil {
				// Another member may have grown it a moment ago.
				now, derr := partitionCounts(admin, cfg, []string{t})
				if derr != nil || now[t] < target {
					return grown, fmt.Errorf("grow topic %s from %d to %d partitions: %w", name, n, target, err)
				}
			} else {
				grown = append(grown, grownTopic{topic: t, from: n, to: target})
			}
			changed = true
		}
	}
	if !changed {
		return nil, nil
	}
	// Created or grown a moment ago: wait until every partition has a leader.
	if err := awaitTopics(client, cfg.kafkaTopics(topics), topicsReadyTimeout); err != nil {
		return grown, err
	}
	for _, t := range topics {
		if all, err := client.Partitions(cfg.kafkaTopic(t)); err != nil || int32(len(all)) < target {
			return grown, fmt.Errorf("topic %s does not show %d partitions yet", cfg.kafkaTopic(t), target)
		}
	}
	return grown, nil
}

// partitionCounts are the partition counts of topics on the broker, 0 for
// a topic that does not exist.
func partitionCounts(admin sarama.ClusterAdmin, cfg *Config, topics []string) (map[string]int32, error) {
	metas, err := admin.DescribeTopics(cfg.kafkaTopics(topics))
	if err != nil {
		return nil, fmt.Errorf("describe topics %v: %w", topics, err)
	}
	counts := map[string]int32{}
	for _, m := range metas {
		switch {
		case errors.Is(m.Err, sarama.ErrUnknownTopicOrPartition):
		case m.Err != sarama.ErrNoError:
			return nil, fmt.Errorf("describe topic %s: %w", m.Name, m.Err)
		default:
			counts[cfg.roleTopic(m.Name)] = int32(len(m.Partitions))
		}
	}
	return counts, nil
}

package testutil

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// FirstRecord reads topic from its start with a plain consumer (as anyone
// who can reach the broker could) and returns the value of the first
// record of key; the test fails when none comes within 30 s.
func FirstRecord(t testing.TB, brokers, topic, key string) []byte {
	t.Helper()
	return RecordWhere(t, brokers, topic, "record of "+key, func(k string, _ []byte) bool { return k == key })
}

// RecordWhere is FirstRecord for the first record, in any partition, that
// match accepts (called from one goroutine per partition); what names it
// when none comes.
func RecordWhere(t testing.TB, brokers, topic, what string, match func(key string, value []byte) bool) []byte {
	t.Helper()
	c, err := sarama.NewConsumer(strings.Split(brokers, ","), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	found := make(chan []byte, len(parts))
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = pc.Close() }()
		go func() {
			for m := range pc.Messages() {
				if match(string(m.Key), m.Value) {
					found <- m.Value
					return
				}
			}
		}()
	}
	select {
	case v := <-found:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s on %s", what, topic)
	}
	return nil
}

// ProduceRecord writes value under key with a plain producer.
func ProduceRecord(t testing.TB, brokers, topic, key string, value []byte) {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer(strings.Split(brokers, ","), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// ReadTopic returns the values of topic's records from the given offsets
// (the start of a partition not named) to its end, partition by partition,
// read with a plain consumer as anyone who can reach the broker could.
func ReadTopic(t testing.TB, brokers []string, topic string, from map[int32]int64) [][]byte {
	t.Helper()
	out, err := ReadTopicValues(brokers, topic, from)
	if err != nil {
		t.Fatalf("read %s: %v", topic, err)
	}
	return out
}

// ReadTopicValues is ReadTopic that returns what went wrong instead of
// failing the test, for callers that poll a broker until it serves the
// topic (a loaded machine, a partition whose leader moved). A start
// before the oldest record kept reads from the oldest.
func ReadTopicValues(brokers []string, topic string, from map[int32]int64) ([][]byte, error) {
	client, err := sarama.NewClient(brokers, sarama.NewConfig())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, err
		}
		oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, err
		}
		start, ok := from[p]
		if !ok || start < oldest {
			start = oldest
		}
		if start >= end {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			return nil, err
		}
		for off := start; off < end; {
			select {
			case m := <-pc.Messages():
				off = m.Offset + 1
				out = append(out, m.Value)
			case cerr := <-pc.Errors():
				_ = pc.Close()
				return nil, cerr
			case <-time.After(10 * time.Second):
				_ = pc.Close()
				return nil, fmt.Errorf("partition %d: stuck before offset %d of %d (from %d)", p, off, end, start)
			}
		}
		_ = pc.Close()
	}
	return out, nil
}

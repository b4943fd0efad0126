package bridge

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// BenchmarkBareSaramaRoundTrip is the floor `make bench`'s scale table
// compares evsim's CPU per telemetry record with: bare sarama producing b.N
// telemetry records (encoded once, as the engine's are) with the bridge's
// producer settings and consuming them with a consumer group of the
// bridge's consumer settings, marking each, in one process that does
// nothing else. It reports the CPU time (user + system) per record.
//
// EVSIM_BENCH_BROKERS names the broker (the scale table passes the broker
// evsim ran against, in another process, so only the client's CPU is
// counted); without it an embedded broker runs in this process and its CPU
// is counted too.
//
//	EVSIM_BENCH_BROKERS=127.0.0.1:9092 go test -run '^$' -bench BareSaramaRoundTrip -benchtime 100000x ./bridge/
func BenchmarkBareSaramaRoundTrip(b *testing.B) {
	brokers := strings.Split(os.Getenv("EVSIM_BENCH_BROKERS"), ",")
	where := "an external broker (client CPU only)"
	if brokers[0] == "" {
		e, err := StartEmbedded(EmbeddedOptions{Addr: "127.0.0.1:0"})
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		brokers, where = []string{e.Addr()}, "an embedded broker in this process (its CPU counted)"
	}
	topic := fmt.Sprintf("bench.bare.%d", time.Now().UnixNano())
	cfg := Config{Brokers: brokers, Topics: []string{topic}}
	cfg.setDefaults()
	admin, err := sarama.NewClusterAdmin(brokers, cfg.baseSarama())
	if err != nil {
		b.Fatal(err)
	}
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(cfg.Partitions), ReplicationFactor: 1}, false); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = admin.DeleteTopic(topic); _ = admin.Close() }()

	// A telemetry reading in its envelope, the record evsim sends most.
	value, err := Encode(&messages.Telemetry{SessionId: "6f1d2a3b-8c4e-4a7f-b0d2-9e8f7a6b5c4d", DriverId: "driver-04217",
		CpId: "CP-017042", Kw: 22, Kwh: 3.667, Eur: 1.10, At: timestamppb.Now(), Seq: 17}, cfg.ClientID)
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("CP-%06d", i+1)
	}

	n := b.N
	var consumed atomic.Int64
	all := make(chan struct{})
	group, err := sarama.NewConsumerGroup(brokers, topic+".reader", cfg.consumerSarama())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); _ = group.Close() }()
	go func() {
		for err := range group.Errors() {
			b.Logf("consumer group: %v", err)
		}
	}()
	joined := make(chan struct{})
	go func() {
		h := &countingHandler{count: &consumed, want: int64(n), all: all, joined: joined}
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				b.Error(err)
				return
			}
		}
	}()
	select {
	case <-joined:
	case <-time.After(60 * time.Second):
		b.Fatal("the consumer group did not join within 60 s")
	}

	p, err := sarama.NewAsyncProducer(brokers, cfg.producerSarama())
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for range p.Successes() {
		}
	}()
	go func() {
		for range p.Errors() {
			b.Error("bare producer error")
		}
	}()
	b.ResetTimer()
	c0, t0 := cpuTime(), time.Now()
	for i := 0; i < n; i++ {
		v := append([]byte(nil), value...) // each record owns its bytes, as the bridge's do
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(keys[i%len(keys)]), Value: sarama.ByteEncoder(v)}
	}
	select {
	case <-all:
	case <-time.After(10*time.Minute + time.Duration(n)*time.Millisecond):
		b.Fatalf("consumed %d of %d records", consumed.Load(), n)
	}
	cpu, took := cpuTime()-c0, time.Since(t0)
	b.StopTimer()
	_ = p.Close()
	perRecord := float64(cpu.Nanoseconds()) / 1000 / float64(n)
	b.ReportMetric(perRecord, "cpu-µs/rec")
	if n > 1 {
		b.Logf("bare sarama round trip: records=%d size=%dB cpu_us_per_record=%.2f rate=%.0f/s against %s",
			n, len(value), perRecord, float64(n)/took.Seconds(), where)
	}
}

// countingHandler marks every record it is given and closes all when want
// records have come.
type countingHandler struct {
	count  *atomic.Int64
	want   int64
	all    chan struct{}
	joined chan struct{}
	once   atomic.Bool
}

func (h *countingHandler) Setup(sarama.ConsumerGroupSession) error {
	if h.once.CompareAndSwap(false, true) {
		close(h.joined)
	}
	return nil
}

func (h *countingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *countingHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		if h.count.Add(1) == h.want {
			close(h.all)
		}
	}
	return nil
}

package bridge

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/messages"
)

// publishThroughBridge starts a bridge with cfg, publishes n copies of msg
// on topic over keys (round robin) and returns the time until Kafka
// acknowledged the last. The publisher keeps at most 16k records not yet
// acknowledged, as sarama's unbuffered Input holds a bare producer's
// sender: a flood of 10^5 queued messages would measure the garbage
// collector scanning them, not the bridge.
func publishThroughBridge(b *testing.B, cfg Config, n int, topic string, keys []string, msg proto.Message) time.Duration {
	system := newBenchSystem()
	defer system.Shutdown()
	run := stats.New()
	pid, err := Start(system, cfg, logging.Discard(), run)
	if err != nil {
		b.Fatal(err)
	}
	ready := make(chan error, 1)
	go func() { ready <- AwaitReady(b.Context(), system, pid) }()
	if err := <-ready; err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const window, check = 16384, 1024
	for i := 0; i < n; i++ {
		if i%check == 0 {
			for int64(i)-run.KafkaRecordsOut.Load() > window {
				time.Sleep(100 * time.Microsecond)
			}
		}
		system.Root.Send(pid, &Publish{Topic: topic, Key: keys[i%len(keys)], Msg: msg})
	}
	for run.KafkaRecordsOut.Load() < int64(n) {
		time.Sleep(time.Millisecond)
	}
	took := time.Since(start)
	_ = system.Root.StopFuture(pid).Wait()
	return took
}

// BenchmarkSealedPublishThroughput compares, in one run and into the same
// embedded broker (which acknowledges without keeping), the bridge's
// publish throughput with encryption on and off: the same supply ends of
// 100 charge points on cp.session_end, sealed with each charge point's
// AES-256-GCM key, or in clear. Each op is one record; both sides send b.N
// records five times, alternating; it reports the best rate of each, their
// ratio, the median of the rounds' ratios and the CPU time per record.
//
// scripts/bench.sh (make bench, section seal) runs it:
//
//	go test -run '^$' -bench SealedPublishThroughput -benchtime 200000x ./bridge/
func BenchmarkSealedPublishThroughput(b *testing.B) {
	e, err := StartEmbedded(EmbeddedOptions{Addr: "127.0.0.1:0", discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	clear := Config{Brokers: []string{e.Addr()}, Partitions: 6, Topics: []string{TopicSessionEnd}}
	clear.setDefaults()
	keys := make([]string, 100)
	ring := seal.NewKeyring()
	for i := range keys {
		keys[i] = fmt.Sprintf("CP-%03d", i+1)
		k, err := seal.NewKey(keys[i])
		if err != nil {
			b.Fatal(err)
		}
		ring.Install(k)
	}
	sealed := clear
	sealed.Keys = ring
	now := timestamppb.Now()
	end := &messages.SupplyEnded{
		SessionId: "CP-017-6f1d2a3b-42", RequestId: "0b7e4c2a-5f7d-4f53-9a51-3c1e2f0d9b61", DriverId: "driver-042", CpId: "CP-017",
		Kwh: 12.345, Eur: 3.70, PriceEurPerKwh: 0.30, StartedAt: now, EndedAt: now, Reason: messages.EndReason_END_REASON_COMPLETED,
	}
	clearSize, _ := Encode(end, clear.ClientID)
	sealedSize, _ := newSealer(ring, SealedTopics).encode(&outRecord{topic: TopicSessionEnd, key: "CP-017", typ: messages.MessageType_MESSAGE_TYPE_SUPPLY_ENDED, msg: end}, time.Now(), clear.ClientID)

	n := b.N
	b.ResetTimer()
	var bestClear, bestSealed time.Duration
	var ratios []float64
	for round := 0; round < 5; round++ {
		c0 := cpuTime()
		dClear := publishThroughBridge(b, clear, n, TopicSessionEnd, keys, end)
		c1 := cpuTime()
		dSealed := publishThroughBridge(b, sealed, n, TopicSessionEnd, keys, end)
		c2 := cpuTime()
		if bestClear == 0 || dClear < bestClear {
			bestClear = dClear
		}
		if bestSealed == 0 || dSealed < bestSealed {
			bestSealed = dSealed
		}
		ratios = append(ratios, dClear.Seconds()/dSealed.Seconds()*100)
		if n > 1000 {
			b.Logf("round %d: clear %.0f rec/s (%.1f µs CPU/rec), sealed %.0f rec/s (%.1f µs CPU/rec)", round+1,
				float64(n)/dClear.Seconds(), float64((c1-c0).Microseconds())/float64(n),
				float64(n)/dSealed.Seconds(), float64((c2-c1).Microseconds())/float64(n))
		}
	}
	b.StopTimer()
	clearRate, sealedRate := float64(n)/bestClear.Seconds(), float64(n)/bestSealed.Seconds()
	sort.Float64s(ratios)
	b.ReportMetric(clearRate, "clear-rec/s")
	b.ReportMetric(sealedRate, "sealed-rec/s")
	b.ReportMetric(sealedRate/clearRate*100, "sealed-%-of-clear")
	b.ReportMetric(ratios[len(ratios)/2], "median-round-%")
	b.Logf("records=%d size clear %dB sealed %dB: clear %.0f rec/s, sealed %.0f rec/s, sealed/clear %.1f%% (best of each); median of the rounds' ratios %.1f%%",
		n, len(clearSize), len(sealedSize), clearRate, sealedRate, sealedRate/clearRate*100, ratios[len(ratios)/2])
}

// BenchmarkSealOpen is the codec alone: one supply end sealed and opened
// per op (encryption's CPU cost per record, without Kafka).
func BenchmarkSealOpen(b *testing.B) {
	ring := seal.NewKeyring()
	k, err := seal.NewKey("CP-017")
	if err != nil {
		b.Fatal(err)
	}
	ring.Install(k)
	s := newSealer(ring, SealedTopics)
	r := &outRecord{topic: TopicSessionEnd, key: "CP-017", typ: messages.MessageType_MESSAGE_TYPE_SUPPLY_ENDED,
		msg: &messages.SupplyEnded{SessionId: "CP-017-6f1d2a3b-42", DriverId: "driver-042", CpId: "CP-017", Kwh: 12.345, Eur: 3.70}}
	b.ReportAllocs()
	for b.Loop() {
		v, err := s.encode(r, time.Now(), "evsim")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.decode(TopicSessionEnd, "CP-017", v); err != nil {
			b.Fatal(err)
		}
	}
}

package bridge

import (
	"fmt"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// BenchmarkPublishThroughput compares, in one run and into the same embedded
// broker, the bridge's publish throughput with a bare sarama async producer
// configured the same way (idempotent, acks=all) sending records of the same
// size (~180-byte tickets, 100 keys, 6 partitions).
//
//   - The broker acknowledges records without keeping them: its storage is
//     not what is measured.
//   - The bare producer sends pre-encoded bytes (a fresh copy per record, as
//     any real producer's records own their bytes); the bridge encodes each
//     Publish itself, so encoding is charged to the bridge alone.
//   - The bridge's publisher keeps at most 16k records unacknowledged, as
//     sarama's unbuffered Input paces the bare sender.
//   - Each op is one record. Both sides send b.N records five times,
//     alternating; it reports the best rate of each, their ratio, the median
//     of the five rounds' ratios and the CPU time per record (the machine is
//     shared, so single rounds are noisy).
//
// scripts/bench.sh (make bench) runs it:
//
//	go test -run '^$' -bench PublishThroughput -benchtime 300000x ./bridge/
func BenchmarkPublishThroughput(b *testing.B) {
	e, err := StartEmbedded(EmbeddedOptions{Addr: "127.0.0.1:0", discard: true})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	cfg := Config{Brokers: []string{e.Addr()}, Partitions: 6, Topics: []string{TopicTickets}}
	cfg.setDefaults()
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = fmt.Sprintf("CP-%03d", i+1)
	}
	// A ticket with UUID ids: about 200 bytes in its envelope, the size the
	// design's throughput figures use.
	now := timestamppb.Now()
	sample := &messages.Ticket{
		TicketId: "0b7e4c2a-5f7d-4f53-9a51-3c1e2f0d9b61", SessionId: "6f1d2a3b-8c4e-4a7f-b0d2-9e8f7a6b5c4d",
		DriverId: "driver-042", CpId: "CP-017", Kwh: 12.345, Eur: 3.70, PriceEurPerKwh: 0.30,
		StartedAt: now, EndedAt: now, Reason: messages.EndReason_END_REASON_COMPLETED,
	}
	value, err := Encode(sample, cfg.ClientID)
	if err != nil {
		b.Fatal(err)
	}

	bare := func(n int) time.Duration {
		p, err := sarama.NewAsyncProducer(cfg.Brokers, cfg.producerSarama())
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			for range p.Errors() {
				b.Error("bare producer error")
			}
		}()
		go func() {
			for i := 0; i < n; i++ {
				<-p.Successes()
			}
			close(done)
		}()
		start := time.Now()
		for i := 0; i < n; i++ {
			// Each record owns its bytes, as in any real producer; encoding
			// them is not charged to the bare producer.
			v := append([]byte(nil), value...)
			p.Input() <- &sarama.ProducerMessage{Topic: TopicTickets, Key: sarama.StringEncoder(keys[i%len(keys)]), Value: sarama.ByteEncoder(v)}
		}
		<-done
		took := time.Since(start)
		_ = p.Close()
		return took
	}

	viaBridge := func(n int) time.Duration { return publishThroughBridge(b, cfg, n, TopicTickets, keys, sample) }

	n := b.N
	b.ResetTimer()
	var bestBare, bestBridge time.Duration
	var ratios []float64
	for round := 0; round < 5; round++ {
		c0 := cpuTime()
		dBare := bare(n)
		c1 := cpuTime()
		dBridge := viaBridge(n)
		c2 := cpuTime()
		if bestBare == 0 || dBare < bestBare {
			bestBare = dBare
		}
		if bestBridge == 0 || dBridge < bestBridge {
			bestBridge = dBridge
		}
		ratios = append(ratios, dBare.Seconds()/dBridge.Seconds()*100)
		if n > 1000 {
			b.Logf("round %d: bare %.0f rec/s (%.1f µs CPU/rec), bridge %.0f rec/s (%.1f µs CPU/rec)", round+1,
				float64(n)/dBare.Seconds(), float64((c1-c0).Microseconds())/float64(n),
				float64(n)/dBridge.Seconds(), float64((c2-c1).Microseconds())/float64(n))
		}
	}
	b.StopTimer()
	bareRate := float64(n) / bestBare.Seconds()
	bridgeRate := float64(n) / bestBridge.Seconds()
	b.ReportMetric(bareRate, "bare-rec/s")
	b.ReportMetric(bridgeRate, "bridge-rec/s")
	b.ReportMetric(bridgeRate/bareRate*100, "bridge-%-of-bare")
	sort.Float64s(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "median-round-%")
	b.Logf("records=%d size=%dB bare sarama %.0f rec/s, bridge %.0f rec/s, bridge/bare %.1f%% (best of each); median of the rounds' ratios %.1f%%",
		n, len(value), bareRate, bridgeRate, bridgeRate/bareRate*100, ratios[len(ratios)/2])
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package bridge

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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
// AES-256-GCM key, or in clear. Each op is one record; each round sends b.N
// records clear and b.N sealed, which one first alternating by round, each
// after a GC (so that neither pays for the other's garbage), after a round
// of a quarter as many that is not counted. It reports the median of the
// rounds' ratios (the figure: on a shared machine a round's two halves
// see the same load), their spread, the best rate of each side, and the
// same ratio by the process's CPU time per record
// (what the throughput ratio is on a machine of its own, where the
// bridge, sarama and the broker keep both cores busy; other processes'
// load does not move it as much).
//
// scripts/bench.sh (make bench, section seal) runs it; BENCH_SEAL_ROUNDS
// (default 9) sets the rounds:
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
	rounds := 9
	if v, err := strconv.Atoi(os.Getenv("BENCH_SEAL_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}

	n := b.N
	// side publishes n records with cfg after a GC: its time and CPU time.
	side := func(cfg Config, n int) (took, cpu time.Duration) {
		runtime.GC()
		c0 := cpuTime()
		took = publishThroughBridge(b, cfg, n, TopicSessionEnd, keys, end)
		return took, cpuTime() - c0
	}
	// A round not counted: the first side would pay for the heap's growth
	// and the broker's first batches.
	side(clear, max(n/4, 1))
	side(sealed, max(n/4, 1))
	b.ResetTimer()
	var ratios, cpuRatios, clearRates, sealedRates, clearCPU, sealedCPU []float64
	for round := 0; round < rounds; round++ {
		var dClear, cClear, dSealed, cSealed time.Duration
		if round%2 == 0 {
			dClear, cClear = side(clear, n)
			dSealed, cSealed = side(sealed, n)
		} else {
			dSealed, cSealed = side(sealed, n)
			dClear, cClear = side(clear, n)
		}
		ratios = append(ratios, dClear.Seconds()/dSealed.Seconds()*100)
		cpuRatios = append(cpuRatios, cClear.Seconds()/cSealed.Seconds()*100)
		clearRates, sealedRates = append(clearRates, float64(n)/dClear.Seconds()), append(sealedRates, float64(n)/dSealed.Seconds())
		clearCPU = append(clearCPU, float64(cClear.Nanoseconds())/1e3/float64(n))
		sealedCPU = append(sealedCPU, float64(cSealed.Nanoseconds())/1e3/float64(n))
	}
	b.StopTimer()
	median := medianOf(ratios)
	b.ReportMetric(slices.Max(clearRates), "clear-rec/s")
	b.ReportMetric(slices.Max(sealedRates), "sealed-rec/s")
	b.ReportMetric(median, "median-round-%")
	b.ReportMetric(medianOf(cpuRatios), "median-round-cpu-%")
	if n <= 1000 {
		return // the calibration run: no figures
	}
	// Few lines: the testing package keeps 10 lines of a benchmark's log.
	b.Logf("records=%d per side and round, %d rounds, size clear %dB sealed %dB: sealed/clear median %.1f%% (rounds %.1f%%..%.1f%%); by CPU time median %.1f%% (rounds %.1f%%..%.1f%%): per record clear %.2f µs, sealed %.2f µs",
		n, rounds, len(clearSize), len(sealedSize), median, slices.Min(ratios), slices.Max(ratios),
		medianOf(cpuRatios), slices.Min(cpuRatios), slices.Max(cpuRatios), medianOf(clearCPU), medianOf(sealedCPU))
	b.Logf("rounds sealed/clear %%: %s", roundFigures(ratios, "%.1f"))
	b.Logf("rounds by CPU time %%:  %s", roundFigures(cpuRatios, "%.1f"))
	b.Logf("rounds clear rec/s:    %s", roundFigures(clearRates, "%.0f"))
	b.Logf("rounds sealed rec/s:   %s", roundFigures(sealedRates, "%.0f"))
}

// medianOf is the median of xs (the upper one of an even count).
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// roundFigures writes xs in round order.
func roundFigures(xs []float64, format string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf(format, x)
	}
	return strings.Join(out, " ")
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

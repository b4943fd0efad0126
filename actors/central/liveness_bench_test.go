package central_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/messages"
)

// BenchmarkLiveness is what a monitor's sign of life costs Central (the
// open mode), against the floor: the same request answered by a bare
// protoactor actor that only responds with an ack. One stand-in monitor
// registers 10,000 charge points, then sends their signs of life in bursts
// of 1,000 and waits for the acks, as many monitors do at once. Each op is
// one sign of life and its ack (allocations of both sides included).
//
//	go test -run '^$' -bench Liveness -benchmem ./actors/central/
func BenchmarkLiveness(b *testing.B) {
	const cps, burst = 10_000, 1_000
	for _, mode := range []string{"central", "bare-actor"} {
		b.Run(mode, func(b *testing.B) {
			sys, logger, _ := testkit.NewSystem(b)
			var target *actor.PID
			if mode == "central" {
				target = spawnCentral(b, sys, central.Config{LivenessTimeout: time.Hour, Logger: logger})
			} else {
				target = sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
					switch m := c.Message().(type) {
					case *messages.Liveness:
						c.Respond(&messages.LivenessAck{CpId: m.GetCpId(), Seq: m.GetSeq(), Known: true})
					case *messages.RegisterChargePoint:
						c.Respond(&messages.RegistrationResult{CpId: m.GetCpId(), Accepted: true})
					}
				}))
			}
			ids := make([]string, cps)
			for i := range ids {
				ids[i] = fmt.Sprintf("CP-%05d", i)
			}
			answers := make(chan int, 1)
			pending := 0
			mon := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
				switch m := ctx.Message().(type) {
				case []any: // a burst to send
					pending = len(m)
					for _, msg := range m {
						ctx.Request(target, msg)
					}
				case *messages.RegistrationResult, *messages.LivenessAck:
					if pending--; pending == 0 {
						answers <- 1
					}
				}
			}))
			send := func(msgs []any) {
				sys.Root.Send(mon, msgs)
				select {
				case <-answers:
				case <-time.After(time.Minute):
					b.Fatal("no answer within a minute")
				}
			}
			for i := 0; i < cps; i += burst {
				regs := make([]any, 0, burst)
				for _, id := range ids[i : i+burst] {
					regs = append(regs, &messages.RegisterChargePoint{CpId: id, Secret: "s-" + id, Kw: 22, PriceEurPerKwh: 0.3})
				}
				send(regs)
			}
			b.ReportAllocs()
			b.ResetTimer()
			c0 := processCPU()
			var seq uint64
			for done := 0; done < b.N; {
				n := min(burst, b.N-done)
				msgs := make([]any, n)
				for j := range msgs {
					seq++
					msgs[j] = &messages.Liveness{CpId: ids[(done+j)%cps], Seq: seq, EngineOk: true,
						EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED}
				}
				send(msgs)
				done += n
			}
			b.StopTimer()
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package network_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/actors/central"
	"github.com/evcharging/evsim/actors/chargepoint"
	"github.com/evcharging/evsim/actors/driver"
	"github.com/evcharging/evsim/actors/internal/testkit"
	"github.com/evcharging/evsim/actors/internal/timer"
	"github.com/evcharging/evsim/actors/monitor"
	"github.com/evcharging/evsim/actors/network"
	"github.com/evcharging/evsim/actors/supervision"
	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/stall"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// TestBudget prints what each part of a charge point costs in memory: N of
// each part (EVSIM_BUDGET=N) are started on their own in one process, at
// the rules' timings, and the live heap plus goroutine stacks they add is
// divided by N. Bare protoactor actors are measured in the same run, as the
// floor. It runs only when EVSIM_BUDGET is set (`make bench` does); it
// asserts nothing about the figures, which prove nothing on a loaded machine
// except in proportion to each other.
func TestBudget(t *testing.T) {
	n := sizeFromEnv(t, "EVSIM_BUDGET", "the memory budget of N charge points")
	h := testkit.New(t)
	peer := h.Sys.Root.Spawn(actor.PropsFromFunc(budgetPeer))
	b := &budget{t: t, h: h, n: n, parts: map[string]part{}, timers: timer.For(h.Sys).Len()}
	fmt.Printf("budget: %d of each part, live heap + goroutine stacks after a GC\n", n)
	fmt.Printf("budget: %-40s %10s %10s\n", "part", "bytes/part", "goroutines")

	var bare []*actor.PID
	b.row("protoactor actor, bare (the floor)", func() {
		bare = b.spawnN(func(int) *actor.Props { return actor.PropsFromFunc(budgetPeer) })
	}, func() { b.ping(bare) })
	b.row("bridge subscription (commands, 1 key)", func() {
		for i, pid := range bare {
			h.Sys.Root.Send(h.Bridge, &bridge.Subscribe{Topic: bridge.TopicCommands, Group: "budget", Key: fmt.Sprintf("CP-%06d", i), Subscriber: pid})
		}
	}, func() { b.subscriptions(n) })
	b.stop(bare)
	b.bareFloor()
	b.actors("actor with a timer.Every", func(int) (*actor.Props, error) {
		var tm *timer.Timers
		return actor.PropsFromFunc(func(c actor.Context) {
			switch c.Message().(type) {
			case *actor.Started:
				tm = timer.New(c)
				tm.Every(time.Second, &struct{}{})
			case *actor.Stopping:
				tm.StopAll()
			}
			budgetPeer(c)
		}), nil
	}, func(pids []*actor.PID) { b.ping(pids) })

	b.actors("engine", func(i int) (*actor.Props, error) {
		return chargepoint.Props(chargepoint.Config{CPID: budgetCP(i), Bridge: peer, Group: "engines", Logger: h.Logger, Stats: h.Stats})
	}, func(engines []*actor.PID) { b.ask(engines, &chargepoint.GetState{}) })

	meter := stall.Start(0, 0)
	defer meter.Stop()
	b.actors("monitor", func(i int) (*actor.Props, error) {
		return monitor.Props(monitor.Config{CPID: budgetCP(i), Secret: "s", Engine: peer, Central: peer,
			HealthInterval: time.Second, HealthTimeout: 500 * time.Millisecond, Stall: meter, Logger: h.Logger, Stats: h.Stats})
	}, func(monitors []*actor.PID) {
		testkit.Eventually(t, time.Minute, func() bool {
			for _, pid := range monitors {
				if s, ok := b.request(pid, &monitor.GetStatus{}).(*monitor.Status); !ok || !s.Registered {
					return false
				}
			}
			return true
		}, func() string { return "monitors not registered" })
	})

	b.actors("site supervisor (no children)", func(int) (*actor.Props, error) {
		return supervision.Props(supervision.Config{Display: "Site", Budget: supervision.DefaultBudget(), Logger: h.Logger, Stats: h.Stats})
	}, func(sites []*actor.PID) { b.ask(sites, &supervision.StopChild{Name: "none"}) })

	b.actors("driver (idle, 3 requests)", func(i int) (*actor.Props, error) {
		return driver.Props(driver.Config{ID: fmt.Sprintf("driver-%06d", i), Requests: []string{budgetCP(i), budgetCP(i + 1), budgetCP(i)},
			Bridge: peer, Group: "drivers", Progress: &driver.MemoryProgress{}, StartDelay: time.Hour, Logger: h.Logger})
	}, func(drivers []*actor.PID) { b.ask(drivers, &driver.GetStatus{}) })

	b.centralEntries()
	b.wholeNetwork()
	b.brokerRecords()
	cp := b.sum("engine", "monitor", "site supervisor (no children)", "bridge subscription (commands, 1 key)", "Central's entry (with its store row)")
	fmt.Printf("budget: %-40s %10d %10.2f\n", "= one charge point (without broker)", cp.bytes, cp.goroutines)
	d := b.sum("driver (idle, 3 requests)", "bridge subscription (commands, 1 key)", "bridge subscription (commands, 1 key)")
	fmt.Printf("budget: %-40s %10d %10.2f\n", "= one driver (2 subscriptions)", d.bytes, d.goroutines)
	fmt.Printf("budget: %-40s %10.0f\n", "= bare actors in one charge point", float64(cp.bytes)/float64(b.parts["protoactor actor, bare (the floor)"].bytes))
}

// sum adds up measured parts.
func (b *budget) sum(names ...string) (total part) {
	for _, n := range names {
		p, ok := b.parts[n]
		if !ok {
			b.t.Fatalf("no part %q measured", n)
		}
		total.bytes += p.bytes
		total.goroutines += p.goroutines
	}
	return total
}

// budget measures one part after another in one process.
type budget struct {
	t     *testing.T
	h     *testkit.Harness
	n     int
	parts map[string]part
	// timers is how many timers the harness itself keeps on the wheel.
	timers int
}

// part is what one part costs.
type part struct {
	bytes      int64
	goroutines float64
}

func budgetCP(i int) string { return fmt.Sprintf("CP-%06d", i%1_000_000) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// budgetPeer stands in for an engine's monitor's peers: it answers a health
// check OK, a registration accepted and a liveness known, and swallows the
// rest (publishes, subscriptions).
func budgetPeer(c actor.Context) {
	switch m := c.Message().(type) {
	case *messages.HealthCheck:
		c.Respond(&messages.HealthAnswer{CpId: m.GetCpId(), Seq: m.GetSeq(), Ok: true, Status: messages.HealthStatus_HEALTH_STATUS_OK})
	case *messages.RegisterChargePoint:
		c.Respond(&messages.RegistrationResult{CpId: m.GetCpId(), Accepted: true})
	case *messages.Liveness:
		c.Respond(&messages.LivenessAck{CpId: m.GetCpId(), Known: true})
	case string:
		c.Respond(m)
	}
}

// sizeFromEnv is the N in the environment variable name, for a test that
// prints figures only when asked (make bench); it skips the test without.
func sizeFromEnv(t *testing.T, name, what string) int {
	t.Helper()
	n, _ := strconv.Atoi(os.Getenv(name))
	if n <= 0 {
		t.Skipf("set %s=N to print %s", name, what)
	}
	return n
}

// usage is the live heap plus the goroutine stacks after a collection: the
// least of a few samples, since the broker and the bridge hold passing
// buffers of their own.
func usage() (bytes int64, goroutines int) {
	var ms runtime.MemStats
	bytes = -1
	for i := 0; i < 3; i++ {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		if b := int64(ms.HeapAlloc + ms.StackInuse); bytes < 0 || b < bytes {
			bytes = b
		}
		time.Sleep(20 * time.Millisecond) // a sample apart, not synchronisation
	}
	return bytes, runtime.NumGoroutine()
}

// row measures before, runs add, waits with settled until the parts are at
// work, and prints what the parts added, per part.
func (b *budget) row(name string, add, settled func()) { b.rowPer(name, b.n, add, settled) }

// rowPer is row for parts other than N.
func (b *budget) rowPer(name string, parts int, add, settled func()) {
	before, gBefore := usage()
	add()
	settled()
	after, gAfter := usage()
	p := part{bytes: (after - before) / int64(parts), goroutines: float64(gAfter-gBefore) / float64(parts)}
	b.parts[name] = p
	fmt.Printf("budget: %-40s %10d %10.2f\n", name, p.bytes, p.goroutines)
}

// actors measures N actors of one kind: started, then settled until each
// is at work, then stopped.
func (b *budget) actors(name string, props func(i int) (*actor.Props, error), settled func([]*actor.PID)) {
	var pids []*actor.PID
	b.row(name, func() {
		pids = b.spawnN(func(i int) *actor.Props {
			p, err := props(i)
			must(b.t, err)
			return p
		})
	}, func() { settled(pids) })
	b.stop(pids)
}

func (b *budget) spawnN(props func(i int) *actor.Props) []*actor.PID {
	pids := make([]*actor.PID, b.n)
	for i := range pids {
		pids[i] = b.h.Sys.Root.Spawn(props(i))
	}
	return pids
}

// stop stops the actors and waits until the wheel has dropped their timers
// (a cancelled timer leaves when its slot comes round), so that what they
// held is not counted against the next part.
func (b *budget) stop(pids []*actor.PID) {
	for _, p := range pids {
		_ = b.h.Sys.Root.StopFuture(p).Wait()
	}
	w := timer.For(b.h.Sys)
	testkit.Eventually(b.t, time.Minute, func() bool { return w.Len() <= b.timers }, func() string {
		return fmt.Sprintf("the wheel holds %d timers, %d before", w.Len(), b.timers)
	})
}

func (b *budget) request(pid *actor.PID, msg any) any {
	res, err := b.h.Sys.Root.RequestFuture(pid, msg, 10*time.Second).Result()
	if err != nil {
		b.t.Fatalf("ask %s: %v", pid.GetId(), err)
	}
	return res
}

// ask sends every actor msg and waits for each answer: once all answered,
// every one has started.
func (b *budget) ask(pids []*actor.PID, msg any) {
	for _, p := range pids {
		b.request(p, msg)
	}
}

func (b *budget) ping(pids []*actor.PID) { b.ask(pids, "ping") }

func (b *budget) subscriptions(want int) {
	testkit.Eventually(b.t, time.Minute, func() bool {
		s, ok := b.request(b.h.Bridge, &bridge.Stats{}).(*bridge.StatsReply)
		return ok && s.Subscriptions >= want
	}, func() string { return "subscriptions not all made" })
}

// centralEntries registers N charge points with a Central and measures what
// each adds to it (entry, maps, the in-memory store's row).
func (b *budget) centralEntries() {
	h := b.h
	props, err := central.Props(central.Config{Store: h.Store, Bridge: h.Bridge, LivenessTimeout: time.Hour, Logger: h.Logger, Stats: h.Stats})
	must(b.t, err)
	c := h.Sys.Root.Spawn(props)
	defer b.stop([]*actor.PID{c})
	b.row("Central's entry (with its store row)", func() {
		futures := make([]actor.Future, 0, 1000)
		for i := 0; i < b.n; i++ {
			futures = append(futures, h.Sys.Root.RequestFuture(c, &messages.RegisterChargePoint{
				CpId: budgetCP(i), Location: "Site " + budgetCP(i), PriceEurPerKwh: 0.3, Kw: 22, Secret: "secret-" + budgetCP(i)}, time.Minute))
			if len(futures) == cap(futures) || i == b.n-1 {
				for _, f := range futures {
					if _, err := f.Result(); err != nil {
						b.t.Fatalf("register: %v", err)
					}
				}
				futures = futures[:0]
			}
		}
	}, func() {})
}

// wholeNetwork starts N charge points as evsim does (sites under one root,
// Central, subscriptions, what the network keeps to restart a part) and
// measures them once all have registered: the figure the parts should add up to.
func (b *budget) wholeNetwork() {
	h := b.h
	st, err := store.Open(":memory:")
	must(b.t, err)
	defer st.Close()
	run := stats.New()
	cfg := network.Config{Bridge: h.Bridge, Store: st, Logger: h.Logger, Stats: run, Name: "budget"}
	for i := 0; i < b.n; i++ {
		cfg.ChargePoints = append(cfg.ChargePoints, network.ChargePoint{ID: fmt.Sprintf("NET-%06d", i)})
	}
	var n *network.Network
	b.row("= one charge point in a whole network", func() {
		var err error
		n, err = network.Start(h.Sys, cfg)
		must(b.t, err)
	}, func() {
		testkit.Eventually(b.t, 2*time.Minute, func() bool { return run.RegisteredCPs.Load() >= int64(b.n) },
			func() string { return "not every charge point registered" })
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	must(b.t, n.Shutdown(ctx))
	b.stop(nil) // what the network's timers held
}

// brokerRecords publishes N telemetry records through the bridge and
// measures what the embedded broker keeps of each: at one reading a second
// per supplying charge point, the broker holds this much per second of
// retention.
func (b *budget) brokerRecords() {
	h := b.h
	out := h.Stats.KafkaRecordsOut.Load()
	records := 10 * b.n // enough that the broker's share stands out of the noise
	b.rowPer("embedded broker: one telemetry record", records, func() {
		now := time.Now()
		for i := 0; i < records; i++ {
			h.Sys.Root.Send(h.Bridge, &bridge.Publish{Topic: bridge.TopicTelemetry, Key: budgetCP(i), Msg: &messages.Telemetry{
				CpId: budgetCP(i), SessionId: "s-" + budgetCP(i), DriverId: "driver-" + budgetCP(i), Kw: 22, Kwh: 1.5, Eur: 0.45,
				At: timestamppb.New(now)}})
		}
	}, func() {
		testkit.Eventually(b.t, time.Minute, func() bool { return h.Stats.KafkaRecordsOut.Load()-out >= int64(records) },
			func() string { return "records not all produced" })
	})
}

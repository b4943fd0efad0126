package bridge

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/testutil"
)

// syncBuffer is the shared log sink; lines is its Lines.
type syncBuffer = testutil.SyncBuffer

func newTestLogger(t *testing.T) (*logrus.Logger, *syncBuffer) {
	t.Helper()
	buf := &syncBuffer{}
	off := false
	l, err := logging.New(logging.Options{Level: "info", Format: "text", Out: buf, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bridge log:\n%s", buf)
		}
	})
	return l, buf
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string { return testutil.FreeAddr(t) }

func startEmbedded(t *testing.T, opts EmbeddedOptions) *Embedded {
	t.Helper()
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	e, err := StartEmbedded(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logging.Discard(), "protoactor")
	}))
	t.Cleanup(system.Shutdown)
	return system
}

// testConfig is a bridge config with quick timings for tests.
func testConfig(brokers ...string) Config {
	return Config{
		Brokers:        brokers,
		WaitAttempts:   0,
		WaitInterval:   100 * time.Millisecond,
		HealthInterval: 100 * time.Millisecond,
		Partitions:     3,
	}
}

type testBridge struct {
	system *actor.ActorSystem
	pid    *actor.PID
	run    *stats.Run
	log    *syncBuffer
	states *stateRecorder
}

func startBridge(t *testing.T, cfg Config) *testBridge {
	t.Helper()
	logger, buf := newTestLogger(t)
	system := newSystem(t)
	run := stats.New()
	pid, err := Start(system, cfg, logger, run)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = system.Root.StopFuture(pid).Wait() })
	tb := &testBridge{system: system, pid: pid, run: run, log: buf, states: &stateRecorder{}}
	watcher := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*StateChanged); ok {
			tb.states.add(m.State)
		}
	}))
	system.Root.Send(pid, &WatchState{Watcher: watcher})
	return tb
}

func (tb *testBridge) awaitState(t *testing.T, s State, within time.Duration) {
	t.Helper()
	eventually(t, within, "bridge state "+s.String(), func() bool { return tb.states.last() == s })
}

func (tb *testBridge) publish(topic, key string, msg proto.Message) {
	tb.system.Root.Send(tb.pid, &Publish{Topic: topic, Key: key, Msg: msg})
}

// stateRecorder keeps the states a watcher saw.
type stateRecorder struct {
	mu  sync.Mutex
	all []State
}

func (r *stateRecorder) add(s State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, s)
}

func (r *stateRecorder) last() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) == 0 {
		return -1
	}
	return r.all[len(r.all)-1]
}

func (r *stateRecorder) seen() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]State(nil), r.all...)
}

// collector is a subscriber actor that records what it gets. With autoDone
// it calls Done at once; otherwise the test calls it.
type collector struct {
	mu       sync.Mutex
	got      []*Delivery
	autoDone bool
	count    atomic.Int64
}

func (col *collector) receive(c actor.Context) {
	if d, ok := c.Message().(*Delivery); ok {
		col.mu.Lock()
		col.got = append(col.got, d)
		col.mu.Unlock()
		col.count.Add(1)
		if col.autoDone {
			d.Done()
		}
	}
}

func (col *collector) deliveries() []*Delivery {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]*Delivery(nil), col.got...)
}

func (tb *testBridge) subscribe(t *testing.T, topic, group, key string, autoDone bool) (*collector, *actor.PID) {
	t.Helper()
	col := &collector{autoDone: autoDone}
	pid := tb.system.Root.Spawn(actor.PropsFromFunc(col.receive))
	tb.system.Root.Send(tb.pid, &Subscribe{Topic: topic, Group: group, Key: key, Subscriber: pid})
	return col, pid
}

// uniqueName gives each test its own topics and groups, so that the suite
// can run against one long-lived real broker.
var nameSeq atomic.Int64

func uniqueName(t *testing.T, what string) string {
	t.Helper()
	base := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("test-%s-%s-%d-%d", base, what, time.Now().UnixNano()%1e6, nameSeq.Add(1))
}

// produceRaw writes value as is, with a bare sarama producer: how tests put
// records that the bridge did not write (garbage) into a topic.
func produceRaw(t *testing.T, broker, topic, key string, value []byte) {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer([]string{broker}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(key), Value: sarama.ByteEncoder(value)}); err != nil {
		t.Fatal(err)
	}
}

func newBenchSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logging.Discard(), "protoactor")
	}))
}

// stats asks the bridge what it holds.
func (tb *testBridge) stats(t *testing.T) *StatsReply {
	t.Helper()
	res, err := tb.system.Root.RequestFuture(tb.pid, &Stats{}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(*StatsReply)
}

// keptRecords asks the bridge how many records it keeps for Kafka.
func (tb *testBridge) keptRecords(t *testing.T) int {
	t.Helper()
	return tb.stats(t).KeptRecords
}

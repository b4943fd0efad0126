// Package testkit runs role actors in one process on the embedded broker
// (real TCP, real sarama through the bridge) for tests, and records every
// supply start, end and ticket seen on Kafka to check the network's
// invariant: every supply that started ended exactly once and produced
// exactly one ticket, and there is no ticket without a supply.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/store"
	"github.com/evcharging/evsim/messages"
)

// LogBuffer is a log sink that a test reads while actors write.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything logged so far.
func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Lines returns the log lines that contain every one of parts.
func (s *LogBuffer) Lines(parts ...string) []string {
	var out []string
next:
	for _, l := range strings.Split(s.String(), "\n") {
		if l == "" {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// Harness is one process's worth of infrastructure: an actor system, an
// embedded broker, a ready bridge, an in-memory store, counters, a log
// buffer and a recorder of Kafka records.
type Harness struct {
	T      *testing.T
	Sys    *actor.ActorSystem
	Broker *bridge.Embedded
	Bridge *actor.PID
	Store  *store.Store
	Stats  *stats.Run
	Logger *logrus.Logger
	Logs   *LogBuffer
	Rec    *Recorder
	// Keys is the bridge's keyring when the harness seals (NewSealed), else nil.
	Keys *seal.Keyring

	brokerOpts bridge.EmbeddedOptions
}

// StopBroker stops the embedded broker (an outage); StartBroker brings it
// back on the same address with what it kept.
func (h *Harness) StopBroker() {
	h.Broker.Close()
	h.Broker = nil
}

// StartBroker starts the broker again after StopBroker.
func (h *Harness) StartBroker() {
	h.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := bridge.StartEmbedded(h.brokerOpts)
		if err == nil {
			h.Broker = b
			return
		}
		if time.Now().After(deadline) {
			h.T.Fatalf("start the broker again: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // the old port may linger a moment
	}
}

// New starts a harness; everything stops at the end of the test.
// Under -short the test is skipped: it runs a broker.
func New(t *testing.T) *Harness {
	t.Helper()
	return newHarness(t, nil)
}

// NewSealed is New with a bridge that seals the charge points' topics
// with keys (Harness.Keys, to hand to the network's Central and engines).
func NewSealed(t *testing.T) *Harness {
	t.Helper()
	return newHarness(t, seal.NewKeyring())
}

func newHarness(t *testing.T, keys *seal.Keyring) *Harness {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a network on the embedded broker (skipped under -short)")
	}
	buf := &LogBuffer{}
	off := false
	level := "debug"
	if l := os.Getenv("EVSIM_TEST_LOG_LEVEL"); l != "" {
		level = l
	}
	logger, err := logging.New(logging.Options{Level: level, Format: "text", Out: buf, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	h := &Harness{T: t, Logs: buf, Logger: logger, Stats: stats.New(), Keys: keys}
	h.Sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logger, "protoactor")
	}))
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("EVSIM_TEST_DUMP_LOGS") != "" {
			lines := strings.Split(buf.String(), "\n")
			if len(lines) > 400 && os.Getenv("EVSIM_TEST_DUMP_LOGS") == "" {
				lines = lines[len(lines)-400:]
			}
			t.Logf("logs:\n%s", strings.Join(lines, "\n"))
		}
	})
	// A data directory lets a test stop the broker and start it again with
	// what it kept (records and committed offsets), as a real Kafka would.
	h.brokerOpts = bridge.EmbeddedOptions{Addr: "127.0.0.1:0", DataDir: t.TempDir()}
	h.Broker, err = bridge.StartEmbedded(h.brokerOpts)
	if err != nil {
		t.Fatal(err)
	}
	h.brokerOpts.Addr = h.Broker.Addr()
	h.Bridge, err = bridge.Start(h.Sys, h.bridgeConfig(), logger, h.Stats)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = h.Sys.Root.StopFuture(h.Bridge).Result()
		if h.Broker != nil {
			h.Broker.Close()
		}
		h.Sys.Shutdown()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.AwaitReady(ctx, h.Sys, h.Bridge); err != nil {
		t.Fatalf("bridge not ready: %v", err)
	}
	h.Store, err = store.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Store.Close() })
	h.Rec = StartRecorder(t, h.Sys, h.Bridge)
	t.Cleanup(func() { h.Sys.Root.Stop(h.Rec.pid) })
	return h
}

func (h *Harness) bridgeConfig() bridge.Config {
	return bridge.Config{Brokers: []string{h.Broker.Addr()}, WaitAttempts: 50, WaitInterval: 100 * time.Millisecond, Partitions: 2, Keys: h.Keys}
}

// RestartBridge stops the bridge and starts a new one under the same name
// (so the same PID), as a supervisor restarting it would, and waits until
// it is ready.
func (h *Harness) RestartBridge() {
	h.T.Helper()
	if _, err := h.Sys.Root.StopFuture(h.Bridge).Result(); err != nil {
		h.T.Fatalf("stop bridge: %v", err)
	}
	pid, err := bridge.Start(h.Sys, h.bridgeConfig(), h.Logger, h.Stats)
	if err != nil {
		h.T.Fatalf("start bridge again: %v", err)
	}
	if pid.GetId() != h.Bridge.GetId() {
		h.T.Fatalf("the new bridge is %s, not %s", pid.GetId(), h.Bridge.GetId())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := bridge.AwaitReady(ctx, h.Sys, h.Bridge); err != nil {
		h.T.Fatalf("bridge not ready again: %v", err)
	}
}

// Eventually polls cond every few milliseconds until it holds or d passes;
// then it fails the test with what msg says (evaluated at that moment).
func Eventually(t testing.TB, d time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, msg())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Ask sends msg to pid and waits for the answer.
func (h *Harness) Ask(pid *actor.PID, msg any) any {
	h.T.Helper()
	res, err := h.Sys.Root.RequestFuture(pid, msg, 5*time.Second).Result()
	if err != nil {
		h.T.Fatalf("ask %s %T: %v", pid.GetId(), msg, err)
	}
	return res
}

// Records is a copy of what the recorder saw.
type Records struct {
	Started map[string]int                        // session id -> SupplyStarted records
	Ended   map[string][]*messages.SupplyEnded    // session id -> SupplyEnded records
	Tickets map[string][]*messages.Ticket         // session id -> Ticket records
	Denied  []*messages.ChargeDenied              // every denial on driver.updates
	Updates map[string][]string                   // driver id -> type names of updates, in order
	Status  map[string][]*messages.StatusChange   // cp id -> status changes
	Notices map[string][]*messages.DriverNotice   // driver id -> notices
	Accept  map[string][]*messages.ChargeAccepted // driver id -> acceptances
}

// Recorder subscribes to the topics under its own consumer group.
type Recorder struct {
	t   testing.TB
	sys *actor.ActorSystem
	pid *actor.PID
}

type (
	recGet         struct{}
	recResubscribe struct{}
)

type recorder struct {
	bridge *actor.PID
	group  string // consumer group; "" is "recorder"
	r      Records
	stop   chan struct{}
}

func (a *recorder) subscribe(ctx actor.Context) {
	group := a.group
	if group == "" {
		group = "recorder"
	}
	for _, topic := range []string{bridge.TopicStatus, bridge.TopicSessionEnd, bridge.TopicTickets, bridge.TopicDriverUpdates} {
		ctx.Send(a.bridge, &bridge.Subscribe{Topic: topic, Group: group, Subscriber: ctx.Self()})
	}
}

func (a *recorder) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *recResubscribe:
		a.subscribe(ctx)
	case *actor.Started:
		a.r = Records{Started: map[string]int{}, Ended: map[string][]*messages.SupplyEnded{},
			Tickets: map[string][]*messages.Ticket{}, Updates: map[string][]string{},
			Status: map[string][]*messages.StatusChange{}, Notices: map[string][]*messages.DriverNotice{},
			Accept: map[string][]*messages.ChargeAccepted{}}
		a.subscribe(ctx)
		sys, self := ctx.ActorSystem(), ctx.Self()
		a.stop = make(chan struct{})
		go func(stop <-chan struct{}) {
			tk := time.NewTicker(200 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					sys.Root.Send(self, &recResubscribe{})
				}
			}
		}(a.stop)
	case *actor.Stopping:
		close(a.stop)
	case *bridge.Delivery:
		defer m.Done()
		switch x := m.Msg.(type) {
		case *messages.SupplyStarted:
			if m.Topic == bridge.TopicStatus {
				a.r.Started[x.GetSessionId()]++
			}
		case *messages.SupplyEnded:
			if m.Topic == bridge.TopicSessionEnd {
				a.r.Ended[x.GetSessionId()] = append(a.r.Ended[x.GetSessionId()], x)
			}
		case *messages.Ticket:
			a.r.Tickets[x.GetSessionId()] = append(a.r.Tickets[x.GetSessionId()], x)
		case *messages.ChargeDenied:
			a.r.Denied = append(a.r.Denied, x)
		case *messages.StatusChange:
			a.r.Status[x.GetCpId()] = append(a.r.Status[x.GetCpId()], x)
		case *messages.DriverNotice:
			a.r.Notices[x.GetDriverId()] = append(a.r.Notices[x.GetDriverId()], x)
		case *messages.ChargeAccepted:
			a.r.Accept[x.GetDriverId()] = append(a.r.Accept[x.GetDriverId()], x)
		}
		if m.Topic == bridge.TopicDriverUpdates {
			a.r.Updates[m.Key] = append(a.r.Updates[m.Key], fmt.Sprintf("%T", m.Msg))
		}
	case *recForget:
		if e := a.r.Ended[m.sid]; len(e) > 1 {
			a.r.Ended[m.sid] = e[:1]
		}
		ctx.Respond(true)
	case *recGet:
		c := Records{Started: map[string]int{}, Ended: map[string][]*messages.SupplyEnded{},
			Tickets: map[string][]*messages.Ticket{}, Updates: map[string][]string{},
			Status: map[string][]*messages.StatusChange{}, Notices: map[string][]*messages.DriverNotice{},
			Accept: map[string][]*messages.ChargeAccepted{}}
		for k, v := range a.r.Started {
			c.Started[k] = v
		}
		for k, v := range a.r.Ended {
			c.Ended[k] = append([]*messages.SupplyEnded(nil), v...)
		}
		for k, v := range a.r.Tickets {
			c.Tickets[k] = append([]*messages.Ticket(nil), v...)
		}
		for k, v := range a.r.Updates {
			c.Updates[k] = append([]string(nil), v...)
		}
		for k, v := range a.r.Status {
			c.Status[k] = append([]*messages.StatusChange(nil), v...)
		}
		for k, v := range a.r.Notices {
			c.Notices[k] = append([]*messages.DriverNotice(nil), v...)
		}
		for k, v := range a.r.Accept {
			c.Accept[k] = append([]*messages.ChargeAccepted(nil), v...)
		}
		c.Denied = append([]*messages.ChargeDenied(nil), a.r.Denied...)
		ctx.Respond(&c)
	}
}

// StartRecorder starts a recorder on the bridge.
func StartRecorder(t testing.TB, sys *actor.ActorSystem, bridgePID *actor.PID) *Recorder {
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &recorder{bridge: bridgePID} }))
	return &Recorder{t: t, sys: sys, pid: pid}
}

// Get returns a copy of what the recorder saw so far.
func (r *Recorder) Get() *Records {
	r.t.Helper()
	res, err := r.sys.Root.RequestFuture(r.pid, &recGet{}, 5*time.Second).Result()
	if err != nil {
		r.t.Fatalf("recorder: %v", err)
	}
	return res.(*Records)
}

// Settled reports whether every started supply has its end and its ticket.
func (rs *Records) Settled() bool { return rs.settled(nil) }

// Excuse says whether a supply that breaks the invariant is accepted by a
// test that knows why (e.g. its end was refused under a revoked key).
type Excuse func(sid string, rs *Records) bool

func (rs *Records) settled(excused Excuse) bool {
	for sid := range rs.Started {
		if excused != nil && excused(sid, rs) {
			continue
		}
		if len(rs.Ended[sid]) == 0 || len(rs.Tickets[sid]) == 0 {
			return false
		}
	}
	for sid := range rs.Ended {
		if len(rs.Tickets[sid]) == 0 {
			return false
		}
	}
	return true
}

// Violations lists every breach of the invariant.
func (rs *Records) Violations() []string { return rs.violations(nil) }

func (rs *Records) violations(excused Excuse) []string {
	var out []string
	for sid := range rs.Started {
		if excused != nil && excused(sid, rs) {
			continue
		}
		if n := len(rs.Ended[sid]); n != 1 {
			out = append(out, fmt.Sprintf("supply %s started and ended %d times", sid, n))
		}
		if n := len(rs.Tickets[sid]); n != 1 {
			out = append(out, fmt.Sprintf("supply %s started and has %d tickets", sid, n))
		}
	}
	for sid := range rs.Ended {
		if rs.Started[sid] == 0 {
			out = append(out, fmt.Sprintf("supply %s ended but never started", sid))
		}
	}
	for sid, ts := range rs.Tickets {
		if excused != nil && excused(sid, rs) {
			continue
		}
		if rs.Started[sid] == 0 || len(rs.Ended[sid]) == 0 {
			out = append(out, fmt.Sprintf("ticket %s has no supply", ts[0].GetTicketId()))
		}
	}
	sort.Strings(out)
	return out
}

// CheckInvariant waits until the recorder has seen at least as many starts
// and tickets as Central counted (run; nil to skip) and every supply it saw
// is settled, then fails the test on any breach of the invariant. Call it
// after the network is shut down (so every running supply has ended).
func (r *Recorder) CheckInvariant(d time.Duration, run *stats.Run) *Records {
	r.t.Helper()
	return r.CheckInvariantWith(d, run, nil)
}

// CheckInvariantWith is CheckInvariant that accepts the supplies excused says.
func (r *Recorder) CheckInvariantWith(d time.Duration, run *stats.Run, excused Excuse) *Records {
	r.t.Helper()
	var rs *Records
	deadline := time.Now().Add(d)
	for {
		rs = r.Get()
		caughtUp := run == nil ||
			(int64(len(rs.Started)) >= run.SuppliesStarted.Load() && int64(len(rs.Tickets)) >= run.Tickets.Load())
		if (caughtUp && rs.settled(excused)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A moment more so that a duplicate, if any, has a chance to show.
	time.Sleep(100 * time.Millisecond)
	rs = r.Get()
	if v := rs.violations(excused); len(v) > 0 {
		r.t.Errorf("invariant broken:\n%s", strings.Join(v, "\n"))
	}
	return rs
}

type recForget struct{ sid string }

// ForgetRepeatedEnd drops the extra SupplyEnded records of a session that a
// test published again on purpose.
func (r *Recorder) ForgetRepeatedEnd(sid string) {
	r.t.Helper()
	if _, err := r.sys.Root.RequestFuture(r.pid, &recForget{sid: sid}, 5*time.Second).Result(); err != nil {
		r.t.Fatalf("recorder: %v", err)
	}
}

// Probe is an actor that keeps every message it receives, answers requests
// through a reply function, and lets a test read what it got. It stands in
// for a bridge, an engine or Central in actor-level unit tests.
type Probe struct {
	t   testing.TB
	sys *actor.ActorSystem
	PID *actor.PID
}

type probeGet struct{}

type probeSetReply struct {
	reply func(msg any) any
}

type probe struct {
	got   []any
	reply func(msg any) any
}

func (p *probe) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting:
	case *probeGet:
		ctx.Respond(append([]any(nil), p.got...))
	case *probeSetReply:
		p.reply = m.reply
		ctx.Respond(true)
	default:
		p.got = append(p.got, m)
		if p.reply != nil && ctx.Sender() != nil {
			if r := p.reply(m); r != nil {
				ctx.Respond(r)
			}
		}
	}
}

// NewProbe spawns a probe; reply (may be nil) answers requests, nil for none.
func NewProbe(t testing.TB, sys *actor.ActorSystem, reply func(msg any) any) *Probe {
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &probe{reply: reply} }))
	t.Cleanup(func() { sys.Root.Stop(pid) })
	return &Probe{t: t, sys: sys, PID: pid}
}

// SetReply changes how the probe answers.
func (p *Probe) SetReply(reply func(msg any) any) {
	p.t.Helper()
	if _, err := p.sys.Root.RequestFuture(p.PID, &probeSetReply{reply: reply}, 5*time.Second).Result(); err != nil {
		p.t.Fatalf("probe: %v", err)
	}
}

// Got returns every message received so far.
func (p *Probe) Got() []any {
	p.t.Helper()
	res, err := p.sys.Root.RequestFuture(p.PID, &probeGet{}, 5*time.Second).Result()
	if err != nil {
		p.t.Fatalf("probe: %v", err)
	}
	return res.([]any)
}

// Published returns the messages published on topic through a probe that
// stands in for the bridge.
func (p *Probe) Published(topic string) []any {
	p.t.Helper()
	var out []any
	for _, m := range p.Got() {
		if pub, ok := m.(*bridge.Publish); ok && pub.Topic == topic {
			out = append(out, pub.Msg)
		}
	}
	return out
}

// NewSystem returns an actor system whose logs go to a buffer, for
// actor-level unit tests without a broker.
func NewSystem(t testing.TB) (*actor.ActorSystem, *logrus.Logger, *LogBuffer) {
	buf := &LogBuffer{}
	off := false
	logger, err := logging.New(logging.Options{Level: "debug", Format: "text", Out: buf, Color: &off})
	if err != nil {
		t.Fatal(err)
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return logging.NewSlogLogger(logger, "protoactor")
	}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", buf.String())
		}
		sys.Shutdown()
	})
	return sys, logger, buf
}

package bridge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/internal/stats"
	"github.com/evcharging/evsim/internal/words"
	"github.com/evcharging/evsim/messages"
)

// Component is the name in the component column of the bridge's log lines.
const Component = "Bridge"

func component(l logrus.FieldLogger) *logrus.Entry { return logging.Component(l, Component) }

// Props returns the props of a bridge actor for cfg. logger receives the
// bridge's lines (component "Bridge"); run counts Kafka records and may be
// nil. It fails only on an invalid cfg.
func Props(cfg Config, logger logrus.FieldLogger, run *stats.Run) (*actor.Props, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = logging.Discard()
	}
	if run == nil {
		run = stats.New()
	}
	var incarnations atomic.Int32
	return actor.PropsFromProducer(func() actor.Actor {
		b := newBridge(cfg, component(logger), run)
		b.restarted = incarnations.Add(1) > 1
		return b
	}, actor.WithMailbox(actor.UnboundedLockfree())), nil
}

// Start spawns a bridge actor named "bridge" under the root of system and
// returns its PID. The bridge begins waiting for Kafka at once.
func Start(system *actor.ActorSystem, cfg Config, logger logrus.FieldLogger, run *stats.Run) (*actor.PID, error) {
	props, err := Props(cfg, logger, run)
	if err != nil {
		return nil, err
	}
	pid, err := system.Root.SpawnNamed(props, "bridge")
	if err != nil {
		return nil, fmt.Errorf("spawn bridge: %w", err)
	}
	return pid, nil
}

// Stop stops the bridge once it has handled every message already sent to
// it: a Publish sent just before (a shutdown's last tickets) is produced and
// flushed, not dropped. (actor.Stop is a system message and overtakes the
// mailbox.) It waits for the bridge to stop (protoactor's 10 s).
func Stop(system *actor.ActorSystem, pid *actor.PID) error {
	return system.Root.PoisonFuture(pid).Wait()
}

// AwaitReady blocks until the bridge at pid is ready (nil), has failed
// (ErrKafkaUnavailable) or ctx ends (ctx.Err()). Mains call it before they
// start the role actors; actors should rather send WatchState.
func AwaitReady(ctx context.Context, system *actor.ActorSystem, pid *actor.PID) error {
	ch := make(chan State, 8)
	watcher := system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if m, ok := c.Message().(*StateChanged); ok {
			select {
			case ch <- m.State:
			default:
			}
		}
	}))
	defer system.Root.Stop(watcher)
	system.Root.Send(pid, &WatchState{Watcher: watcher})
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s := <-ch:
			switch s {
			case StateReady:
				return nil
			case StateFailed:
				return ErrKafkaUnavailable
			}
		}
	}
}

// Messages the bridge sends itself (from timers and I/O goroutines).
type (
	probeTick   struct{ gen int }
	probeResult struct {
		gen int
		err error
	}
	setupResult struct {
		gen      int
		producer sarama.AsyncProducer
		err      error
	}
	healthTick   struct{ gen int }
	healthResult struct {
		gen int
		err error
	}
	producerFailed struct {
		gen int
		msg *sarama.ProducerMessage
		err error
	}
	producerClosed struct{ gen int }
)

// outRecord is a record on its way out, kept in order while Kafka is away.
// It is encoded by the feeder on its first way to the producer (value is
// nil until then) and travels as the sarama message's metadata, so that a
// record the producer hands back keeps its bytes and its place.
type outRecord struct {
	seq   uint64
	topic string
	key   string
	typ   messages.MessageType
	msg   proto.Message
	value []byte
}

type bridge struct {
	cfg    Config
	log    *logrus.Entry
	run    *stats.Run
	system *actor.ActorSystem
	self   *actor.PID

	state    State
	detail   string
	watchers map[string]*actor.PID
	gate     *gate
	stopped  bool

	// gen numbers the connections: a result of an older one is stale.
	gen          int
	probing      bool
	probeStarted time.Time
	producer     *feeder // nil unless connected
	batch        []*outRecord
	closing      map[int]bool // gens of old producers still handing back their records
	healthBusy   bool
	healthFails  int
	seq          uint64

	pending     []*outRecord   // kept while not ready; nil = coalesced away
	pendingLive int            // non-nil entries of pending
	coalesce    map[string]int // telemetry topic/key -> index in pending
	ackWaiters  []*actor.PID   // publishers waiting for room in the buffer
	fullLogged  bool

	consumers   map[tgKey]*consumer
	claims      map[uint64]*claimState
	records     map[uint64]*inRecord
	recSeq      uint64
	subscribers map[string][]subscription // pid key -> its subscriptions, so a terminated one is forgotten without a scan
	unfinished  map[string]int            // pid key -> records delivered to it and not done yet
	bad         badRecordLog
	holdWarned  time.Time
	// notOursCount counts records skipped because no key of theirs is read here.
	notOursCount int
	// restarted: this is not the first incarnation of the actor, so its
	// subscribers are on their way back; until graceUntil every key is ours.
	restarted  bool
	graceUntil time.Time
	claimIDs   atomic.Uint64 // taken by claim goroutines
	// sealer seals and opens the sealed topics (nil: encryption off);
	// waits holds what waits for a key (keywait.go).
	sealer *sealer
	waits  keyWaits
}

func newBridge(cfg Config, log *logrus.Entry, run *stats.Run) *bridge {
	return &bridge{
		cfg:         cfg,
		log:         log,
		run:         run,
		watchers:    map[string]*actor.PID{},
		coalesce:    map[string]int{},
		consumers:   map[tgKey]*consumer{},
		claims:      map[uint64]*claimState{},
		records:     map[uint64]*inRecord{},
		subscribers: map[string][]subscription{},
		unfinished:  map[string]int{},
		bad:         badRecordLog{every: cfg.BadRecordLogEvery},
		closing:     map[int]bool{},
		sealer:      newSealer(cfg.Keys, cfg.SealedTopics),
		// A restarted bridge gets the same PID: its generations start
		// elsewhere, so that what its predecessor's goroutines still
		// send is stale.
		gen:    int(time.Now().UnixNano() & 0x3fffffffffff),
		recSeq: uint64(time.Now().UnixNano()),
	}
}

func pidKey(p *actor.PID) string { return p.GetAddress() + "/" + p.GetId() }

// Receive implements actor.Actor.
func (b *bridge) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *actor.Started:
		b.system = c.ActorSystem()
		b.self = c.Self()
		b.gate = &gate{cfg: &b.cfg, log: b.log}
		b.gate.begin()
		b.watchKeys()
		b.startProbe()
		if b.restarted {
			b.graceUntil = time.Now().Add(b.cfg.RestartGrace)
			b.after(b.cfg.RestartGrace, graceOver{})
		}
	case *actor.Stopping, *actor.Restarting:
		// A restart (a bug made Receive panic) gets a fresh bridge from
		// the producer: this one closes its clients first.
		b.shutdown()
	case *actor.Terminated:
		b.forget(c, m.Who)
		delete(b.waits.watchers, pidKey(m.Who))

	case *Publish:
		b.publish(c, m)
	case *Subscribe:
		b.subscribe(c, m)
	case *Unsubscribe:
		b.unsubscribe(m)
	case *ExpectKeys:
		b.expectKeys(m)
	case *Stats:
		c.Respond(b.stats())
	case *WatchState:
		if m.Watcher != nil {
			b.watchers[pidKey(m.Watcher)] = m.Watcher
			c.Watch(m.Watcher)
			c.Send(m.Watcher, &StateChanged{State: b.state, Detail: b.detail})
		}

	case probeTick:
		if m.gen == b.gen && !b.stopped {
			b.startProbe()
		}
	case probeResult:
		b.probed(m)
	case setupResult:
		b.setUp(m)
	case healthTick:
		b.healthCheck(m)
	case healthResult:
		b.healthChecked(m)
	case producerFailed:
		b.producerFailed(m)
	case flushBatch:
		b.flushBatch()
	case producerClosed:
		delete(b.closing, m.gen)
		b.maybeFlush()

	case *consumerRecord:
		b.consumed(c, m)
	case claimEnded:
		b.claimEnded(m)
	case *assignedNote:
		b.assigned(c, m)
	case deliveryDone:
		b.deliveryDone(m)
	case graceOver:
		b.skipHeldNotOurs()
	case *WatchRefusals:
		b.watchRefusals(c, m)
	case keyChanged:
		b.keyChanged(m.cpID)
	case keyGone:
		b.keyGone(m.r)
	}
}

// send is how goroutines of the bridge talk to it.
func (b *bridge) send(msg any) { b.system.Root.Send(b.self, msg) }

func (b *bridge) after(d time.Duration, msg any) {
	system, self := b.system, b.self
	time.AfterFunc(d, func() { system.Root.Send(self, msg) })
}

func (b *bridge) setState(s State, detail string) {
	if b.state == s {
		return
	}
	b.state, b.detail = s, detail
	for _, w := range b.watchers {
		b.system.Root.Send(w, &StateChanged{State: s, Detail: detail})
	}
}

// ---- the gate and outages ----

// startProbe probes in a goroutine; the result comes back as probeResult.
func (b *bridge) startProbe() {
	if b.probing {
		return
	}
	b.probing = true
	// Keep the cadence: the next probe starts one interval after this one started.
	b.probeStarted = time.Now()
	cfg, gen := &b.cfg, b.gen
	go func() { b.send(probeResult{gen: gen, err: probe(cfg, true)}) }()
}

func (b *bridge) probed(m probeResult) {
	if m.gen != b.gen || b.stopped {
		return
	}
	b.probing = false
	if m.err == nil {
		b.connect()
		return
	}
	b.probeFailed(m.err)
}

// probeFailed counts a failed probe (or set-up) and schedules the next one.
func (b *bridge) probeFailed(err error) {
	if b.state == StateWaiting {
		if b.gate.failed(err) {
			b.setState(StateFailed, b.gate.gaveUp(err))
			return
		}
	} else {
		b.log.WithField("error", probeDetail(err)).Debugf("Kafka is still away: %s", probeCause(err))
	}
	b.after(max(time.Until(b.probeStarted.Add(b.cfg.WaitInterval)), 0), probeTick{gen: b.gen})
}

// connect creates the topics and a producer in a goroutine.
func (b *bridge) connect() {
	cfg, gen := &b.cfg, b.gen
	go func() {
		if err := createTopics(cfg); err != nil {
			b.send(setupResult{gen: gen, err: err})
			return
		}
		p, err := sarama.NewAsyncProducer(cfg.Brokers, cfg.producerSarama())
		if err != nil {
			b.send(setupResult{gen: gen, err: fmt.Errorf("start producer: %w", err)})
			return
		}
		b.send(setupResult{gen: gen, producer: p})
	}()
}

func (b *bridge) setUp(m setupResult) {
	if m.gen != b.gen || b.stopped {
		if m.producer != nil {
			go func() { _ = m.producer.Close() }()
		}
		return
	}
	if m.err != nil {
		b.probeFailed(m.err)
		return
	}
	b.producer = b.startFeeder(m.producer, b.gen)
	b.maybeFlush()
}

// maybeFlush goes ready once the new producer is there and every old one has
// handed back what it could not send, so kept records keep their order.
func (b *bridge) maybeFlush() {
	if b.producer == nil || len(b.closing) > 0 || b.state == StateReady || b.stopped {
		return
	}
	kept := b.pendingLive
	recovering := b.state == StateOutage
	b.flushPending()
	if recovering {
		b.log.WithField("kept_records", kept).Infof("Kafka at %s is back; sending the %s kept during the outage", b.cfg.brokerList(), words.Count(kept, "record", "records"))
	} else {
		b.gate.ready()
	}
	b.setState(StateReady, b.cfg.brokerList())
	b.healthFails = 0
	b.after(b.cfg.HealthInterval, healthTick{gen: b.gen})
	for _, cons := range b.consumers {
		b.startConsumer(cons)
	}
}

func (b *bridge) flushPending() {
	recs := b.pending[:0:0]
	for _, r := range b.pending {
		if r != nil {
			recs = append(recs, r)
		}
	}
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].seq < recs[j].seq })
	b.pending, b.pendingLive, b.fullLogged = nil, 0, false
	clear(b.coalesce)
	for _, r := range recs {
		b.produce(nil, r)
	}
	b.flushBatch()
	for _, w := range b.ackWaiters {
		b.system.Root.Send(w, &PublishAccepted{})
	}
	b.ackWaiters = nil
}

func (b *bridge) healthCheck(m healthTick) {
	if m.gen != b.gen || b.state != StateReady || b.healthBusy || b.stopped {
		return
	}
	b.healthBusy = true
	cfg, gen := &b.cfg, b.gen
	go func() { b.send(healthResult{gen: gen, err: probe(cfg, false)}) }()
}

func (b *bridge) healthChecked(m healthResult) {
	b.healthBusy = false
	if m.gen != b.gen || b.state != StateReady || b.stopped {
		return
	}
	if m.err == nil {
		b.healthFails = 0
	} else {
		b.healthFails++
		b.log.WithField("error", m.err).Debugf("Kafka health probe failed (%d in a row)", b.healthFails)
		if b.healthFails >= b.cfg.HealthFailures {
			b.outage(m.err)
			return
		}
	}
	b.after(b.cfg.HealthInterval, healthTick{gen: b.gen})
}

// outage tears down the connection; the bridge keeps what is published and
// probes until the broker is back.
func (b *bridge) outage(cause error) {
	if b.state != StateReady {
		return
	}
	b.log.WithField("error", cause).Warnf("Lost Kafka at %s; keeping commands, supply ends and tickets until it returns", b.cfg.brokerList())
	b.setState(StateOutage, cause.Error())
	b.gen++
	b.probing = false
	b.closeProducer()
	for _, cons := range b.consumers {
		b.stopConsumer(cons)
	}
	b.startProbe()
}

func (b *bridge) closeProducer() {
	if b.producer == nil {
		return
	}
	b.flushBatch()
	f := b.producer
	b.producer = nil
	b.closing[f.gen] = true
	close(f.in) // the feeder sends what it has, then closes the producer
}

// feeder owns the Input of one producer: it encodes records and sends them
// in order, off the actor's goroutine, so that encoding runs in parallel
// with the bridge's mailbox. Closing in makes it close the producer.
type feeder struct {
	gen    int
	in     chan []*outRecord
	closed chan struct{} // closed once the producer has handed back everything
}

func (b *bridge) startFeeder(p sarama.AsyncProducer, gen int) *feeder {
	f := &feeder{gen: gen, in: make(chan []*outRecord, 16), closed: make(chan struct{})}
	clientID, log, run, sealer := b.cfg.ClientID, b.log, b.run, b.sealer
	// Two stages, so that encoding a batch overlaps with handing the last
	// one to sarama (whose Input is unbuffered).
	encoded := make(chan []*outRecord, 4)
	go func() {
		defer close(encoded)
		var seals seal.Sealer // this goroutine's nonces and additional data
		for batch := range f.in {
			for _, r := range batch {
				if r.value != nil {
					continue
				}
				v, err := sealer.encodeWith(&seals, r, time.Now(), clientID)
				if errors.Is(err, seal.ErrNoKey) {
					b.send(keyGone{r})
					continue
				}
				if err != nil {
					log.WithFields(logrus.Fields{"topic": r.topic, "key": r.key, "error": err}).Warn("Cannot encode a message for Kafka; it is not sent")
					continue
				}
				r.value, r.msg = v, nil
			}
			encoded <- batch
		}
	}()
	go func() {
		for batch := range encoded {
			for _, r := range batch {
				if r.value == nil {
					continue // did not encode
				}
				msg := &sarama.ProducerMessage{Topic: b.cfg.kafkaTopic(r.topic), Value: sarama.ByteEncoder(r.value), Metadata: r}
				if r.key != "" {
					msg.Key = sarama.StringEncoder(r.key)
				}
				p.Input() <- msg
			}
		}
		p.AsyncClose()
	}()
	// Count what Kafka acknowledged; hand back what it did not.
	successesDone := make(chan struct{})
	go func() {
		defer close(successesDone)
		for range p.Successes() {
			run.KafkaRecordsOut.Add(1)
		}
	}()
	go func() {
		for pe := range p.Errors() {
			b.send(producerFailed{gen: gen, msg: pe.Msg, err: pe.Err})
		}
		<-successesDone
		close(f.closed)
		b.send(producerClosed{gen: gen})
	}()
	return f
}

// producerFailed keeps a record the producer gave up on and, if the
// connection is the current one, declares the outage at once.
func (b *bridge) producerFailed(m producerFailed) {
	r, ok := m.msg.Metadata.(*outRecord)
	if !ok {
		return
	}
	if isRecordFault(m.err) {
		b.log.WithFields(logrus.Fields{"topic": r.topic, "key": r.key, "error": m.err}).
			Warn("Kafka refused a record for good; it is not sent")
		return
	}
	b.keep(r)
	if m.gen == b.gen && b.state == StateReady {
		b.outage(fmt.Errorf("produce to %s: %w", r.topic, m.err))
	}
}

// isRecordFault is an error about the record itself, which no retry cures.
func isRecordFault(err error) bool {
	return errors.Is(err, sarama.ErrMessageSizeTooLarge) || errors.Is(err, sarama.ErrInvalidMessage) ||
		errors.Is(err, sarama.ErrInvalidMessageSize) || errors.Is(err, sarama.ErrInvalidTopic)
}

func (b *bridge) shutdown() {
	b.stopped = true
	b.gen++
	var closing []chan struct{}
	for _, cons := range b.consumers {
		if cons.running {
			closing = append(closing, cons.done)
		}
		b.stopConsumer(cons)
	}
	if b.pendingLive > 0 {
		b.log.WithField("kept_records", b.pendingLive).Warnf("Stopping with %s that never reached Kafka", words.Count(b.pendingLive, "record", "records"))
	}
	if f := b.producer; f != nil {
		b.closeProducer()
		select {
		case <-f.closed:
		case <-time.After(5 * time.Second):
			b.log.Warn("Kafka producer did not close within 5s; stopping anyway")
		}
	}
	// Let the consumer groups leave and commit what was marked.
	deadline := time.After(5 * time.Second)
	for _, done := range closing {
		select {
		case <-done:
		case <-deadline:
			b.log.Debug("A consumer group did not close within 5s; stopping anyway")
			return
		}
	}
}

// ---- publishing ----

func (b *bridge) publish(c actor.Context, m *Publish) {
	var (
		typ messages.MessageType
		err error
	)
	if m.Topic == "" || m.Msg == nil {
		err = errors.New("publish needs a topic and a message")
	} else {
		typ, err = TypeOf(m.Msg)
	}
	if err != nil {
		b.log.WithFields(logrus.Fields{"topic": m.Topic, "key": m.Key, "error": err}).Warn("Cannot encode a message for Kafka; it is not sent")
		if c.Sender() != nil {
			c.Respond(&PublishAccepted{Err: err})
		}
		return
	}
	b.seq++
	r := &outRecord{seq: b.seq, topic: m.Topic, key: m.Key, typ: typ, msg: m.Msg}
	if b.waitForKey(r) {
		if c.Sender() != nil {
			c.Respond(&PublishAccepted{})
		}
		return
	}
	if b.state == StateReady {
		b.produce(c, r)
		if c.Sender() != nil {
			c.Respond(&PublishAccepted{})
		}
		return
	}
	b.keep(r)
	if c.Sender() != nil {
		if b.pendingLive > b.cfg.BufferRecords {
			b.ackWaiters = append(b.ackWaiters, c.Sender())
		} else {
			c.Respond(&PublishAccepted{})
		}
	}
}

// produce adds a record to the batch for the feeder. The batch goes when it
// is full or when the bridge has handled what is in its mailbox now (a
// flushBatch it sends itself comes after those): one channel operation per
// batch rather than per record. A full feeder blocks the bridge for as long
// as sarama takes to make room: the back-pressure of a connected bridge.
func (b *bridge) produce(c actor.Context, r *outRecord) {
	b.batch = append(b.batch, r)
	switch {
	case len(b.batch) >= maxBatch:
		b.flushBatch()
	case len(b.batch) == 1 && c != nil:
		c.Send(c.Self(), flushBatch{})
	}
}

const maxBatch = 256

type flushBatch struct{}

func (b *bridge) flushBatch() {
	if len(b.batch) == 0 {
		return
	}
	if b.producer == nil {
		for _, r := range b.batch { // the connection went: keep them
			b.keep(r)
		}
	} else {
		b.producer.in <- b.batch
	}
	b.batch = nil
}

// keep puts a record in the buffer; telemetry keeps only its latest reading per key.
func (b *bridge) keep(r *outRecord) {
	if r.topic == TopicTelemetry {
		ck := r.topic + "\x00" + r.key
		if i, ok := b.coalesce[ck]; ok && b.pending[i] != nil {
			if b.pending[i].seq > r.seq {
				return // a later reading is kept already
			}
			b.pending[i] = nil
			b.pendingLive--
		}
		b.coalesce[ck] = len(b.pending)
	}
	b.pending = append(b.pending, r)
	b.pendingLive++
	if len(b.pending) > 2*b.pendingLive+1024 {
		b.compactPending()
	}
	if b.pendingLive > b.cfg.BufferRecords && !b.fullLogged {
		b.fullLogged = true
		b.log.WithField("kept_records", b.pendingLive).Warnf("The buffer for Kafka is full (%d records); publishers that wait for an answer are held until Kafka is back", b.cfg.BufferRecords)
	}
}

// compactPending drops the slots of coalesced readings, so that a long
// outage with steady telemetry does not grow the buffer.
func (b *bridge) compactPending() {
	live := make([]*outRecord, 0, b.pendingLive)
	clear(b.coalesce)
	for _, r := range b.pending {
		if r == nil {
			continue
		}
		if r.topic == TopicTelemetry {
			b.coalesce[r.topic+"\x00"+r.key] = len(live)
		}
		live = append(live, r)
	}
	b.pending = live
}

// createTopics creates cfg.Topics; a topic that exists already is fine.
func createTopics(cfg *Config) error {
	client, err := sarama.NewClient(cfg.Brokers, cfg.baseSarama())
	if err != nil {
		return fmt.Errorf("connect to create topics: %w", err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("connect to create topics: %w", err)
	}
	defer func() { _ = admin.Close() }()
	for _, t := range cfg.Topics {
		err := admin.CreateTopic(cfg.kafkaTopic(t), cfg.topicDetail(t, int32(cfg.Partitions)), false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", cfg.kafkaTopic(t), err)
		}
	}
	return awaitTopics(client, cfg.kafkaTopics(cfg.Topics), topicsReadyTimeout)
}

// topicDetail is how the bridge creates topic t: its retention (or
// compaction), the broker's replication factor, and partitions.
func (c *Config) topicDetail(t string, partitions int32) *sarama.TopicDetail {
	retention, retentionBytes := c.Retention, c.RetentionBytes
	if t == TopicTelemetry {
		retention, retentionBytes = c.TelemetryRetention, c.TelemetryRetentionBytes
	}
	entries := retentionEntries(retention, retentionBytes)
	if compactedTopics[t] {
		// A changelog: the newest record of each key is kept for good.
		compact := "compact"
		entries = map[string]*string{"cleanup.policy": &compact}
	}
	return &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: -1, ConfigEntries: entries}
}

// topicsReadyTimeout bounds the wait for topics just created to answer.
const topicsReadyTimeout = 30 * time.Second

// awaitTopics waits until every partition of topics has a leader in the
// broker's metadata. Apache Kafka answers CreateTopics before its brokers
// serve the new topics: a produce in between failed with "topic or
// partition does not exist", which the bridge took for an outage.
func awaitTopics(client sarama.Client, topics []string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		waiting := ""
		if err := client.RefreshMetadata(topics...); err != nil {
			waiting = err.Error()
		}
		for _, t := range topics {
			if waiting != "" {
				break
			}
			all, err := client.Partitions(t)
			led, _ := client.WritablePartitions(t)
			if err != nil || len(all) == 0 || len(led) < len(all) {
				waiting = "topic " + t + " has no leader yet"
			}
		}
		if waiting == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topics not ready after %v: %s", timeout, waiting)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// retentionEntries are a topic's retention settings; a bound of 0 or less
// leaves the broker's default.
func retentionEntries(retention time.Duration, retentionBytes int64) map[string]*string {
	entries := map[string]*string{}
	if retention > 0 {
		v := strconv.FormatInt(retention.Milliseconds(), 10)
		entries["retention.ms"] = &v
	}
	if retentionBytes > 0 {
		v := strconv.FormatInt(retentionBytes, 10)
		entries["retention.bytes"] = &v
	}
	return entries
}

func (b *bridge) stats() *StatsReply {
	r := &StatsReply{State: b.state, KeptRecords: b.pendingLive, WaitingPublishers: len(b.ackWaiters), InFlightRecords: len(b.records), NotOursRecords: b.notOursCount}
	for _, cons := range b.consumers {
		r.HeldRecords += len(cons.held)
		for _, subs := range cons.subs {
			r.Subscriptions += len(subs)
		}
	}
	return r
}

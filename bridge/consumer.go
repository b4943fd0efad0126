package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
)

// tgKey names one consumption: a topic read by a consumer group.
type tgKey struct{ topic, group string }

// consumer is the bridge's side of one (topic, group): who subscribed, and
// the records held for keys that have no subscriber yet.
type consumer struct {
	key tgKey
	// subs are the subscribers by record key ("" = every key): nearly
	// always one per key (an engine, a driver), so a short list, not a map.
	subs map[string][]subRef
	// ours are the keys this process reads: every key that was subscribed
	// or expected (ExpectKeys). A record for another key is none of this
	// process's business (a driver process reads every driver's records):
	// it is skipped as it arrives, never held.
	ours map[string]bool
	// everyKey: a subscriber of every key ("") came, so every record is ours.
	everyKey bool
	held     []*inRecord
	running  bool
	gen      uint64
	cancel   context.CancelFunc
	done     chan struct{} // closed when the consumer group is closed

	// topics are read in one Kafka group when the consumption is shared
	// (Subscribe.Topics); nil: key.topic alone.
	topics []string
}

// claimState tracks one partition claim of a consumer-group session: the
// offsets handed out in order, and which of them are done.
type claimState struct {
	id        uint64
	cons      *consumer
	sess      sarama.ConsumerGroupSession
	topic     string
	partition int32
	sem       chan struct{}
	order     []int64
	done      map[int64]bool
}

// inRecord is a consumed record until every subscriber it went to is done.
type inRecord struct {
	id        uint64
	claim     *claimState
	offset    int64
	key       string
	msg       proto.Message
	pending   map[string]bool // subscribers that have not called Done
	doneCount int
	semHeld   bool // holds a place in its claim's in-flight window
	held      bool // waits for a subscriber of its key
}

// Messages from the claim goroutines and from Delivery.Done.
type (
	consumerRecord struct {
		claimID   uint64
		gen       uint64
		cons      tgKey
		sess      sarama.ConsumerGroupSession
		sem       chan struct{}
		topic     string
		partition int32
		offset    int64
		key       string
		msg       proto.Message
		err       error // the record does not decode
	}
	claimEnded   struct{ claimID uint64 }
	graceOver    struct{}
	deliveryDone struct {
		recID uint64
		sub   string
	}
)

// ---- subscriptions ----

// subRef is one subscriber of a key: its PID and the key it is known by.
type subRef struct {
	pk  string
	pid *actor.PID
}

// indexOf is where the subscriber pk is in subs, or -1.
func indexOf(subs []subRef, pk string) int {
	return slices.IndexFunc(subs, func(s subRef) bool { return s.pk == pk })
}

// without returns subs without the subscriber pk; the key goes when its
// last subscriber does.
func (cons *consumer) without(key, pk string) {
	subs := slices.DeleteFunc(cons.subs[key], func(s subRef) bool { return s.pk == pk })
	if len(subs) == 0 {
		delete(cons.subs, key)
		return
	}
	cons.subs[key] = subs
}

func (b *bridge) subscribe(c actor.Context, m *Subscribe) {
	if m.Subscriber == nil || m.Topic == "" || m.Group == "" {
		b.log.WithFields(logrus.Fields{"topic": m.Topic, "group": m.Group}).Warn("Ignored a Subscribe without topic, group or subscriber")
		return
	}
	cons := b.consumer(m.Topic, m.Group)
	if len(m.Topics) > 0 && cons.topics == nil {
		cons.topics = m.Topics
	}
	cons.claim(m.Key)
	pk := pidKey(m.Subscriber)
	if indexOf(cons.subs[m.Key], pk) < 0 {
		cons.subs[m.Key] = append(cons.subs[m.Key], subRef{pk, m.Subscriber})
		if len(b.subscribers[pk]) == 0 {
			c.Watch(m.Subscriber)
		}
		b.subscribers[pk] = append(b.subscribers[pk], subscription{cons, m.Key})
	}
	// Hand over what was held for this key.
	if len(cons.held) > 0 {
		keep := cons.held[:0]
		for _, r := range cons.held {
			if m.Key == "" || r.key == m.Key {
				r.held = false
				b.deliverTo(c, r, pk, m.Subscriber)
			} else {
				keep = append(keep, r)
			}
		}
		clear(cons.held[len(keep):])
		cons.held = keep
	}
	if b.state == StateReady {
		b.startConsumer(cons)
	}
}

// consumer returns the consumer of (topic, group), made on first use.
func (b *bridge) consumer(topic, group string) *consumer {
	k := tgKey{topic, group}
	cons := b.consumers[k]
	if cons == nil {
		cons = &consumer{key: k, subs: map[string][]subRef{}, ours: map[string]bool{}}
		b.consumers[k] = cons
	}
	return cons
}

// claim marks key ("" = every key) as read in this process.
func (cons *consumer) claim(key string) {
	if key == "" {
		cons.everyKey = true
		return
	}
	cons.ours[key] = true
}

// isOurs says whether records of key belong to this process.
func (cons *consumer) isOurs(key string) bool { return cons.everyKey || cons.ours[key] }

// expectKeys declares keys whose subscribers are on their way: their records
// are held until they subscribe. It starts no consumer.
func (b *bridge) expectKeys(m *ExpectKeys) {
	if m.Topic == "" || m.Group == "" {
		b.log.WithFields(logrus.Fields{"topic": m.Topic, "group": m.Group}).Warn("Ignored an ExpectKeys without topic or group")
		return
	}
	cons := b.consumer(m.Topic, m.Group)
	for _, k := range m.Keys {
		cons.claim(k)
	}
}

func (b *bridge) unsubscribe(m *Unsubscribe) {
	if m.Subscriber == nil {
		return
	}
	cons := b.consumers[tgKey{m.Topic, m.Group}]
	if cons == nil {
		return
	}
	pk := pidKey(m.Subscriber)
	if indexOf(cons.subs[m.Key], pk) >= 0 {
		cons.without(m.Key, pk)
		refs := slices.DeleteFunc(b.subscribers[pk], func(s subscription) bool { return s.cons == cons && s.key == m.Key })
		if len(refs) == 0 {
			delete(b.subscribers, pk)
		} else {
			b.subscribers[pk] = refs
		}
	}
}

// subscription is one (consumer, key) a subscriber receives.
type subscription struct {
	cons *consumer
	key  string
}

// forget drops a terminated watcher or subscriber. A record it never
// finished goes back to the held records, so the next subscriber of its key
// gets it.
func (b *bridge) forget(_ actor.Context, who *actor.PID) {
	pk := pidKey(who)
	delete(b.watchers, pk)
	refs := b.subscribers[pk]
	if len(refs) == 0 {
		return
	}
	delete(b.subscribers, pk)
	// Only this subscriber's own subscriptions: scanning every consumer's
	// keys made the shutdown of 15,000 subscribers quadratic.
	for _, ref := range refs {
		ref.cons.without(ref.key, pk)
	}
	if b.unfinished[pk] == 0 {
		// Nothing of it is under way: no need to look through every record
		// (15,000 subscribers stopping at once scanned all records each).
		return
	}
	delete(b.unfinished, pk)
	for _, r := range b.records {
		if !r.pending[pk] {
			continue
		}
		delete(r.pending, pk)
		if len(r.pending) > 0 {
			continue
		}
		if r.doneCount == 0 && len(b.subscribersOf(r.claim.cons, r.key)) == 0 {
			b.hold(r)
		} else {
			b.complete(r)
		}
	}
}

// subscribersOf are the subscribers of key's records: those of the key and
// those of every key, each once.
func (b *bridge) subscribersOf(cons *consumer, key string) []subRef {
	exact, all := cons.subs[key], cons.subs[""]
	if key == "" || len(exact) == 0 {
		return all
	}
	if len(all) == 0 {
		return exact
	}
	out := slices.Clone(all)
	for _, s := range exact {
		if indexOf(out, s.pk) < 0 {
			out = append(out, s)
		}
	}
	return out
}

// ---- consuming ----

func (b *bridge) startConsumer(cons *consumer) {
	if cons.running || b.stopped {
		return
	}
	b.recSeq++
	cons.gen = b.recSeq
	ctx, cancel := context.WithCancel(context.Background())
	cons.cancel, cons.running, cons.done = cancel, true, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		b.runConsumer(ctx, cons.key, cons.topics, cons.gen, b.cfg.consumerSarama())
	}(cons.done)
}

// stopConsumer ends the consumer group of cons. Its claims are forgotten at
// once: what was not done is read again by the next consumer.
func (b *bridge) stopConsumer(cons *consumer) {
	if !cons.running {
		return
	}
	cons.cancel()
	cons.running = false
	for id, cs := range b.claims {
		if cs.cons == cons {
			delete(b.claims, id)
		}
	}
	for _, r := range cons.held {
		delete(b.records, r.id)
	}
	cons.held = nil
}

// runConsumer is the goroutine of one consumer group: join, consume, and
// rejoin after a rebalance, until ctx ends.
// KafkaGroupID is the Kafka consumer group that reads topic for the
// bridge-level group of a Subscribe: "<group>.<topic>", e.g.
// "central.cp.telemetry". Each topic gets a Kafka group of its own, because
// consumers of one group id with different topics rebalance each other on
// every join (that cost about 2 s before the first supply). Use it with
// Kafka's tools, e.g. kafka-consumer-groups --describe --group central.cp.telemetry.
func KafkaGroupID(group, topic string) string { return group + "." + topic }

// kafkaGroupID is KafkaGroupID on the broker: the topic prefix included.
func (b *bridge) kafkaGroupID(key tgKey) string {
	return KafkaGroupID(key.group, b.cfg.kafkaTopic(key.topic))
}

func (b *bridge) runConsumer(ctx context.Context, key tgKey, topics []string, gen uint64, sc *sarama.Config) {
	if topics == nil {
		topics = []string{key.topic}
	}
	log := b.log.WithFields(logrus.Fields{"topic": key.topic, "group": key.group})
	var cg sarama.ConsumerGroup
	var client sarama.Client
	for {
		var err error
		if client, err = sarama.NewClient(b.cfg.Brokers, sc); err == nil {
			if cg, err = sarama.NewConsumerGroupFromClient(b.kafkaGroupID(key), client); err != nil {
				_ = client.Close()
			}
		}
		if err == nil {
			break
		}
		log.WithField("error", err).Debug("Cannot start the consumer group yet")
		if !sleepCtx(ctx, time.Second) {
			return
		}
	}
	defer func() { _ = cg.Close(); _ = client.Close() }()
	go func() {
		for err := range cg.Errors() {
			log.WithField("error", err).Debug("Consumer group error")
		}
	}()
	if !b.alignSharedTopics(ctx, log, client, topics) {
		return
	}
	sessionWarned := false
	h := &claimHandler{b: b, key: key, gen: gen, window: b.cfg.InFlightPerPartition, shared: len(topics) > 1 || topics[0] != key.topic, client: client, topics: topics}
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, b.cfg.kafkaTopics(topics), h); err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrInvalidSessionTimeout) && !sessionWarned {
				sessionWarned = true
				log.Warnf("Kafka refuses the consumer group's session of %v: it is outside the broker's group.min/max.session.timeout.ms (set --group-session-timeout within them); trying again",
					sc.Consumer.Group.Session.Timeout)
			}
			log.WithField("error", err).Debug("Consume ended; joining again")
			sleepCtx(ctx, 500*time.Millisecond)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// claimHandler decodes records in the claim's goroutine and hands them to
// the bridge, at most window of them not yet done per partition.
type claimHandler struct {
	b      *bridge
	key    tgKey
	gen    uint64
	window int
	// shared: tell the subscribers each new assignment (shared.go).
	shared bool
	client sarama.Client
	topics []string
}

func (h *claimHandler) Setup(sess sarama.ConsumerGroupSession) error {
	if h.shared {
		h.b.send(newAssigned(&h.b.cfg, h.key, h.gen, sess, h.client, h.topics))
	}
	return nil
}

func (h *claimHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *claimHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	id := h.b.claimIDs.Add(1)
	sem := make(chan struct{}, h.window)
	defer h.b.send(claimEnded{claimID: id})
	ctx := sess.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			topic := h.b.cfg.roleTopic(m.Topic)
			rec := &consumerRecord{
				claimID: id, gen: h.gen, cons: h.key, sess: sess, sem: sem,
				topic: topic, partition: m.Partition, offset: m.Offset, key: string(m.Key),
			}
			msg, err := h.b.sealer.decode(topic, string(m.Key), m.Value)
			if err != nil {
				rec.err = err
			} else {
				rec.msg = msg
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return nil
				}
			}
			h.b.send(rec)
		}
	}
}

func (b *bridge) consumed(c actor.Context, m *consumerRecord) {
	release := func() {
		if m.err == nil {
			<-m.sem
		}
	}
	cons := b.consumers[m.cons]
	if cons == nil || !cons.running || cons.gen != m.gen {
		release()
		return
	}
	cs := b.claims[m.claimID]
	if cs == nil {
		cs = &claimState{id: m.claimID, cons: cons, sess: m.sess, topic: m.topic, partition: m.partition, sem: m.sem, done: map[int64]bool{}}
		b.claims[m.claimID] = cs
	}
	cs.order = append(cs.order, m.offset)
	if m.err != nil {
		if ref, ok := isRefusal(m.err); ok {
			b.refused(cons, m, ref)
		} else {
			b.badRecord(m)
		}
		cs.done[m.offset] = true
		b.advance(cs)
		return
	}
	b.run.KafkaRecordsIn.Add(1)
	subs := b.subscribersOf(cons, m.key)
	if len(subs) == 0 && !cons.isOurs(m.key) && !time.Now().Before(b.graceUntil) {
		b.notOurs(cs, m)
		return
	}
	b.recSeq++
	r := &inRecord{id: b.recSeq, claim: cs, offset: m.offset, key: m.key, msg: m.msg, semHeld: true}
	b.records[r.id] = r
	if len(subs) == 0 {
		b.hold(r)
		return
	}
	for _, s := range subs {
		b.deliverTo(c, r, s.pk, s.pid)
	}
}

// notOurs skips a record whose key nobody in this process reads: done at
// once, so that its offset moves on and it takes no memory.
func (b *bridge) notOurs(cs *claimState, m *consumerRecord) {
	<-m.sem
	b.notOursCount++
	// A driver process meets every other driver's records: build no
	// fields for a line that is not written.
	if b.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		b.log.WithFields(logrus.Fields{
			"topic": m.topic, "partition": m.partition, "offset": m.offset, "key": m.key, "group": cs.cons.key.group,
		}).Debug("Skipped a record for a key that nobody in this process reads")
	}
	cs.done[m.offset] = true
	b.advance(cs)
}

// skipHeldNotOurs ends a restarted bridge's grace: what it held for keys
// whose subscribers did not come back is another process's after all.
func (b *bridge) skipHeldNotOurs() {
	for _, cons := range b.consumers {
		keep := cons.held[:0]
		var skip []*inRecord
		for _, r := range cons.held {
			if cons.isOurs(r.key) {
				keep = append(keep, r)
			} else {
				skip = append(skip, r)
			}
		}
		clear(cons.held[len(keep):])
		cons.held = keep
		for _, r := range skip {
			r.held = false
			b.notOursCount++
			b.log.WithFields(logrus.Fields{"topic": r.claim.topic, "partition": r.claim.partition, "offset": r.offset, "key": r.key}).
				Debug("Skipped a held record: no subscriber of its key came back after the restart")
			b.complete(r)
		}
	}
}

// hold keeps a record until a subscriber of its key comes; it gives up its
// place in the in-flight window so that other keys of the partition go on.
func (b *bridge) hold(r *inRecord) {
	cons := r.claim.cons
	r.held = true
	if r.semHeld {
		<-r.claim.sem
		r.semHeld = false
	}
	cons.held = append(cons.held, r)
	if len(cons.held) > b.cfg.HoldPerConsumer {
		old := cons.held[0]
		cons.held[0] = nil
		cons.held = cons.held[1:]
		old.held = false
		b.log.WithFields(logrus.Fields{
			"topic": old.claim.topic, "partition": old.claim.partition, "offset": old.offset,
			"key": old.key, "group": cons.key.group,
		}).Debug("Skipped a held record: no subscriber for its key")
		if time.Since(b.holdWarned) > time.Minute {
			b.holdWarned = time.Now()
			b.log.WithFields(logrus.Fields{"topic": cons.key.topic, "group": cons.key.group}).
				Warnf("More than %d records are waiting for subscribers; skipping the oldest", b.cfg.HoldPerConsumer)
		}
		b.complete(old)
	}
}

func (b *bridge) deliverTo(c actor.Context, r *inRecord, pk string, pid *actor.PID) {
	if r.pending == nil {
		r.pending = map[string]bool{}
	}
	if !r.pending[pk] {
		r.pending[pk] = true
		b.unfinished[pk]++
	}
	var once sync.Once
	system, self, id := b.system, b.self, r.id
	done := func() {
		once.Do(func() { system.Root.Send(self, deliveryDone{recID: id, sub: pk}) })
	}
	c.Send(pid, NewDelivery(r.claim.topic, r.key, r.claim.partition, r.offset, r.msg, done))
}

// finished counts one record less under way for the subscriber pk.
func (b *bridge) finished(pk string) {
	if n := b.unfinished[pk] - 1; n > 0 {
		b.unfinished[pk] = n
	} else {
		delete(b.unfinished, pk)
	}
}

func (b *bridge) deliveryDone(m deliveryDone) {
	r := b.records[m.recID]
	if r == nil || !r.pending[m.sub] {
		// A record dropped with its claim stays counted: forget then looks
		// through the records once, which is only slower.
		return
	}
	delete(r.pending, m.sub)
	b.finished(m.sub)
	r.doneCount++
	if len(r.pending) == 0 {
		b.complete(r)
	}
}

// complete finishes a record: its place in the window is freed and its
// offset can be marked once every earlier one is done.
func (b *bridge) complete(r *inRecord) {
	delete(b.records, r.id)
	if r.semHeld {
		<-r.claim.sem
		r.semHeld = false
	}
	cs := r.claim
	if b.claims[cs.id] != cs {
		return // the claim ended: the record will be read again
	}
	cs.done[r.offset] = true
	b.advance(cs)
}

func (b *bridge) advance(cs *claimState) {
	last := int64(-1)
	for len(cs.order) > 0 && cs.done[cs.order[0]] {
		last = cs.order[0]
		delete(cs.done, last)
		cs.order = cs.order[1:]
	}
	if last >= 0 {
		cs.sess.MarkOffset(b.cfg.kafkaTopic(cs.topic), cs.partition, last+1, "")
	}
}

func (b *bridge) claimEnded(m claimEnded) {
	cs := b.claims[m.claimID]
	if cs == nil {
		return
	}
	delete(b.claims, m.claimID)
	cons := cs.cons
	keep := cons.held[:0]
	for _, r := range cons.held {
		if r.claim == cs {
			delete(b.records, r.id)
		} else {
			keep = append(keep, r)
		}
	}
	clear(cons.held[len(keep):])
	cons.held = keep
}

// ---- bad records ----

// badRecordLog rate-limits the WARN about records that do not decode.
type badRecordLog struct {
	every      time.Duration
	last       time.Time
	suppressed int
}

func (b *bridge) badRecord(m *consumerRecord) {
	b.run.KafkaRecordsBad.Add(1)
	l := &b.bad
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return
	}
	// protobuf puts a non-breaking space after "proto:" in some builds.
	reason := strings.ReplaceAll(fmt.Sprint(m.err), "\u00a0", " ")
	fields := logrus.Fields{"topic": m.topic, "partition": m.partition, "offset": m.offset, "error": reason}
	if l.suppressed > 0 {
		fields["skipped_since_last"] = l.suppressed
	}
	l.last, l.suppressed = now, 0
	b.log.WithFields(fields).Warn("Skipped a record that does not decode")
}

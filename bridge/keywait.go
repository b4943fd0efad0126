package bridge

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
)

// Sealing in the bridge actor: records on a sealed topic wait for their
// charge point's key, and records that do not open are refused, each
// refusal one WARN per charge point and interval, and reported to the
// refusal watchers (Central, which shows the charge point's state).

// WatchRefusals asks the bridge to send Watcher a *Refused for every record
// of a sealed topic that it refuses (only for keys this process reads).
type WatchRefusals struct {
	Watcher *actor.PID
}

// Refused is a record of a sealed topic that did not open (or came in
// clear), for a key this process reads. It was skipped; consumption goes on.
type Refused struct {
	Topic     string
	Partition int32
	Offset    int64
	// Key is the record's key: the charge point id.
	Key   string
	KeyID string
	// Err is one of seal's sentinels (e.g. seal.ErrRevokedKey).
	Err error
}

// Messages from the keyring's watcher and the feeder.
type (
	keyChanged struct{ cpID string }
	// keyGone: a record whose key went (revoked) between Publish and sealing.
	keyGone struct{ r *outRecord }
)

// keyWaits are the records waiting for their charge point's key.
type keyWaits struct {
	byKey    map[string][]*outRecord
	count    int
	fullLog  time.Time
	watchers map[string]*actor.PID
	warned   map[string]time.Time // cp id -> last refusal WARN
	skipped  map[string]int       // cp id -> refusals since that WARN
}

func (w *keyWaits) init() {
	if w.byKey == nil {
		w.byKey, w.watchers = map[string][]*outRecord{}, map[string]*actor.PID{}
		w.warned, w.skipped = map[string]time.Time{}, map[string]int{}
	}
}

// watchKeys makes the keyring tell the bridge when a charge point's keys change.
func (b *bridge) watchKeys() {
	b.waits.init()
	if b.sealer == nil || b.restarted {
		return // the first incarnation's watcher reaches the same PID
	}
	system, self := b.system, b.self
	b.sealer.keys.Watch(func(cpID string) { system.Root.Send(self, keyChanged{cpID}) })
}

// waitForKey keeps r while its charge point has no key to seal it with (or
// earlier records of it still wait): it goes out, in order, once the key
// is installed. Telemetry waits as its latest reading only.
func (b *bridge) waitForKey(r *outRecord) bool {
	if !b.sealer.seals(r.topic) {
		return false
	}
	w := &b.waits
	list := w.byKey[r.key]
	if len(list) == 0 {
		if _, ok := b.sealer.keys.Current(r.key); ok {
			return false
		}
		b.log.WithFields(logrus.Fields{"cp_id": r.key, "topic": r.topic}).Debugf("Holding records for %s until it has its key", r.key)
	}
	if r.topic == TopicTelemetry && len(list) > 0 && list[len(list)-1].topic == TopicTelemetry {
		list[len(list)-1] = r
		return true
	}
	if w.count >= b.cfg.BufferRecords {
		if time.Since(w.fullLog) > b.cfg.BadRecordLogEvery {
			w.fullLog = time.Now()
			b.log.WithFields(logrus.Fields{"cp_id": r.key, "topic": r.topic, "waiting_records": w.count}).
				Warnf("Dropped a record for %s: %d records already wait for their charge point's key", r.key, w.count)
		}
		return true
	}
	w.byKey[r.key] = append(list, r)
	w.count++
	return true
}

// keyChanged sends what waited for cpID's key, once it has one.
func (b *bridge) keyChanged(cpID string) {
	w := &b.waits
	list := w.byKey[cpID]
	if len(list) == 0 {
		return
	}
	if _, ok := b.sealer.keys.Current(cpID); !ok {
		return
	}
	delete(w.byKey, cpID)
	w.count -= len(list)
	b.log.WithFields(logrus.Fields{"cp_id": cpID, "records": len(list)}).Debugf("Sending the records held for %s: its key is here", cpID)
	for _, r := range list {
		if b.state == StateReady {
			b.produce(nil, r)
		} else {
			b.keep(r)
		}
	}
	b.flushBatch()
}

// keyGone puts back a record that lost its key before it was sealed.
func (b *bridge) keyGone(r *outRecord) {
	w := &b.waits
	w.byKey[r.key] = append(w.byKey[r.key], r)
	w.count++
	b.keyChanged(r.key) // a new key may be there already
}

// refused handles a record of a sealed topic that did not open.
func (b *bridge) refused(cons *consumer, m *consumerRecord, ref *RefusedError) {
	if !cons.isOurs(m.key) && !time.Now().Before(b.graceUntil) {
		b.notOursCount++
		return // another process's charge point: it is none of ours to judge
	}
	if !b.sealer.keys.Knows(m.key) {
		// A charge point this process never had a key for: another
		// network's on a shared Kafka (a new consumer group reads it all).
		b.notOursCount++
		if b.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
			b.log.WithFields(logrus.Fields{"topic": m.topic, "partition": m.partition, "offset": m.offset, "cp_id": m.key, "key_id": ref.KeyID}).
				Debugf("Skipped a record of %s, a charge point this process has no key for: %v", m.key, ref.Err)
		}
		return
	}
	b.run.KafkaRecordsBad.Add(1)
	w := &b.waits
	now := time.Now()
	if last, ok := w.warned[m.key]; ok && now.Sub(last) < b.cfg.BadRecordLogEvery {
		w.skipped[m.key]++
	} else {
		if len(w.warned) > 10_000 {
			clear(w.warned)
			clear(w.skipped)
		}
		fields := logrus.Fields{"topic": m.topic, "partition": m.partition, "offset": m.offset, "cp_id": m.key, "key_id": ref.KeyID}
		if n := w.skipped[m.key]; n > 0 {
			fields["refused_since_last"] = n
		}
		w.warned[m.key], w.skipped[m.key] = now, 0
		b.log.WithFields(fields).Warnf("Refused a record for %s on %s: %v", m.key, m.topic, ref.Err)
	}
	for _, pid := range w.watchers {
		b.system.Root.Send(pid, &Refused{Topic: m.topic, Partition: m.partition, Offset: m.offset, Key: m.key, KeyID: ref.KeyID, Err: ref.Err})
	}
}

func (b *bridge) watchRefusals(c actor.Context, m *WatchRefusals) {
	if m.Watcher == nil {
		return
	}
	if _, ok := b.waits.watchers[pidKey(m.Watcher)]; !ok {
		b.waits.watchers[pidKey(m.Watcher)] = m.Watcher
		c.Watch(m.Watcher)
	}
}

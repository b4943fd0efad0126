package bridge

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// The topics of the network. Records are keyed by charge point id (cp.*,
// central.commands) or by driver id (driver.*), so each key stays in order.
const (
	TopicDriverRequests = "driver.requests"  // ChargeRequest, key driver id
	TopicDriverUpdates  = "driver.updates"   // ChargeAccepted, ChargeDenied, SupplyStarted, Telemetry, SupplyEnded, DriverNotice; key driver id
	TopicCommands       = "central.commands" // Command, key cp id
	TopicStatus         = "cp.status"        // StatusChange, SupplyStarted, CommandRejected; key cp id
	TopicTelemetry      = "cp.telemetry"     // Telemetry, key cp id
	TopicSessionEnd     = "cp.session_end"   // SupplyEnded, key cp id
	TopicTickets        = "driver.tickets"   // Ticket, key driver id
	// TopicRegistry is compacted: the latest ChargePointIdentity per cp id
	// and RegistryKey per "key:"+key id, so a starting Central rebuilds them.
	TopicRegistry = "registry.changes"
	// TopicWeatherAlerts is compacted: the latest WeatherAlert per city, so
	// a Central that starts (or comes back) applies the alerts in force.
	TopicWeatherAlerts = "weather.alerts"
	// TopicWeatherReadings carries every WeatherReading, key city.
	TopicWeatherReadings = "weather.readings"
	// TopicCentralMembers is compacted: the latest CentralMember per
	// Central of a shared group (key group + "/" + its address), so each
	// Central knows where the others are and which partitions they own.
	TopicCentralMembers = "central.members"
	// TopicCentralKeys is compacted: the latest CentralKeys per cp id (its
	// keys wrapped with the group's master key), so a Central that takes a
	// charge point over holds its keys.
	TopicCentralKeys = "central.keys"
	// TopicCentralChargePoints is compacted: the latest CentralChargePoint
	// per cp id (its registry entry and the operator's stop), so a Central
	// that takes a charge point over rebuilds it into its store.
	TopicCentralChargePoints = "central.chargepoints"
	// TopicCentralDrivers is compacted: the latest CentralDriver per driver
	// id, so every Central of a shared group knows who is being served.
	TopicCentralDrivers = "central.drivers"
)

// compactedTopics are created with cleanup.policy=compact and no retention
// limit: their latest record per key is state, not an event.
var compactedTopics = map[string]bool{TopicRegistry: true, TopicWeatherAlerts: true, TopicCentralMembers: true, TopicCentralKeys: true,
	TopicCentralChargePoints: true, TopicCentralDrivers: true}

// Topics lists every topic the bridge creates when it becomes ready.
var Topics = []string{
	TopicDriverRequests, TopicDriverUpdates, TopicCommands, TopicStatus,
	TopicTelemetry, TopicSessionEnd, TopicTickets, TopicRegistry,
	TopicWeatherAlerts, TopicWeatherReadings, TopicCentralMembers, TopicCentralKeys,
	TopicCentralChargePoints, TopicCentralDrivers,
}

// State is where the bridge is in its life.
type State int

const (
	// StateWaiting: probing the broker; nothing is sent or consumed yet.
	StateWaiting State = iota
	// StateReady: topics exist, producing and consuming.
	StateReady
	// StateOutage: the broker went away after being ready; publishes are kept.
	StateOutage
	// StateFailed: the broker never answered within the attempts; the process should exit 1.
	StateFailed
)

func (s State) String() string {
	switch s {
	case StateWaiting:
		return "waiting"
	case StateReady:
		return "ready"
	case StateOutage:
		return "outage"
	case StateFailed:
		return "failed"
	}
	return "unknown"
}

// Publish asks the bridge to send Msg to Topic under Key. Fire and forget: the
// bridge keeps it through a broker outage (bounded, then back-pressure) and
// delivers it once; telemetry may be coalesced to the latest reading per key.
type Publish struct {
	Topic string
	Key   string
	Msg   proto.Message
}

// Subscribe asks the bridge to deliver the records of Topic to Subscriber as
// *Delivery messages. Group names who reads the topic for this process (e.g.
// "central", "engine-CP-001", "drivers"); the Kafka consumer group is
// KafkaGroupID(Group, Topic), one per topic. Key, when not
// empty, limits deliveries to records with that key; several subscribers of
// one group can share a topic with different keys (the bridge consumes once
// and routes). A record whose key is this process's (subscribed before, or
// announced with ExpectKeys) but has no subscriber right now is held
// (Config.HoldPerConsumer) and delivered when one subscribes, so a driver
// that comes back sees what it missed. A record for any other key is skipped
// as it arrives: a driver process reads every driver's records and keeps
// only its own. Subscribing the same PID twice is harmless.
type Subscribe struct {
	Topic      string
	Group      string
	Key        string
	Subscriber *actor.PID
	// Topics, when set, are read together in ONE Kafka consumer group,
	// KafkaGroupID(Group, Topic), Topic then only naming the consumption
	// (see shared.go): its members get the same partitions of each topic,
	// and the subscriber is told them (*Assigned) on every rebalance.
	Topics []string
}

// ExpectKeys tells the bridge that subscribers of Group will come for these
// Keys of Topic (e.g. the drivers a process is about to start): records for
// them are held until they subscribe instead of being skipped as another
// process's. It starts no consumption; the first Subscribe does.
type ExpectKeys struct {
	Topic string
	Group string
	Keys  []string
}

// Unsubscribe ends a Subscribe.
type Unsubscribe struct {
	Topic      string
	Group      string
	Key        string
	Subscriber *actor.PID
}

// Delivery is one decoded record for a subscriber. The subscriber must call
// Done once it has handled it (call it in a defer, so a panic does not leave
// it pending): the offset is marked only after every earlier record of the
// partition is done. Records can be delivered again after a crash, so
// handlers are idempotent.
type Delivery struct {
	Topic     string
	Key       string
	Partition int32
	Offset    int64
	Msg       proto.Message
	done      func()
}

// Done tells the bridge that the record is handled. Safe to call more than
// once and from any goroutine.
func (d *Delivery) Done() {
	if d != nil && d.done != nil {
		d.done()
	}
}

// NewDelivery builds a Delivery with a done callback, for bridges and tests.
func NewDelivery(topic, key string, partition int32, offset int64, msg proto.Message, done func()) *Delivery {
	return &Delivery{Topic: topic, Key: key, Partition: partition, Offset: offset, Msg: msg, done: done}
}

// WatchState asks the bridge to send Watcher a *StateChanged now and on every
// change of state.
type WatchState struct {
	Watcher *actor.PID
}

// StateChanged tells a watcher the bridge's state.
type StateChanged struct {
	State State
	// Detail says why, e.g. the broker address or the error that caused an outage.
	Detail string
}

// PublishAccepted answers a Publish sent with Request: the record is in the
// producer or in the bridge's bounded buffer. While the buffer is full the
// answer is held back, which is how a publisher feels back-pressure.
type PublishAccepted struct {
	// Err is set when the message cannot be encoded (a bug: unknown type).
	Err error
}

// Stats asks the bridge for a *StatsReply (for panels, /readyz and tests).
type Stats struct{}

// StatsReply is what the bridge holds right now.
type StatsReply struct {
	State State
	// KeptRecords are waiting for Kafka (not ready yet, or an outage).
	KeptRecords int
	// WaitingPublishers asked for an answer and are held by a full buffer.
	WaitingPublishers int
	// HeldRecords were consumed and wait for a subscriber of their key.
	HeldRecords int
	// InFlightRecords were consumed and are not done yet (held ones included).
	InFlightRecords int
	// NotOursRecords were skipped since the bridge started: their key is
	// read by no subscriber of this process.
	NotOursRecords int
	// Subscriptions counts (topic, group, key, subscriber) subscriptions.
	Subscriptions int
}

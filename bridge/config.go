package bridge

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/evcharging/evsim/internal/seal"
)

// Config is how a bridge finds its broker, waits for it and talks to it.
// The zero value of every field means its default; DefaultConfig shows them.
type Config struct {
	// Brokers are the bootstrap addresses (HOST:PORT). Required.
	Brokers []string
	// WaitAttempts is how many readiness probes are made before the bridge
	// gives up and reports StateFailed; 0 means wait forever. Negative is
	// invalid. There is no "default" for this field: callers pass the value
	// of --kafka-wait-attempts (30 by default there).
	WaitAttempts int
	// WaitInterval is the time between the starts of two probes. Default 2 s.
	WaitInterval time.Duration
	// ProbeTimeout bounds one probe (dial, API versions, metadata).
	// Default: WaitInterval, at least 500 ms and at most 10 s.
	ProbeTimeout time.Duration
	// HealthInterval is how often a ready bridge asks the broker for
	// metadata to notice an outage that no record has run into. Default 1 s.
	HealthInterval time.Duration
	// HealthFailures is how many health probes in a row must fail before the
	// bridge declares an outage. Default 2.
	HealthFailures int

	// Partitions is the partition count of the topics the bridge creates. Default 6.
	Partitions int
	// Topics the bridge creates when it becomes ready. Default: Topics.
	Topics []string
	// TopicPrefix goes before every topic name on the broker (and so every
	// consumer group id), e.g. "lab-a." makes driver.requests
	// lab-a.driver.requests. Default "": the plain names.
	TopicPrefix string
	// Retention bounds what the broker keeps of each topic (retention.ms).
	// Default 1 h; negative means the broker's default (no setting).
	Retention time.Duration
	// RetentionBytes bounds each partition (retention.bytes). Default 32 MiB;
	// negative means the broker's default.
	RetentionBytes int64
	// TelemetryRetention and TelemetryRetentionBytes are the same bounds for
	// TopicTelemetry, the one topic that grows with every supplying charge
	// point every second and that no one reads again later. Default:
	// Retention and RetentionBytes.
	TelemetryRetention      time.Duration
	TelemetryRetentionBytes int64

	// Security is TLS and SASL towards the broker. Default: plaintext, no
	// authentication.
	Security Security

	// ClientID names this process to the broker and is written into each
	// envelope as its producer. Default "evsim".
	ClientID string

	// BufferRecords bounds the records kept while the broker is away (or not
	// ready yet). Above it, publishers that ask for an acknowledgement (see
	// Publish) are held until there is room again. Default 100 000.
	BufferRecords int
	// InFlightPerPartition bounds the records of one consumed partition that
	// are delivered but not yet Done; consumption of that partition pauses at
	// the bound. Default 1024.
	InFlightPerPartition int
	// HoldPerConsumer bounds the records held for keys of this process that
	// have no subscriber right now, per (topic, group). Above it the oldest held record is
	// skipped with a WARN. Default 10 000.
	HoldPerConsumer int
	// RestartGrace: after the bridge actor restarts (a bug made Receive
	// panic), it knows no subscriber until they repeat their Subscribe
	// (roles do every few seconds). For this long it holds the records of
	// every key; then those of keys still without a subscriber are skipped
	// as another process's. Default 15 s.
	RestartGrace time.Duration
	// BadRecordLogEvery rate-limits the WARN about records that do not
	// decode: at most one line per this interval (each line says how many
	// were skipped since the last one). Default 5 s.
	BadRecordLogEvery time.Duration

	// GroupSessionTimeout is the session of this process's consumer groups:
	// how long the broker waits for a silent member (a killed process)
	// before it gives the member's partitions to the others. Default 10 s
	// (the embedded broker accepts down to 1 s, Kafka down to its
	// group.min.session.timeout.ms, 6 s by default).
	GroupSessionTimeout time.Duration

	// Keys, when set, seals every record of SealedTopics with the key of
	// its charge point (the record's key) and refuses what does not open
	// (see sealcodec.go). nil: records travel in clear (encryption off).
	Keys *seal.Keyring
	// SealedTopics are the topics sealed with Keys. Default: SealedTopics.
	SealedTopics []string
}

// DefaultConfig returns a Config with every default filled in, for brokers.
func DefaultConfig(brokers ...string) Config {
	c := Config{Brokers: brokers, WaitAttempts: 30}
	c.setDefaults()
	return c
}

// Sentinel errors.
var (
	// ErrNotReady is returned by helpers that need a ready bridge.
	ErrNotReady = errors.New("bridge is not ready")
	// ErrKafkaUnavailable means the broker did not answer within the attempts.
	ErrKafkaUnavailable = errors.New("kafka did not become available")
	// ErrNoBroker means a metadata answer named no broker: the cluster is not ready.
	ErrNoBroker = errors.New("metadata names no broker")
)

func (c *Config) setDefaults() {
	if c.WaitInterval == 0 {
		c.WaitInterval = 2 * time.Second
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = min(max(c.WaitInterval, 500*time.Millisecond), 10*time.Second)
	}
	if c.HealthInterval == 0 {
		c.HealthInterval = time.Second
	}
	if c.HealthFailures == 0 {
		c.HealthFailures = 2
	}
	if c.Partitions == 0 {
		c.Partitions = 6
	}
	if c.Topics == nil {
		c.Topics = append([]string(nil), Topics...)
	}
	if c.Retention == 0 {
		c.Retention = time.Hour
	}
	if c.RetentionBytes == 0 {
		c.RetentionBytes = 32 << 20
	}
	if c.TelemetryRetention == 0 {
		c.TelemetryRetention = c.Retention
	}
	if c.TelemetryRetentionBytes == 0 {
		c.TelemetryRetentionBytes = c.RetentionBytes
	}
	if c.ClientID == "" {
		c.ClientID = "evsim"
	}
	if c.BufferRecords == 0 {
		c.BufferRecords = 100_000
	}
	if c.InFlightPerPartition == 0 {
		c.InFlightPerPartition = 1024
	}
	if c.HoldPerConsumer == 0 {
		c.HoldPerConsumer = 10_000
	}
	if c.RestartGrace == 0 {
		c.RestartGrace = 15 * time.Second
	}
	if c.SealedTopics == nil {
		c.SealedTopics = append([]string(nil), SealedTopics...)
	}
	if c.BadRecordLogEvery == 0 {
		c.BadRecordLogEvery = 5 * time.Second
	}
}

// Validate checks every field and says which one is wrong and why.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("bridge config: Brokers is empty (give at least one HOST:PORT)")
	}
	for _, b := range c.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			return fmt.Errorf("bridge config: broker %q is not HOST:PORT", b)
		}
	}
	switch {
	case c.WaitAttempts < 0:
		return fmt.Errorf("bridge config: WaitAttempts %d is negative (0 means forever)", c.WaitAttempts)
	case c.WaitInterval <= 0:
		return fmt.Errorf("bridge config: WaitInterval %v must be more than 0", c.WaitInterval)
	case c.ProbeTimeout <= 0:
		return fmt.Errorf("bridge config: ProbeTimeout %v must be more than 0", c.ProbeTimeout)
	case c.HealthInterval <= 0:
		return fmt.Errorf("bridge config: HealthInterval %v must be more than 0", c.HealthInterval)
	case c.HealthFailures < 1:
		return fmt.Errorf("bridge config: HealthFailures %d must be at least 1", c.HealthFailures)
	case c.Partitions < 1 || c.Partitions > 1000:
		return fmt.Errorf("bridge config: Partitions %d is out of range (1 to 1000)", c.Partitions)
	case c.BufferRecords < 1:
		return fmt.Errorf("bridge config: BufferRecords %d must be at least 1", c.BufferRecords)
	case c.InFlightPerPartition < 1:
		return fmt.Errorf("bridge config: InFlightPerPartition %d must be at least 1", c.InFlightPerPartition)
	case c.HoldPerConsumer < 1:
		return fmt.Errorf("bridge config: HoldPerConsumer %d must be at least 1", c.HoldPerConsumer)
	case c.RestartGrace < 0:
		return fmt.Errorf("bridge config: RestartGrace %v is negative", c.RestartGrace)
	case c.BadRecordLogEvery < 0:
		return fmt.Errorf("bridge config: BadRecordLogEvery %v is negative", c.BadRecordLogEvery)
	case c.GroupSessionTimeout < 0:
		return fmt.Errorf("bridge config: GroupSessionTimeout %v is negative", c.GroupSessionTimeout)
	}
	if err := c.Security.Validate(); err != nil {
		return err
	}
	if err := ValidateTopicPrefix(c.TopicPrefix); err != nil {
		return fmt.Errorf("bridge config: %w", err)
	}
	for _, t := range c.Topics {
		if t == "" || strings.ContainsAny(t, " /\\") {
			return fmt.Errorf("bridge config: topic name %q is not valid", t)
		}
	}
	return nil
}

// brokerList is how the gate names the brokers in its lines.
func (c *Config) brokerList() string { return strings.Join(c.Brokers, ",") }

// formatSeconds writes a duration as seconds with a unit, e.g. 2s or 0.25s.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// baseSarama is what every sarama client of the bridge shares. The 30 s
// defaults of sarama are far too long for an operator waiting on a broker:
// a dead broker must be noticed in seconds, not half a minute.
func (c *Config) baseSarama() *sarama.Config {
	s := sarama.NewConfig()
	s.ClientID = c.ClientID
	s.Version = sarama.V2_8_0_0
	s.Net.DialTimeout = min(c.ProbeTimeout, 3*time.Second)
	s.Net.ReadTimeout = 10 * time.Second
	s.Net.WriteTimeout = 5 * time.Second
	s.Metadata.Retry.Max = 2
	s.Metadata.Retry.Backoff = 200 * time.Millisecond
	s.Metadata.RefreshFrequency = time.Minute
	// Topics we did not create (a test's, an operator's) are created on
	// first use; both brokers allow it (kfake because we tell it to).
	s.Metadata.AllowAutoTopicCreation = true
	c.Security.apply(s)
	return s
}

// probeSarama is for the readiness and health probes: one short try.
func (c *Config) probeSarama() *sarama.Config {
	s := c.baseSarama()
	s.Net.DialTimeout = c.ProbeTimeout
	s.Net.ReadTimeout = c.ProbeTimeout
	s.Net.WriteTimeout = c.ProbeTimeout
	s.Metadata.Retry.Max = 0
	return s
}

// producerSarama is the idempotent async producer with acks=all.
func (c *Config) producerSarama() *sarama.Config {
	s := c.baseSarama()
	s.Producer.Idempotent = true
	s.Producer.RequiredAcks = sarama.WaitForAll
	s.Net.MaxOpenRequests = 1
	s.Producer.Return.Successes = true
	s.Producer.Return.Errors = true
	// A short, bounded retry: a longer outage is the bridge's business (it
	// keeps the records and re-sends them on a new producer), not sarama's.
	s.Producer.Retry.Max = 3
	s.Producer.Retry.Backoff = 250 * time.Millisecond
	s.Producer.Timeout = 5 * time.Second
	s.Producer.Flush.Frequency = 0
	s.ChannelBufferSize = 1024
	return s
}

// consumerSarama is for one consumer group: offsets from the oldest record
// for a new group, marked offsets committed every second.
func (c *Config) consumerSarama() *sarama.Config {
	s := c.baseSarama()
	s.Consumer.Offsets.Initial = sarama.OffsetOldest
	s.Consumer.Offsets.AutoCommit.Enable = true
	s.Consumer.Offsets.AutoCommit.Interval = time.Second
	s.Consumer.Return.Errors = true
	// kfake refuses sessions under its minimum (6 s unless told otherwise);
	// 10 s is sarama's default and valid on both brokers.
	s.Consumer.Group.Session.Timeout = 10 * time.Second
	s.Consumer.Group.Heartbeat.Interval = time.Second
	if c.GroupSessionTimeout > 0 {
		s.Consumer.Group.Session.Timeout = c.GroupSessionTimeout
		s.Consumer.Group.Heartbeat.Interval = min(time.Second, c.GroupSessionTimeout/3)
	}
	s.Consumer.Group.Rebalance.Timeout = 15 * time.Second
	// A JoinGroup or SyncGroup refused while the group rebalances is tried
	// again after this back-off, well within the session: sarama's 2 s
	// outlasted a 2 s session, the coordinator expelled the waiting member,
	// and after a Kafka node's crash two Centrals took turns in generations
	// of one for up to 14 s (groupretry_test.go).
	s.Consumer.Group.Rebalance.Retry.Backoff = min(2*time.Second, s.Consumer.Group.Session.Timeout/8)
	// A JoinGroup can legitimately wait for a departed member's session to
	// expire: the read timeout must outlast the rebalance.
	s.Net.ReadTimeout = 20 * time.Second
	// One strategy instance per consumer: it remembers what this member got
	// (keptrange.go). Range second, for members of older builds.
	s.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{newKeptRange(), sarama.NewBalanceStrategyRange()}
	return s
}

package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/logging"
)

// Kafka is how a process finds and waits for its broker.
type Kafka struct {
	// Brokers are bootstrap addresses; empty means the embedded broker (evsim only).
	Brokers []string
	// WaitAttempts is how many readiness probes before giving up; 0 = forever. Default 30.
	WaitAttempts int
	// WaitInterval is the pause between probes. Default 2 s.
	WaitInterval time.Duration
	// Security is TLS and SASL towards Kafka (--kafka-tls*, --kafka-sasl-*).
	Security KafkaSecurity
	// TopicPrefix goes before every topic name on the broker, so that
	// several networks share one Kafka apart (--topic-prefix). Default "".
	TopicPrefix string

	brokersFlag string
}

// Log is the logging setup of a process.
type Log struct {
	Level  string // default info
	Format string // text (default) or json
}

// AddKafkaFlags registers --brokers, --kafka-wait-attempts, --kafka-wait-seconds,
// --topic-prefix and the security flags.
func AddKafkaFlags(fs *FlagSet, k *Kafka, brokersDefault string) {
	fs.String(&k.brokersFlag, "brokers", "KAFKA_BOOTSTRAP", brokersDefault, "Kafka bootstrap servers, comma-separated")
	fs.Int(&k.WaitAttempts, "kafka-wait-attempts", "KAFKA_WAIT_MAX_ATTEMPTS", 30, "readiness probes before giving up; 0 = forever")
	fs.Seconds(&k.WaitInterval, "kafka-wait-seconds", "KAFKA_WAIT_SECONDS", 2*time.Second, "seconds between readiness probes")
	fs.String(&k.TopicPrefix, "topic-prefix", "", "", "put before every Kafka topic name (and consumer group), e.g. lab-a. so that networks share one Kafka apart")
	addKafkaSecurityFlags(fs, &k.Security)
}

// AddLogFlags registers --log-level and --log-format.
func AddLogFlags(fs *FlagSet, l *Log) {
	fs.String(&l.Level, "log-level", "", "info", "trace, debug, info, warn, error")
	fs.String(&l.Format, "log-format", "", "text", "text (house format) or json")
}

// Finish splits the brokers list after parsing, then validates.
func (k *Kafka) Finish() error {
	k.Brokers = SplitList(k.brokersFlag)
	if err := k.Security.finish(); err != nil {
		return err
	}
	return k.Validate()
}

// Validate checks the Kafka settings.
func (k *Kafka) Validate() error {
	for _, b := range k.Brokers {
		if err := ValidateHostPort(b); err != nil {
			return Usagef("brokers", "%q: %v", b, err)
		}
	}
	if k.WaitAttempts < 0 {
		return Usagef("kafka-wait-attempts", "%d is negative (0 means wait forever)", k.WaitAttempts)
	}
	if k.WaitInterval <= 0 {
		return Usagef("kafka-wait-seconds", "must be more than 0")
	}
	if err := bridge.ValidateTopicPrefix(k.TopicPrefix); err != nil {
		return Usagef("topic-prefix", "%v", err)
	}
	return nil
}

// Validate checks the log settings.
func (l *Log) Validate() error {
	if _, err := logging.ParseLevel(l.Level); err != nil {
		return Usagef("log-level", "%v", err)
	}
	if l.Format != logging.FormatText && l.Format != logging.FormatJSON {
		return Usagef("log-format", "%q is not text or json", l.Format)
	}
	return nil
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ValidateHostPort checks that s is HOST:PORT with a port number in range.
func ValidateHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("want HOST:PORT")
	}
	var p int
	if _, err := fmt.Sscan(port, &p); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

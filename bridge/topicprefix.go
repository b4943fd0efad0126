package bridge

import (
	"fmt"
	"strings"
)

// The topic prefix (Config.TopicPrefix) is the one place where the topics
// that roles name (TopicDriverRequests, ...) become the topics on the
// broker: several networks share one Kafka without reading each other's
// records. Roles, the sealer and Deliveries only ever see the names without
// the prefix; the bridge adds it towards Kafka (produce, consume, create,
// commit, consumer group ids) and nowhere else.

// kafkaTopic is the topic on the broker for the topic a role names.
func (c *Config) kafkaTopic(topic string) string { return c.TopicPrefix + topic }

// roleTopic is the topic a role names for a topic on the broker.
func (c *Config) roleTopic(kafkaTopic string) string {
	return strings.TrimPrefix(kafkaTopic, c.TopicPrefix)
}

// kafkaTopics is kafkaTopic of each.
func (c *Config) kafkaTopics(topics []string) []string {
	out := make([]string, len(topics))
	for i, t := range topics {
		out[i] = c.kafkaTopic(t)
	}
	return out
}

// maxTopicPrefix leaves room for our longest topic name within Kafka's 249.
const maxTopicPrefix = 200

// ValidateTopicPrefix says what is wrong with a topic prefix: Kafka allows ASCII letters, digits, '.', '_' and '-'.
func ValidateTopicPrefix(p string) error {
	if len(p) > maxTopicPrefix {
		return fmt.Errorf("topic prefix %q is longer than %d characters", p, maxTopicPrefix)
	}
	if i := strings.IndexFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}); i >= 0 {
		return fmt.Errorf("topic prefix %q has %q; Kafka topic names allow letters, digits, '.', '_' and '-'", p, p[i])
	}
	return nil
}

package bridge

import (
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
)

// Two bridges with different topic prefixes on one broker: each subscriber
// gets only the records of its own prefix, under the topic name the roles
// use, and the records sit on the broker under the prefixed names.
func TestTopicPrefixSeparatesBridgesOnOneBroker(t *testing.T) {
	addr := startEmbedded(t, EmbeddedOptions{}).Addr()
	bridges := map[string]*testBridge{}
	for _, prefix := range []string{"net-a.", "net-b."} {
		cfg := testConfig(addr)
		cfg.TopicPrefix = prefix
		bridges[prefix] = startBridge(t, cfg)
		bridges[prefix].awaitState(t, StateReady, 30*time.Second)
	}
	// The same group name on both sides: the prefix keeps the Kafka groups apart too.
	colA, _ := bridges["net-a."].subscribe(t, TopicDriverRequests, "central", "", true)
	colB, _ := bridges["net-b."].subscribe(t, TopicDriverRequests, "central", "", true)
	bridges["net-a."].publish(TopicDriverRequests, "anna", &messages.ChargeRequest{DriverId: "anna", CpId: "CP-001"})
	bridges["net-b."].publish(TopicDriverRequests, "bert", &messages.ChargeRequest{DriverId: "bert", CpId: "CP-001"})

	keys := func(col *collector) string {
		var out []string
		for _, d := range col.deliveries() {
			if d.Topic != TopicDriverRequests {
				t.Errorf("a delivery names topic %q, want %q (the name without the prefix)", d.Topic, TopicDriverRequests)
			}
			out = append(out, d.Key)
		}
		return strings.Join(out, ",")
	}
	eventually(t, 30*time.Second, "each side gets its own request", func() bool {
		return keys(colA) != "" && keys(colB) != ""
	})
	for _, prefix := range []string{"net-a.", "net-b."} {
		eventually(t, 10*time.Second, "one record on "+prefix+TopicDriverRequests, func() bool {
			return recordsIn(t, addr, prefix+TopicDriverRequests, 3) == 1
		})
	}
	if a, b := keys(colA), keys(colB); a != "anna" || b != "bert" {
		t.Errorf("net-a. got %q, net-b. got %q; want anna and bert only", a, b)
	}
}

func TestTopicPrefixMustBeAKafkaName(t *testing.T) {
	for prefix, ok := range map[string]bool{
		"": true, "lab-a.": true, "Lab_2-": true,
		"a/b": false, "a b": false, "é.": false, strings.Repeat("x", maxTopicPrefix+1): false,
	} {
		if err := ValidateTopicPrefix(prefix); (err == nil) != ok {
			t.Errorf("ValidateTopicPrefix(%q) = %v, want ok=%v", prefix, err, ok)
		}
	}
	cfg := testConfig("127.0.0.1:1")
	cfg.TopicPrefix = "a/b"
	if _, err := Start(newSystem(t), cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "topic prefix") {
		t.Errorf("Start with a bad prefix: %v, want an error naming the topic prefix", err)
	}
}

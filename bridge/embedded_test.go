package bridge

import (
	"net"
	"testing"
	"time"

	"github.com/evcharging/evsim/messages"
)

// Topics get a retention, so the embedded broker's memory stays bounded in a
// long run: old records go once a partition is over its retention.bytes.
func TestEmbeddedBrokerAppliesTheTopicsRetention(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{RetentionCheck: 50 * time.Millisecond})
	topic := uniqueName(t, "telemetry")
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{topic}
	cfg.Partitions = 1
	cfg.RetentionBytes = 4096
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 10*time.Second)
	for i := range 500 {
		tb.publish(topic, "CP-001", &messages.Telemetry{CpId: "CP-001", SessionId: "a-session-id-long-enough-to-matter", Seq: uint64(i)})
	}
	eventually(t, 10*time.Second, "500 records written", func() bool { return tb.run.KafkaRecordsOut.Load() == 500 })
	eventually(t, 10*time.Second, "old records dropped by retention", func() bool {
		p := e.Cluster().PartitionInfo(topic, 0)
		return p != nil && p.LogStartOffset > 0 && p.NumBytes <= 2*4096
	})
}

func TestEmbeddedBrokerOnPortZeroSaysWhereItListens(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{Addr: "127.0.0.1:0"})
	if e.Addr() == "127.0.0.1:0" || e.Addr() == "" {
		t.Fatalf("Addr() = %q, want the real port", e.Addr())
	}
	if err := probe(&Config{Brokers: []string{e.Addr()}, ProbeTimeout: time.Second}, true); err != nil {
		t.Fatalf("the broker does not answer at %s: %v", e.Addr(), err)
	}
}

func TestEmbeddedBrokerRefusesABusyAddress(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{Addr: "127.0.0.1:0"})
	if _, err := StartEmbedded(EmbeddedOptions{Addr: e.Addr()}); err == nil {
		t.Fatal("a second broker started on a busy address")
	}
}

// --advertise: the broker listens on one address and names another in its
// metadata (a container's service name, say); clients follow the metadata.
func TestEmbeddedBrokerAdvertisesWhatItIsTold(t *testing.T) {
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	e := startEmbedded(t, EmbeddedOptions{Addr: addr, Advertise: "localhost:" + port})
	if e.Addr() != "localhost:"+port {
		t.Fatalf("Addr() = %q", e.Addr())
	}
	cfg := testConfig(addr) // bootstrap by IP; metadata says localhost
	topic := uniqueName(t, "cmd")
	cfg.Topics = []string{topic}
	tb := startBridge(t, cfg)
	col, _ := tb.subscribe(t, topic, "g", "", true)
	tb.awaitState(t, StateReady, 10*time.Second)
	tb.publish(topic, "CP-001", &messages.Command{CpId: "CP-001"})
	eventually(t, 20*time.Second, "a round trip through the advertised address", func() bool { return col.count.Load() == 1 })
	if _, err := StartEmbedded(EmbeddedOptions{Addr: "127.0.0.1:0", Advertise: "localhost:0"}); err == nil {
		t.Error("advertising port 0 was accepted")
	}
}

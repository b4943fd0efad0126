package bridge

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/IBM/sarama"

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

// Retention frees the broker's memory, not only its index: a partition keeps
// its retention.bytes plus one segment, however much went through it.
func TestEmbeddedBrokerMemoryStaysBounded(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{RetentionCheck: 50 * time.Millisecond, SegmentBytes: 64 << 10})
	topic := uniqueName(t, "telemetry")
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{topic}
	cfg.Partitions = 1
	cfg.RetentionBytes = 256 << 10
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 10*time.Second)
	before := liveHeap()
	const records, size = 30_000, 1000 // about 30 MB through a partition that keeps 256 KiB
	noise := make([]byte, size*3/4)
	for i := range records {
		_, _ = rand.Read(noise) // records that hardly compress
		tb.publish(topic, "CP-001", &messages.Telemetry{CpId: "CP-001", SessionId: base64.StdEncoding.EncodeToString(noise), Seq: uint64(i)})
	}
	eventually(t, time.Minute, "every record written", func() bool { return tb.run.KafkaRecordsOut.Load() == records })
	var grew int64
	eventually(t, 20*time.Second, "the broker's memory back within 4 MiB", func() bool {
		grew = liveHeap() - before
		return grew < 4<<20
	})
	t.Logf("live heap grew %d KiB for %d KiB written", grew>>10, records*size>>10)
}

func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
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

// The registry topic is a changelog: compacted, so its latest record per
// charge point stays for a Central that starts later.
func TestTheRegistryTopicIsCreatedCompacted(t *testing.T) {
	e := startEmbedded(t, EmbeddedOptions{})
	cfg := testConfig(e.Addr())
	cfg.Topics = []string{TopicRegistry}
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 10*time.Second)
	sc := sarama.NewConfig()
	sc.Version = sarama.V2_8_0_0
	admin, err := sarama.NewClusterAdmin([]string{e.Addr()}, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: TopicRegistry})
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name == "cleanup.policy" {
			if en.Value != "compact" {
				t.Fatalf("cleanup.policy = %q; want compact", en.Value)
			}
			return
		}
	}
	t.Fatalf("no cleanup.policy among %d topic configs", len(entries))
}

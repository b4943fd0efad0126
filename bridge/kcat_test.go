package bridge

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/testutil"
	"github.com/evcharging/evsim/messages"
)

// (f) A Kafka client not written in Go (kcat, librdkafka) lists and consumes
// our topics on the embedded broker.
func TestKcatListsAndConsumesOurTopicsOnTheEmbeddedBroker(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" || os.Getenv("EVSIM_INTEGRATION") == "1" {
			t.Fatal("kcat is not installed (scripts/setup.sh installs it)")
		}
		t.Skip("kcat is not installed")
	}
	e := startEmbedded(t, EmbeddedOptions{})
	cfg := testConfig(e.Addr())
	cfg.Partitions = 1
	cfg.Topics = nil // the real topics of the network
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 10*time.Second)
	want := &messages.Ticket{TicketId: "t-1", DriverId: "alice", CpId: "CP-001", Kwh: 4.2, Eur: 1.26}
	tb.publish(TopicTickets, "alice", want)

	out, err := testutil.Command(t, kcat, "-b", e.Addr(), "-L").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	for _, topic := range Topics {
		if !bytes.Contains(out, []byte(`topic "`+topic+`" with 1 partitions`)) {
			t.Errorf("kcat does not list %s:\n%s", topic, out)
		}
	}

	var raw []byte
	eventually(t, 20*time.Second, "kcat reads the ticket", func() bool {
		cmd := testutil.Command(t, kcat, "-b", e.Addr(), "-C", "-t", TopicTickets, "-o", "beginning", "-c", "1", "-e", "-q", "-D", "", "-f", "%k|%s")
		raw, err = cmd.Output()
		return err == nil && len(raw) > 0
	})
	key, value, ok := bytes.Cut(raw, []byte("|"))
	if !ok || string(key) != "alice" {
		t.Fatalf("kcat printed %q, want key alice", raw)
	}
	got, env, err := Decode(value)
	if err != nil {
		t.Fatalf("the bytes kcat read do not decode: %v", err)
	}
	if !proto.Equal(got, want) || env.Producer != "evsim" {
		t.Fatalf("kcat read %v from %q, want %v", got, env.Producer, want)
	}
}

package bridge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

// A record sealed under a key this process never held, for a charge point it
// has no key of (an earlier life with another database, another network on
// the same topics, as on a shared real Kafka), is skipped without a WARN and
// not reported; the same unknown key id for a charge point whose keys it
// holds is a refusal: one WARN and a report to the watcher.
func TestRecordsOfChargePointsNeverKeyedHereAreSkippedQuietly(t *testing.T) {
	ring := seal.NewKeyring()
	ring.Install(newKey(t, "CP-001"))
	e, tb, got, refused := sealedSessionEnds(t, ring)

	// Another network's sealer, with keys of its own for both charge points.
	other := seal.NewKeyring()
	other.Install(newKey(t, "CP-900"))
	other.Install(newKey(t, "CP-001"))
	theirs := newSealer(other, SealedTopics)
	produceRaw(t, e.Addr(), TopicSessionEnd, "CP-900", sealedRecord(t, theirs, TopicSessionEnd, "CP-900",
		&messages.SupplyEnded{SessionId: "x1", CpId: "CP-900", Kwh: 3}))
	produceRaw(t, e.Addr(), TopicSessionEnd, "CP-001", sealedRecord(t, theirs, TopicSessionEnd, "CP-001",
		&messages.SupplyEnded{SessionId: "x2", CpId: "CP-001", Kwh: 999}))
	ours := &messages.SupplyEnded{SessionId: "s1", CpId: "CP-001", Kwh: 1}
	tb.publish(TopicSessionEnd, "CP-001", ours)

	select {
	case m := <-got:
		if !proto.Equal(m, ours) {
			t.Fatalf("delivered %v, want only our own record", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("our own record never came")
	}
	select {
	case r := <-refused:
		if r.Key != "CP-001" || !errors.Is(r.Err, seal.ErrUnknownKey) {
			t.Fatalf("refusal: %+v, want CP-001's unknown key", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the record under an unknown key for CP-001 was not reported")
	}
	select {
	case r := <-refused:
		t.Fatalf("a second refusal: %+v (CP-900's record is not ours to judge)", r)
	case <-time.After(300 * time.Millisecond):
	}
	log := tb.log.String()
	if n := strings.Count(log, "| WARN |"); n != 1 || !strings.Contains(log, "Refused a record for CP-001") {
		t.Fatalf("%d WARN lines, want exactly the one for CP-001:\n%s", n, log)
	}
}

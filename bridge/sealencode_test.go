package bridge

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

// The bridge's encoder (a seal.Sealer kept across records) writes, for
// every message type of a charge point, exactly the bytes proto.Marshal of the sealed
// Envelope writes, in one allocation of the exact size, and they open.
func TestSealedEncodingIsTheEnvelopeInOneAllocation(t *testing.T) {
	ring := seal.NewKeyring()
	ring.Install(newKey(t, "CP-001"))
	ring.Install(newKey(t, "CP-009"))
	s := newSealer(ring, SealedTopics)
	var ss seal.Sealer
	at := time.Date(2026, 11, 28, 11, 0, 0, 123456789, time.UTC)
	for _, msg := range sampleMessages() {
		typ, err := TypeOf(msg)
		if err != nil {
			t.Fatal(err)
		}
		cp, ok := cpIDOf(msg)
		if !ok || cp == "" {
			continue // travels on no sealed topic: a sealed one names its charge point
		}
		for _, producer := range []string{"", "evsim"} {
			r := &outRecord{topic: TopicStatus, key: cp, typ: typ, msg: msg}
			b, err := s.encodeWith(&ss, r, at, producer)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != cap(b) {
				t.Errorf("%T: %d bytes in a buffer of %d", msg, len(b), cap(b))
			}
			env := new(messages.Envelope)
			if err := proto.Unmarshal(b, env); err != nil {
				t.Fatal(err)
			}
			want, _ := (proto.MarshalOptions{Deterministic: true}).Marshal(env)
			if string(want) != string(b) {
				t.Fatalf("%T: sealed envelope differs from proto.Marshal of its Envelope\n got %x\nwant %x", msg, b, want)
			}
			if env.GetProducer() != producer || !env.GetProducedAt().AsTime().Equal(at) || env.GetType() != typ {
				t.Fatalf("%T: envelope %v", msg, env)
			}
			got, err := s.decode(TopicStatus, cp, b)
			if err != nil || !proto.Equal(got, msg) {
				t.Fatalf("%T: round trip: %v, %v", msg, got, err)
			}
		}
	}
	end := &outRecord{topic: TopicSessionEnd, key: "CP-001", typ: messages.MessageType_MESSAGE_TYPE_SUPPLY_ENDED,
		msg: &messages.SupplyEnded{SessionId: "CP-001-s1", DriverId: "alice", CpId: "CP-001", Kwh: 4.2}}
	if n := testing.AllocsPerRun(200, func() {
		if _, err := s.encodeWith(&ss, end, at, "evsim"); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Fatalf("sealing a supply end allocates %.1f times, want once (its bytes)", n)
	}
}

package bridge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

func newKey(t testing.TB, cp string) *seal.Key {
	t.Helper()
	k, err := seal.NewKey(cp)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sealedRecord(t testing.TB, s *sealer, topic, key string, msg proto.Message) []byte {
	t.Helper()
	typ, err := TypeOf(msg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.encode(&outRecord{topic: topic, key: key, typ: typ, msg: msg}, time.Now(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealedRecordsOpenOnlyWhereTheyWereSealed(t *testing.T) {
	ring := seal.NewKeyring()
	k1, k2 := newKey(t, "CP-001"), newKey(t, "CP-002")
	ring.Install(k1)
	ring.Install(k2)
	s := newSealer(ring, SealedTopics)
	end := &messages.SupplyEnded{SessionId: "s1", DriverId: "alice", CpId: "CP-001", Kwh: 4.2}
	rec := sealedRecord(t, s, TopicSessionEnd, "CP-001", end)
	if strings.Contains(string(rec), "alice") {
		t.Fatal("the sealed record shows the driver id in clear")
	}
	got, err := s.decode(TopicSessionEnd, "CP-001", rec)
	if err != nil || !proto.Equal(got, end) {
		t.Fatalf("round trip: %v, %v", got, err)
	}
	// The bytes are what proto.Marshal of the Envelope writes.
	env := new(messages.Envelope)
	if err := proto.Unmarshal(rec, env); err != nil || env.GetKeyId() != k1.ID || env.GetCpId() != "CP-001" || len(env.GetPayload()) != 0 {
		t.Fatalf("envelope: %v %v", env, err)
	}
	if again, _ := (proto.MarshalOptions{Deterministic: true}).Marshal(env); string(again) != string(rec) {
		t.Fatal("the sealed envelope differs from proto.Marshal of its Envelope")
	}

	refusedWith := func(name string, want error, topic, key string, value []byte) {
		t.Helper()
		_, err := s.decode(topic, key, value)
		ref, ok := isRefusal(err)
		if !ok || !errors.Is(err, want) {
			t.Errorf("%s: got %v, want a refusal with %v", name, err, want)
			return
		}
		if ref.CPID != key {
			t.Errorf("%s: refusal names %q, want %q", name, ref.CPID, key)
		}
	}
	tampered := append([]byte(nil), rec...)
	tampered[len(tampered)-3] ^= 1
	refusedWith("tampered", seal.ErrOpen, TopicSessionEnd, "CP-001", tampered)
	refusedWith("moved to another topic", seal.ErrOpen, TopicTelemetry, "CP-001", rec)
	refusedWith("replayed to another charge point", seal.ErrWrongChargePoint, TopicSessionEnd, "CP-002", rec)

	// The envelope rewritten to name CP-002 and its key: the AAD differs.
	moved := proto.Clone(env).(*messages.Envelope)
	moved.CpId, moved.KeyId = "CP-002", k2.ID
	b, _ := proto.Marshal(moved)
	refusedWith("rewritten for another key", seal.ErrOpen, TopicSessionEnd, "CP-002", b)
	// CP-001's key names CP-002 inside the payload.
	lie := sealedRecord(t, s, TopicSessionEnd, "CP-001", &messages.SupplyEnded{SessionId: "s1", CpId: "CP-002"})
	refusedWith("payload of another charge point", seal.ErrWrongChargePoint, TopicSessionEnd, "CP-001", lie)
	// A key this process never held.
	other := newSealer(seal.NewKeyring(), SealedTopics)
	other.keys.Install(newKey(t, "CP-001"))
	refusedWith("wrong key", seal.ErrUnknownKey, TopicSessionEnd, "CP-001", sealedRecord(t, other, TopicSessionEnd, "CP-001", end))
	plain, _ := Encode(end, "mallory")
	refusedWith("clear", seal.ErrNotSealed, TopicSessionEnd, "CP-001", plain)

	// Rotation: the old key still opens; revocation: nothing does.
	ring.Install(newKey(t, "CP-001"))
	if _, err := s.decode(TopicSessionEnd, "CP-001", rec); err != nil {
		t.Fatalf("a record sealed before a rotation: %v", err)
	}
	ring.Revoke("CP-001")
	refusedWith("revoked", seal.ErrRevokedKey, TopicSessionEnd, "CP-001", rec)
	if _, err := s.encode(&outRecord{topic: TopicSessionEnd, key: "CP-001", typ: messages.MessageType_MESSAGE_TYPE_SUPPLY_ENDED, msg: end}, time.Now(), ""); !errors.Is(err, seal.ErrNoKey) {
		t.Fatalf("sealing for a revoked charge point: %v", err)
	}
	// Driver topics stay clear; without keys a sealed record is a bad one.
	if _, err := s.decode(TopicTickets, "alice", plain); err != nil {
		t.Fatalf("a clear record on a driver topic: %v", err)
	}
	if _, err := (*sealer)(nil).decode(TopicStatus, "CP-002", sealedRecord(t, s, TopicStatus, "CP-002", &messages.StatusChange{CpId: "CP-002"})); err == nil {
		t.Fatal("a process without keys accepted a sealed record")
	}
}

// FuzzOpenSealedEnvelope: the decoder of sealed envelopes never panics and
// never accepts bytes that were not sealed with a key it holds.
func FuzzOpenSealedEnvelope(f *testing.F) {
	ring := seal.NewKeyring()
	k := newKey(f, "CP-001")
	ring.Install(k)
	s := newSealer(ring, SealedTopics)
	valid := map[string]bool{}
	for _, msg := range []proto.Message{
		&messages.SupplyEnded{SessionId: "s1", DriverId: "alice", CpId: "CP-001", Kwh: 4.2},
		&messages.Telemetry{SessionId: "s1", CpId: "CP-001", Kwh: 0.1},
		&messages.Command{CpId: "CP-001", Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{SessionId: "s1", DriverId: "alice"}}},
	} {
		b := sealedRecord(f, s, TopicSessionEnd, "CP-001", msg)
		valid[string(b)] = true
		f.Add(b)
	}
	plain, _ := Encode(&messages.SupplyEnded{CpId: "CP-001", Kwh: 999}, "")
	f.Add(plain)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := s.decode(TopicSessionEnd, "CP-001", b)
		if err == nil && !valid[string(b)] {
			// Only a re-encoding of a valid record (same key, nonce and
			// ciphertext) may open: its sealed bytes are one of ours.
			env := new(messages.Envelope)
			if proto.Unmarshal(b, env) != nil || env.GetKeyId() != k.ID {
				t.Fatalf("opened bytes that were not sealed here: %x -> %v", b, msg)
			}
		}
	})
}

// TestBridgeSealsWaitsForTheKeyAndRefusesForgeries runs the sealing bridge
// on the embedded broker: a record published before its charge point has
// a key waits for it; a forged record in clear from a plain producer is
// refused with one WARN and reported to the refusal watcher, and the
// records after it are delivered.
func TestBridgeSealsWaitsForTheKeyAndRefusesForgeries(t *testing.T) {
	ring := seal.NewKeyring()
	e, tb, got, refused := sealedSessionEnds(t, ring)

	first := &messages.SupplyEnded{SessionId: "s1", CpId: "CP-001", Kwh: 1}
	tb.publish(TopicSessionEnd, "CP-001", first)
	select {
	case m := <-got:
		t.Fatalf("delivered before CP-001 had a key: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
	ring.Install(newKey(t, "CP-001"))
	select {
	case m := <-got:
		if !proto.Equal(m, first) {
			t.Fatalf("got %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the record that waited for its key never came")
	}

	// Another network's charge point on a shared Kafka: skipped quietly.
	other, _ := Encode(&messages.SupplyEnded{SessionId: "s9", CpId: "CP-999", Kwh: 1}, "another-evsim")
	produceRaw(t, e.Addr(), TopicSessionEnd, "CP-999", other)
	eventually(t, 10*time.Second, "the other network's record skipped", func() bool { return tb.stats(t).NotOursRecords > 0 })
	// A forgery in clear, from any Kafka client.
	forged, _ := Encode(&messages.SupplyEnded{SessionId: "s1", CpId: "CP-001", Kwh: 999}, "mallory")
	produceRaw(t, e.Addr(), TopicSessionEnd, "CP-001", forged)
	tb.publish(TopicSessionEnd, "CP-001", &messages.SupplyEnded{SessionId: "s2", CpId: "CP-001", Kwh: 2})
	select {
	case r := <-refused:
		if r.Key != "CP-001" || !errors.Is(r.Err, seal.ErrNotSealed) || r.Topic != TopicSessionEnd {
			t.Fatalf("refusal: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no refusal reported")
	}
	select {
	case m := <-got:
		if m.(*messages.SupplyEnded).GetSessionId() != "s2" {
			t.Fatalf("after the forgery got %v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the record after the forgery never came")
	}
	if n := strings.Count(tb.log.String(), "Refused a record for CP-001"); n != 1 || strings.Contains(tb.log.String(), "CP-999") {
		t.Fatalf("%d refusal lines for CP-001, want 1, and none for CP-999:\n%s", n, tb.log)
	}
	if line := tb.log.String(); !strings.Contains(line, "partition=") || !strings.Contains(line, "offset=") || !strings.Contains(line, "topic=cp.session_end") {
		t.Fatalf("the refusal line lacks topic, partition or offset:\n%s", line)
	}
}

// sealedSessionEnds starts a broker and a bridge sealing with ring, and a
// subscriber of cp.session_end that also watches the bridge's refusals: what
// it is delivered comes on got, what is refused on refused.
func sealedSessionEnds(t *testing.T, ring *seal.Keyring) (*Embedded, *testBridge, chan proto.Message, chan *Refused) {
	t.Helper()
	e := startEmbedded(t, EmbeddedOptions{})
	cfg := testConfig(e.Addr())
	cfg.Keys = ring
	tb := startBridge(t, cfg)
	tb.awaitState(t, StateReady, 10*time.Second)

	got := make(chan proto.Message, 16)
	refused := make(chan *Refused, 16)
	sub := tb.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *Delivery:
			got <- m.Msg
			m.Done()
		case *Refused:
			refused <- m
		}
	}))
	tb.system.Root.Send(tb.pid, &WatchRefusals{Watcher: sub})
	tb.system.Root.Send(tb.pid, &Subscribe{Topic: TopicSessionEnd, Group: "central", Subscriber: sub})
	return e, tb, got, refused
}

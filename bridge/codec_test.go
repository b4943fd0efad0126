package bridge

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

// sampleMessages holds one filled-in value of every type that travels in an envelope.
func sampleMessages() []proto.Message {
	now := timestamppb.Now()
	return []proto.Message{
		&messages.ChargeRequest{RequestId: "r1", DriverId: "alice", CpId: "CP-001", RequestedAt: now},
		&messages.ChargeAccepted{RequestId: "r1", DriverId: "alice", CpId: "CP-001", SessionId: "s1"},
		&messages.ChargeDenied{RequestId: "r1", DriverId: "alice", CpId: "CP-009", Reason: messages.DenyReason_DENY_REASON_UNKNOWN_CHARGE_POINT, Detail: "CP-009 is not registered"},
		&messages.DriverNotice{DriverId: "alice", Text: "cannot reach Central", At: now},
		&messages.Ticket{TicketId: "t1", SessionId: "s1", DriverId: "alice", CpId: "CP-001", Kwh: 4.12, Eur: 1.24, PriceEurPerKwh: 0.3, StartedAt: now, EndedAt: now, Reason: messages.EndReason_END_REASON_COMPLETED},
		&messages.Command{CommandId: "c1", CpId: "CP-001", Kind: &messages.Command_StartSupply{StartSupply: &messages.StartSupply{SessionId: "s1", DriverId: "alice", MaxSeconds: 10}}},
		&messages.SupplyStarted{SessionId: "s1", DriverId: "alice", CpId: "CP-001", Kw: 22, PriceEurPerKwh: 0.3, StartedAt: now},
		&messages.Telemetry{SessionId: "s1", DriverId: "alice", CpId: "CP-001", Kw: 22, Kwh: 0.1, Eur: 0.03, At: now, Seq: 7},
		&messages.SupplyEnded{SessionId: "s1", DriverId: "alice", CpId: "CP-001", Kwh: 4.12, Eur: 1.24, Reason: messages.EndReason_END_REASON_FAULT, EndedAt: now},
		&messages.StatusChange{CpId: "CP-001", State: messages.ChargePointState_CHARGE_POINT_STATE_FAULT, Reason: "engine not answering health checks", At: now},
		&messages.CommandRejected{CommandId: "c1", CpId: "CP-001", Reason: "engine is KO"},
		&messages.RegisterChargePoint{CpId: "CP-001", Location: "Alicante", PriceEurPerKwh: 0.3, Kw: 22, Secret: "s3cret"},
		&messages.RegistrationResult{CpId: "CP-001", Accepted: true, CentralInstance: "i1"},
		&messages.HealthCheck{CpId: "CP-001", Seq: 3},
		&messages.HealthAnswer{CpId: "CP-001", Seq: 3, Ok: true, EngineState: messages.ChargePointState_CHARGE_POINT_STATE_ACTIVATED},
		&messages.FaultReport{CpId: "CP-001", Faulty: true, Detail: "KO", At: now},
		&messages.Liveness{CpId: "CP-001", Seq: 9, EngineOk: true},
		&messages.LivenessAck{CpId: "CP-001", Seq: 9, Known: true},
		&messages.ChargePointIdentity{CpId: "CP-001", State: messages.IdentityState_IDENTITY_STATE_REVOKED, TokenVersion: 3, Location: "Alicante", PriceEurPerKwh: 0.3, ChangedAt: now},
		&messages.RegistryKey{KeyId: "k1", PublicKey: []byte{1, 2, 3}, PublishedAt: now},
		&messages.WeatherReading{City: "Alicante", Celsius: -2, At: now, Provider: "file"},
		&messages.WeatherAlert{City: "Alicante", Active: true, Celsius: -2, At: now},
		&messages.CentralMember{Group: "central", Address: "127.0.0.1:8090", Instance: "ab12cd34", Generation: 3, Partitions: []int32{0, 2, 4}, At: now},
		&messages.CentralKeys{CpId: "CP-001", Current: &messages.WrappedKey{KeyId: "k2", Wrapped: []byte{4, 5}}, MasterId: "m1", At: now, Issuer: "127.0.0.1:8090"},
		&messages.CentralChargePoint{CpId: "CP-001", Location: "Alicante", PriceEurPerKwh: 0.3, Kw: 22, SecretHash: "h", Stopped: true, RegisteredAt: now, At: now, Issuer: "127.0.0.1:8090", Group: "central"},
		&messages.CentralDriver{DriverId: "alice", SessionId: "s1", CpId: "CP-001", At: now, Issuer: "127.0.0.1:8090", Group: "central"},
	}
}

func TestEveryMessageTypeRoundTripsThroughTheEnvelope(t *testing.T) {
	samples := sampleMessages()
	seen := map[messages.MessageType]bool{}
	for _, msg := range samples {
		b, err := Encode(msg, "test")
		if err != nil {
			t.Fatalf("encode %T: %v", msg, err)
		}
		got, env, err := Decode(b)
		if err != nil {
			t.Fatalf("decode %T: %v", msg, err)
		}
		if !proto.Equal(got, msg) {
			t.Errorf("%T changed in the round trip:\n got %v\nwant %v", msg, got, msg)
		}
		if env.SchemaVersion != SchemaVersion || env.Producer != "test" || env.ProducedAt == nil {
			t.Errorf("%T: envelope header not filled: %v", msg, env)
		}
		seen[env.Type] = true
	}
	// Every value of the MessageType enum but UNSPECIFIED must be covered above.
	values := messages.MessageType(0).Descriptor().Values()
	for i := 0; i < values.Len(); i++ {
		mt := messages.MessageType(values.Get(i).Number())
		if mt != messages.MessageType_MESSAGE_TYPE_UNSPECIFIED && !seen[mt] {
			t.Errorf("message type %v has no round-trip sample", mt)
		}
	}
}

func TestDecodeRejectsBadInputWithAnError(t *testing.T) {
	good, err := Encode(&messages.HealthCheck{CpId: "CP-001"}, "")
	if err != nil {
		t.Fatal(err)
	}
	newer := &messages.Envelope{Type: messages.MessageType_MESSAGE_TYPE_HEALTH_CHECK, SchemaVersion: SchemaVersion + 1}
	newerBytes, _ := proto.Marshal(newer)
	unknown := &messages.Envelope{Type: 999, SchemaVersion: SchemaVersion}
	unknownBytes, _ := proto.Marshal(unknown)
	badPayload := &messages.Envelope{Type: messages.MessageType_MESSAGE_TYPE_TICKET, SchemaVersion: SchemaVersion, Payload: []byte{0xff, 0xff}}
	badPayloadBytes, _ := proto.Marshal(badPayload)

	cases := map[string]struct {
		in   []byte
		want error
	}{
		"garbage":         {[]byte("not a protobuf \xff\xff\xff"), nil},
		"truncated":       {good[:len(good)-3], nil},
		"newer version":   {newerBytes, ErrUnknownVersion},
		"unknown type":    {unknownBytes, ErrUnknownType},
		"corrupt payload": {badPayloadBytes, nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			msg, _, err := Decode(tc.in)
			if err == nil {
				t.Fatalf("decoded %v from bad input", msg)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, msg := range sampleMessages() {
		b, err := Encode(msg, "fuzz")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x99, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, _, err := Decode(b)
		if err == nil && msg == nil {
			t.Fatal("no error and no message")
		}
		if err != nil {
			return
		}
		// Whatever decodes must encode again.
		if _, err := Encode(msg, "fuzz"); err != nil {
			t.Fatalf("decoded %T does not encode: %v", msg, err)
		}
	})
}

package bridge

import (
	"bytes"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/evcharging/evsim/messages"
)

func BenchmarkEncodeTicket(b *testing.B) {
	now := timestamppb.Now()
	sample := &messages.Ticket{
		TicketId: "0b7e4c2a-5f7d-4f53-9a51-3c1e2f0d9b61", SessionId: "6f1d2a3b-8c4e-4a7f-b0d2-9e8f7a6b5c4d",
		DriverId: "driver-042", CpId: "CP-017", Kwh: 12.345, Eur: 3.70, PriceEurPerKwh: 0.30,
		StartedAt: now, EndedAt: now, Reason: messages.EndReason_END_REASON_COMPLETED,
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(sample, "evsim"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEncodeWritesWhatProtoMarshalWrites(t *testing.T) {
	at := time.Date(2026, 11, 26, 21, 0, 0, 123456789, time.UTC)
	for _, msg := range append(sampleMessages(), &messages.HealthCheck{}) {
		typ, err := TypeOf(msg)
		if err != nil {
			t.Fatal(err)
		}
		for _, producer := range []string{"", "evsim"} {
			got, err := appendEnvelope(nil, typ, msg, at, producer)
			if err != nil {
				t.Fatal(err)
			}
			payload, _ := proto.Marshal(msg)
			want, _ := proto.Marshal(&messages.Envelope{Type: typ, SchemaVersion: SchemaVersion, Payload: payload, ProducedAt: timestamppb.New(at), Producer: producer})
			if !bytes.Equal(got, want) {
				t.Fatalf("%T: envelope bytes differ\n got %x\nwant %x", msg, got, want)
			}
		}
	}
}

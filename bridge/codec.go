package bridge

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/messages"
)

// SchemaVersion is the envelope schema version this build writes and reads.
const SchemaVersion uint32 = 1

// ErrUnknownType is returned for a message type this build cannot encode or decode.
var ErrUnknownType = errors.New("unknown message type")

// ErrUnknownVersion is returned for an envelope written by a newer schema.
var ErrUnknownVersion = errors.New("unknown schema version")

// typeOf maps each message that travels in an envelope to its type tag, and back.
var (
	typeOf    = map[string]messages.MessageType{}
	newByType = map[messages.MessageType]func() proto.Message{}
)

func register(t messages.MessageType, newMsg func() proto.Message) {
	typeOf[string(newMsg().ProtoReflect().Descriptor().FullName())] = t
	newByType[t] = newMsg
}

func init() {
	register(messages.MessageType_MESSAGE_TYPE_CHARGE_REQUEST, func() proto.Message { return new(messages.ChargeRequest) })
	register(messages.MessageType_MESSAGE_TYPE_CHARGE_ACCEPTED, func() proto.Message { return new(messages.ChargeAccepted) })
	register(messages.MessageType_MESSAGE_TYPE_CHARGE_DENIED, func() proto.Message { return new(messages.ChargeDenied) })
	register(messages.MessageType_MESSAGE_TYPE_DRIVER_NOTICE, func() proto.Message { return new(messages.DriverNotice) })
	register(messages.MessageType_MESSAGE_TYPE_TICKET, func() proto.Message { return new(messages.Ticket) })
	register(messages.MessageType_MESSAGE_TYPE_COMMAND, func() proto.Message { return new(messages.Command) })
	register(messages.MessageType_MESSAGE_TYPE_SUPPLY_STARTED, func() proto.Message { return new(messages.SupplyStarted) })
	register(messages.MessageType_MESSAGE_TYPE_TELEMETRY, func() proto.Message { return new(messages.Telemetry) })
	register(messages.MessageType_MESSAGE_TYPE_SUPPLY_ENDED, func() proto.Message { return new(messages.SupplyEnded) })
	register(messages.MessageType_MESSAGE_TYPE_STATUS_CHANGE, func() proto.Message { return new(messages.StatusChange) })
	register(messages.MessageType_MESSAGE_TYPE_COMMAND_REJECTED, func() proto.Message { return new(messages.CommandRejected) })
	register(messages.MessageType_MESSAGE_TYPE_REGISTER_CHARGE_POINT, func() proto.Message { return new(messages.RegisterChargePoint) })
	register(messages.MessageType_MESSAGE_TYPE_REGISTRATION_RESULT, func() proto.Message { return new(messages.RegistrationResult) })
	register(messages.MessageType_MESSAGE_TYPE_HEALTH_CHECK, func() proto.Message { return new(messages.HealthCheck) })
	register(messages.MessageType_MESSAGE_TYPE_HEALTH_ANSWER, func() proto.Message { return new(messages.HealthAnswer) })
	register(messages.MessageType_MESSAGE_TYPE_FAULT_REPORT, func() proto.Message { return new(messages.FaultReport) })
	register(messages.MessageType_MESSAGE_TYPE_LIVENESS, func() proto.Message { return new(messages.Liveness) })
	register(messages.MessageType_MESSAGE_TYPE_LIVENESS_ACK, func() proto.Message { return new(messages.LivenessAck) })
	register(messages.MessageType_MESSAGE_TYPE_CHARGE_POINT_IDENTITY, func() proto.Message { return new(messages.ChargePointIdentity) })
	register(messages.MessageType_MESSAGE_TYPE_REGISTRY_KEY, func() proto.Message { return new(messages.RegistryKey) })
	register(messages.MessageType_MESSAGE_TYPE_WEATHER_READING, func() proto.Message { return new(messages.WeatherReading) })
	register(messages.MessageType_MESSAGE_TYPE_WEATHER_ALERT, func() proto.Message { return new(messages.WeatherAlert) })
	register(messages.MessageType_MESSAGE_TYPE_CENTRAL_MEMBER, func() proto.Message { return new(messages.CentralMember) })
	register(messages.MessageType_MESSAGE_TYPE_CENTRAL_KEYS, func() proto.Message { return new(messages.CentralKeys) })
	register(messages.MessageType_MESSAGE_TYPE_CENTRAL_CHARGE_POINT, func() proto.Message { return new(messages.CentralChargePoint) })
	register(messages.MessageType_MESSAGE_TYPE_CENTRAL_DRIVER, func() proto.Message { return new(messages.CentralDriver) })
}

// TypeOf returns the envelope type tag of msg.
func TypeOf(msg proto.Message) (messages.MessageType, error) {
	t, ok := typeOf[string(msg.ProtoReflect().Descriptor().FullName())]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownType, msg.ProtoReflect().Descriptor().FullName())
	}
	return t, nil
}

// Encode wraps msg in an envelope and serialises it. producer names the
// process for tracing and may be empty.
//
// The envelope is written field by field with protowire, around a payload
// marshalled straight into the same buffer: one allocation and one pass over
// msg, where marshalling an Envelope message would copy the payload again.
// The bytes are exactly what proto.Marshal of the Envelope would write.
func Encode(msg proto.Message, producer string) ([]byte, error) {
	t, err := TypeOf(msg)
	if err != nil {
		return nil, err
	}
	return appendEnvelope(nil, t, msg, time.Now(), producer)
}

// Envelope field numbers (envelope.proto).
const (
	envType          protowire.Number = 1
	envSchemaVersion protowire.Number = 2
	envPayload       protowire.Number = 3
	envProducedAt    protowire.Number = 4
	envProducer      protowire.Number = 5
)

// timestampSize is the size of a google.protobuf.Timestamp of secs and nanos.
func timestampSize(secs int64, nanos int32) int {
	n := 0
	if secs != 0 {
		n += protowire.SizeTag(1) + protowire.SizeVarint(uint64(secs))
	}
	if nanos != 0 {
		n += protowire.SizeTag(2) + protowire.SizeVarint(uint64(nanos))
	}
	return n
}

// envelopeSize is the size appendEnvelope writes for a payload of size bytes.
func envelopeSize(t messages.MessageType, size int, at time.Time, producer string) int {
	n := protowire.SizeTag(envSchemaVersion) + protowire.SizeVarint(uint64(SchemaVersion)) +
		protowire.SizeTag(envProducedAt) + protowire.SizeBytes(timestampSize(at.Unix(), int32(at.Nanosecond())))
	if t != 0 {
		n += protowire.SizeTag(envType) + protowire.SizeVarint(uint64(t))
	}
	if size > 0 {
		n += protowire.SizeTag(envPayload) + protowire.SizeBytes(size)
	}
	if producer != "" {
		n += protowire.SizeTag(envProducer) + protowire.SizeBytes(len(producer))
	}
	return n
}

func appendEnvelope(b []byte, t messages.MessageType, msg proto.Message, at time.Time, producer string) ([]byte, error) {
	size := proto.Size(msg) // caches the sizes for the marshal below
	secs, nanos := at.Unix(), int32(at.Nanosecond())
	tsLen := timestampSize(secs, nanos)
	if b == nil {
		b = make([]byte, 0, envelopeSize(t, size, at, producer))
	}
	if t != 0 {
		b = protowire.AppendTag(b, envType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t))
	}
	b = protowire.AppendTag(b, envSchemaVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(SchemaVersion))
	if size > 0 {
		b = protowire.AppendTag(b, envPayload, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(size))
		var err error
		if b, err = (proto.MarshalOptions{UseCachedSize: true}).MarshalAppend(b, msg); err != nil {
			return nil, fmt.Errorf("marshal %s: %w", t, err)
		}
	}
	b = protowire.AppendTag(b, envProducedAt, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(tsLen))
	if secs != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(secs))
	}
	if nanos != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(nanos))
	}
	if producer != "" {
		b = protowire.AppendTag(b, envProducer, protowire.BytesType)
		b = protowire.AppendString(b, producer)
	}
	return b, nil
}

// Decode parses an envelope and its payload. It never panics on bad input: it
// returns an error that says what was wrong.
func Decode(b []byte) (proto.Message, *messages.Envelope, error) {
	env := new(messages.Envelope)
	if err := proto.Unmarshal(b, env); err != nil {
		return nil, nil, fmt.Errorf("decode envelope: %w", err)
	}
	if env.SchemaVersion != SchemaVersion {
		return nil, env, fmt.Errorf("%w %d for %s", ErrUnknownVersion, env.SchemaVersion, env.Type)
	}
	newMsg, ok := newByType[env.Type]
	if !ok {
		return nil, env, fmt.Errorf("%w %d", ErrUnknownType, int32(env.Type))
	}
	msg := newMsg()
	if err := proto.Unmarshal(env.Payload, msg); err != nil {
		return nil, env, fmt.Errorf("decode %s payload: %w", env.Type, err)
	}
	return msg, env, nil
}

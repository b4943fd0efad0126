package bridge

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/evcharging/evsim/internal/seal"
	"github.com/evcharging/evsim/messages"
)

// SealedTopics carry the traffic between Central and one charge point,
// keyed by its id: with Config.Keys, every record on them is sealed with
// that charge point's key, and a record that does not open is refused.
var SealedTopics = []string{TopicCommands, TopicStatus, TopicTelemetry, TopicSessionEnd}

// Sealed envelope field numbers (envelope.proto).
const (
	envKeyID  protowire.Number = 6
	envCPID   protowire.Number = 7
	envSealed protowire.Number = 8
)

// RefusedError is why a record on a sealed topic was refused: Err is one
// of seal's sentinels (ErrNotSealed, ErrUnknownKey, ErrRevokedKey,
// ErrWrongChargePoint, ErrOpen).
type RefusedError struct {
	KeyID string
	CPID  string
	Err   error
}

func (e *RefusedError) Error() string {
	if e.KeyID == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (key id %s)", e.Err, e.KeyID)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// sealer seals and opens the records of the sealed topics with a keyring.
// A nil sealer is encryption off: records travel in clear.
type sealer struct {
	keys *seal.Keyring
	// topics are few (SealedTopics): a scan is cheaper than a map's hash,
	// twice per record.
	topics []string
}

func newSealer(keys *seal.Keyring, topics []string) *sealer {
	if keys == nil {
		return nil
	}
	return &sealer{keys: keys, topics: slices.Clone(topics)}
}

// seals says whether records of topic are sealed.
func (s *sealer) seals(topic string) bool { return s != nil && slices.Contains(s.topics, topic) }

// encode writes the record's envelope, sealed with the current key of its
// key (the charge point id) on a sealed topic. seal.ErrNoKey: there is none.
func (s *sealer) encode(r *outRecord, at time.Time, producer string) ([]byte, error) {
	return s.encodeWith(nil, r, at, producer)
}

// encodeWith is encode for one goroutine that keeps ss (nonces and
// additional data) across records; nil seals with seal.Key.Seal.
func (s *sealer) encodeWith(ss *seal.Sealer, r *outRecord, at time.Time, producer string) ([]byte, error) {
	if !s.seals(r.topic) {
		return appendEnvelope(nil, r.typ, r.msg, at, producer)
	}
	k, ok := s.keys.Current(r.key)
	if !ok {
		return nil, seal.ErrNoKey
	}
	return appendSealedEnvelope(ss, r.typ, r.msg, at, producer, r.topic, k)
}

// appendSealedEnvelope writes what proto.Marshal of an Envelope with
// key_id, cp_id and sealed (and no payload) would write, in one buffer of
// the exact size: the plaintext is marshalled where its ciphertext goes
// and sealed in place.
func appendSealedEnvelope(ss *seal.Sealer, t messages.MessageType, msg proto.Message, at time.Time, producer, topic string, k *seal.Key) ([]byte, error) {
	size := proto.Size(msg) // caches the sizes for the marshal below
	sealedSize := size + k.Overhead()
	need := envelopeSize(t, 0, at, producer) + protowire.SizeTag(envKeyID) + protowire.SizeBytes(len(k.ID)) +
		protowire.SizeTag(envCPID) + protowire.SizeBytes(len(k.CPID)) + protowire.SizeTag(envSealed) + protowire.SizeBytes(sealedSize)
	b, err := appendEnvelope(make([]byte, 0, need), t, nil, at, producer)
	if err != nil {
		return nil, err
	}
	b = protowire.AppendTag(b, envKeyID, protowire.BytesType)
	b = protowire.AppendString(b, k.ID)
	b = protowire.AppendTag(b, envCPID, protowire.BytesType)
	b = protowire.AppendString(b, k.CPID)
	b = protowire.AppendTag(b, envSealed, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sealedSize))
	at0 := len(b)
	if b, err = (proto.MarshalOptions{UseCachedSize: true}).MarshalAppend(b, msg); err != nil {
		return nil, fmt.Errorf("marshal %s: %w", t, err)
	}
	if ss != nil {
		return ss.Seal(k, b[:at0], b[at0:], topic, int32(t)), nil
	}
	var aadBuf [128]byte
	return k.Seal(b[:at0], b[at0:], seal.AppendAAD(aadBuf[:0], topic, int32(t), k.ID, k.CPID)), nil
}

// decode opens a record of topic under key. On a sealed topic only a
// sealed envelope of key's charge point that opens with a key this process
// holds is accepted (a *RefusedError says why not); its message must name
// the same charge point. Without keys, a sealed record is a bad record.
func (s *sealer) decode(topic, key string, value []byte) (proto.Message, error) {
	if !s.seals(topic) {
		msg, env, err := Decode(value)
		if err == nil && len(env.GetSealed()) > 0 {
			return nil, fmt.Errorf("a sealed record, but encryption is off in this process (key id %s)", env.GetKeyId())
		}
		return msg, err
	}
	env := new(messages.Envelope)
	if err := proto.Unmarshal(value, env); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	if env.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("%w %d for %s", ErrUnknownVersion, env.SchemaVersion, env.Type)
	}
	refuse := func(err error) error { return &RefusedError{KeyID: env.GetKeyId(), CPID: key, Err: err} }
	if len(env.GetSealed()) == 0 {
		return nil, refuse(seal.ErrNotSealed)
	}
	if env.GetCpId() != key {
		return nil, refuse(seal.ErrWrongChargePoint)
	}
	k, err := s.keys.Opener(env.GetKeyId(), key)
	if err != nil {
		return nil, refuse(err)
	}
	newMsg, ok := newByType[env.Type]
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownType, int32(env.Type))
	}
	var aadBuf [128]byte
	aad := seal.AppendAAD(aadBuf[:0], topic, int32(env.Type), env.GetKeyId(), key)
	plain, err := k.Open(env.Sealed[:0], env.Sealed, aad) // in place: env owns its copy
	if err != nil {
		return nil, refuse(err)
	}
	msg := newMsg()
	if err := proto.Unmarshal(plain, msg); err != nil {
		return nil, fmt.Errorf("decode %s payload: %w", env.Type, err)
	}
	if id, ok := cpIDOf(msg); ok && id != key {
		return nil, refuse(seal.ErrWrongChargePoint)
	}
	return msg, nil
}

// cpIDOf is a message's cp_id field, if it has one.
func cpIDOf(msg proto.Message) (string, bool) {
	m := msg.ProtoReflect()
	f := m.Descriptor().Fields().ByName("cp_id")
	if f == nil || f.Kind() != protoreflect.StringKind {
		return "", false
	}
	return m.Get(f).String(), true
}

// isRefusal says whether err refused a record on a sealed topic.
func isRefusal(err error) (*RefusedError, bool) {
	var r *RefusedError
	ok := errors.As(err, &r)
	return r, ok
}

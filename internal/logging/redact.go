package logging

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// secretMessage is the protobuf message whose bytes must never reach a log:
// a charge point's key (seal.proto), which travels inside registration
// replies, liveness acks and health checks that protoactor may log (e.g. as
// a dead letter, at DEBUG).
const secretMessage protoreflect.FullName = "evcharging.v1.ChargePointKey"

// redactProto prints m with the secret of every charge point key it
// carries replaced, so a message logged by a library shows no key.
func redactProto(m proto.Message) string {
	if !carriesSecret(m.ProtoReflect()) {
		return fmt.Sprint(m)
	}
	c := proto.Clone(m)
	scrub(c.ProtoReflect())
	return fmt.Sprint(c)
}

func carriesSecret(m protoreflect.Message) bool {
	found := false
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
			found = fd.Message().FullName() == secretMessage || carriesSecret(v.Message())
		}
		return !found
	})
	return found || m.Descriptor().FullName() == secretMessage
}

func scrub(m protoreflect.Message) {
	if m.Descriptor().FullName() == secretMessage {
		if f := m.Descriptor().Fields().ByName("secret"); f != nil && m.Has(f) {
			m.Set(f, protoreflect.ValueOfBytes([]byte("[redacted]")))
		}
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() {
			scrub(v.Message())
		}
		return true
	})
}

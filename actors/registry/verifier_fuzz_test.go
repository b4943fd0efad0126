package registry

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/messages"
)

// FuzzVerify: whatever a monitor presents, Verify answers one of its
// reasons and never panics; nothing but the genuine token is accepted.
func FuzzVerify(f *testing.F) {
	fx := newFixture(f, "")
	good := fx.token(f, "CP-001", fx.register(f, "CP-001"))
	v := fx.verifier()
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Add("eyJhbGciOiJIUzI1NiJ9." + parts[1] + "." + parts[2])
	reasons := []error{ErrTokenMissing, ErrTokenInvalid, ErrTokenExpired, ErrTokenUnknownKey, ErrTokenOtherCP, ErrUnregistered, ErrTokenRevoked, ErrTokenStale}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify("CP-001", token)
		if err == nil {
			if token != good || c.Subject != "CP-001" {
				t.Fatalf("accepted a token that is not the genuine one: %q", token)
			}
			return
		}
		for _, r := range reasons {
			if errors.Is(err, r) {
				return
			}
		}
		t.Fatalf("Verify = %v: not one of the denial reasons", err)
	})
}

// BenchmarkVerify is the cost Central pays per registration to check a
// token offline.
func BenchmarkVerify(b *testing.B) {
	fx := newFixture(b, "")
	tok := fx.token(b, "CP-001", fx.register(b, "CP-001"))
	v := fx.verifier()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify("CP-001", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzApply: records off the topic are outside input too. Whatever they
// hold, Apply never panics, and no record with a lower token version takes
// back a revocation.
func FuzzApply(f *testing.F) {
	fx := newFixture(f, "")
	good := fx.token(f, "CP-001", fx.register(f, "CP-001"))
	if _, err := fx.reg.Revoke(admin, "CP-001"); err != nil {
		f.Fatal(err)
	}
	seed, _ := proto.Marshal(&messages.ChargePointIdentity{CpId: "CP-001", State: messages.IdentityState_IDENTITY_STATE_REGISTERED, TokenVersion: 1})
	f.Add(seed, true)
	key, _ := proto.Marshal(&messages.RegistryKey{KeyId: "x", PublicKey: make([]byte, 32)})
	f.Add(key, false)
	f.Fuzz(func(t *testing.T, data []byte, identity bool) {
		v := fx.verifier()
		var m proto.Message = &messages.RegistryKey{}
		if identity {
			m = &messages.ChargePointIdentity{}
		}
		if proto.Unmarshal(data, m) != nil {
			return
		}
		v.Apply(m)
		if id, ok := m.(*messages.ChargePointIdentity); ok && id.GetCpId() == "CP-001" && id.GetTokenVersion() <= 2 {
			if _, err := v.Verify("CP-001", good); err == nil {
				t.Fatalf("a record of version %d took back the revocation", id.GetTokenVersion())
			}
		}
	})
}

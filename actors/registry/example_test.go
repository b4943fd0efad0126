package registry_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/internal/audit"
)

// A charge point is registered, exchanges its credential for a token, and
// Central's Verifier (fed the Registry's records, as from the registry
// topic) accepts it until the operator revokes it.
func Example() {
	dir, _ := os.MkdirTemp("", "registry-example")
	defer os.RemoveAll(dir)
	log, _ := audit.Open(filepath.Join(dir, "audit.log"), audit.Options{})
	defer log.Close()
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	var topic []proto.Message
	reg, err := registry.New(registry.Options{
		DataDir: dir, AdminToken: "an-admin-token-0123", Audit: log, BcryptCost: bcrypt.MinCost,
		Logger: logrus.NewEntry(quiet), Publish: func(_ string, m proto.Message) { topic = append(topic, m) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer reg.Close()
	operator := registry.Caller{Who: "admin"}
	out, _ := reg.Register(operator, registry.Registration{ID: "CP-001", Location: "Alicante", PriceEURPerKWh: 0.30})
	tok, _ := reg.IssueToken(registry.Caller{Who: "cp:CP-001"}, "CP-001", out.Credential)

	v := registry.NewVerifier(registry.VerifierOptions{})
	for _, m := range topic {
		v.Apply(m)
	}
	_, err = v.Verify("CP-001", tok.Token)
	fmt.Println("before the revocation:", err)

	_, _ = reg.Revoke(operator, "CP-001")
	for _, m := range topic {
		v.Apply(m)
	}
	_, err = v.Verify("CP-001", tok.Token)
	fmt.Println("after it:", err)
	_, err = reg.IssueToken(registry.Caller{Who: "cp:CP-001"}, "CP-001", out.Credential)
	fmt.Println("a new token:", err)
	// Output:
	// before the revocation: <nil>
	// after it: revoked in the Registry
	// a new token: charge point revoked: CP-001
}

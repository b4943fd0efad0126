package registry

import (
	"testing"
)

func TestFirstTokensAreGoodForTheRegisteredVersionOnly(t *testing.T) {
	f := newFixture(t, "")
	out, err := f.reg.RegisterAll(admin, []Registration{
		{ID: "CP-001", Location: "A", PriceEURPerKWh: 0.3},
		{ID: "CP-002", Location: "B", PriceEURPerKWh: 0.3},
		{ID: "CP-003", Location: "C", PriceEURPerKWh: 0.3},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Changed after the registration: their first tokens would be stale.
	if _, err := f.reg.Register(admin, Registration{ID: "CP-002", Location: "B", PriceEURPerKWh: 0.3, Rotate: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Revoke(admin, "CP-003"); err != nil {
		t.Fatal(err)
	}
	toks, err := f.reg.FirstTokens(admin, out)
	if err != nil || len(toks) != 3 {
		t.Fatalf("first tokens = %+v, %v", toks, err)
	}
	v := f.verifier()
	if c, err := v.Verify("CP-001", toks[0].Token); err != nil || c.TokenVersion != 1 {
		t.Fatalf("CP-001's first token: %+v, %v", c, err)
	}
	if toks[1].Token != "" || toks[2].Token != "" {
		t.Fatalf("a rotated or revoked charge point got a first token: %+v", toks[1:])
	}
	// Its credential still works the ordinary way.
	if _, err := v.Verify("CP-001", f.token(t, "CP-001", out[0].Credential)); err != nil {
		t.Fatal(err)
	}
	recs, err := f.audit.Read(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	issued := 0
	for _, r := range recs {
		if r.Action == "token.issue" && r.Target == "CP-001" {
			issued++
		}
	}
	if issued != 2 {
		t.Fatalf("%d token.issue records for CP-001, want 2 (the first token and the exchange)", issued)
	}
}

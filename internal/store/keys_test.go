package store

import (
	"context"
	"testing"
	"time"
)

func TestKeysKeepTheCurrentThePreviousAndTheRevoked(t *testing.T) {
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	save := func(id string) {
		t.Helper()
		if err := s.SaveKey(ctx, KeyRow{KeyID: id, CPID: "CP-001", Wrapped: []byte("w-" + id), MasterID: "mk-1", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	states := func() map[string]string {
		t.Helper()
		rows, err := s.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rows {
			out[r.KeyID] = r.State
		}
		return out
	}
	save("k1")
	save("k2")
	save("k3")
	if got := states(); len(got) != 2 || got["k3"] != KeyCurrent || got["k2"] != KeyPrevious {
		t.Fatalf("after two rotations: %v", got)
	}
	if err := s.RevokeKeys(ctx, "CP-001"); err != nil {
		t.Fatal(err)
	}
	save("k4")
	if got := states(); got["k2"] != KeyRevoked || got["k3"] != KeyRevoked || got["k4"] != KeyCurrent {
		t.Fatalf("after a revocation and a new key: %v", got)
	}
}

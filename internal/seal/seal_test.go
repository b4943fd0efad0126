package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustKey(t *testing.T, cp string) *Key {
	t.Helper()
	k, err := NewKey(cp)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyringRotationKeepsThePreviousKeyAndRevocationDropsAll(t *testing.T) {
	r := NewKeyring()
	var changes []string
	r.Watch(func(cp string) { changes = append(changes, cp) })
	k1, k2, k3 := mustKey(t, "CP-001"), mustKey(t, "CP-001"), mustKey(t, "CP-001")
	r.Install(k1)
	r.Install(k1) // again: no change
	r.Install(k2)
	if cur, _ := r.Current("CP-001"); cur != k2 {
		t.Fatalf("current is %v, want %v", cur, k2)
	}
	for _, k := range []*Key{k1, k2} {
		if _, err := r.Opener(k.ID, "CP-001"); err != nil {
			t.Fatalf("%v does not open after one rotation: %v", k, err)
		}
	}
	if _, err := r.Opener(k2.ID, "CP-002"); !errors.Is(err, ErrWrongChargePoint) {
		t.Fatalf("CP-001's key for CP-002: %v", err)
	}
	r.Install(k3)
	if _, err := r.Opener(k1.ID, "CP-001"); err != nil {
		t.Fatalf("a key two rotations old: %v", err)
	}
	for range MaxPrevious - 1 {
		r.Install(mustKey(t, "CP-001"))
	}
	if _, err := r.Opener(k1.ID, "CP-001"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("a key %d rotations old: %v", MaxPrevious+1, err)
	}
	r.Revoke("CP-001")
	for _, k := range []*Key{k2, k3} {
		if _, err := r.Opener(k.ID, "CP-001"); !errors.Is(err, ErrRevokedKey) {
			t.Fatalf("%v after revocation: %v", k, err)
		}
	}
	if _, ok := r.Current("CP-001"); ok || !r.Revoked("CP-001") {
		t.Fatal("a revoked charge point still has a key to seal with")
	}
	k4 := mustKey(t, "CP-001")
	r.Install(k4)
	if _, err := r.Opener(k3.ID, "CP-001"); !errors.Is(err, ErrRevokedKey) {
		t.Fatalf("a revoked key after a new one: %v", err)
	}
	if r.Revoked("CP-001") {
		t.Fatal("still revoked after a new key")
	}
	if got := len(changes); got != 5+MaxPrevious-1 {
		t.Fatalf("%d watch calls: %v", got, changes)
	}
}

func TestMasterKeyWrapsAndNamesTheRowItWrapped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "master.key")
	mk, created, err := LoadOrCreateMasterKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("master key file mode %v", st.Mode().Perm())
	}
	again, created, err := LoadOrCreateMasterKeyFile(path)
	if err != nil || created || again.ID != mk.ID {
		t.Fatalf("reload: %v %v %v", again, created, err)
	}
	k := mustKey(t, "CP-001")
	w := mk.Wrap(k)
	if bytes.Contains(w, k.secret) {
		t.Fatal("the wrapped key contains its secret")
	}
	back, err := again.Unwrap("CP-001", k.ID, w)
	if err != nil || !bytes.Equal(back.secret, k.secret) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := again.Unwrap("CP-002", k.ID, w); err == nil {
		t.Fatal("a wrapped key opened for another charge point")
	}
	other, _ := NewEphemeralMasterKey()
	if _, err := other.Unwrap("CP-001", k.ID, w); err == nil {
		t.Fatal("another master key unwrapped the key")
	}
	for _, s := range []string{fmt.Sprint(mk), fmt.Sprintf("%v", k)} {
		if strings.Contains(s, hex.EncodeToString(k.secret)) {
			t.Fatalf("printing shows a secret: %s", s)
		}
	}
	if _, err := ParseMasterKey("too short"); !errors.Is(err, ErrBadMasterKey) {
		t.Fatalf("bad master key: %v", err)
	}
	if _, err := ParseMasterKey(" " + hex.EncodeToString(make([]byte, 32)) + "\n"); err != nil {
		t.Fatalf("hex master key: %v", err)
	}
}

package config

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncryptionIsOnByDefaultAndItsFlagsReadTheEnvironment(t *testing.T) {
	c, err := ParseSim(nil, env())
	if err != nil || !c.Encryption.On() {
		t.Fatalf("evsim: encryption on by default: %+v %v", c.Encryption, err)
	}
	e, err := ParseEngine([]string{"--cp", "CP-001"}, env("EVSIM_ENCRYPTION", "off"))
	if err != nil || e.Encryption.On() {
		t.Fatalf("engine with EVSIM_ENCRYPTION=off: %+v %v", e.Encryption, err)
	}
	key := hex.EncodeToString(make([]byte, 32))
	cc, err := ParseCentral(nil, env("EVSIM_MASTER_KEY", key))
	if err != nil || !cc.Encryption.On() || cc.Encryption.MasterKey != key {
		t.Fatalf("central with EVSIM_MASTER_KEY: %v", err)
	}
}

func TestBadEncryptionValuesNameTheFlagAndNeverTheKey(t *testing.T) {
	secret := "not-a-key-but-secret-looking-0123456789"
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--encryption", "maybe"}, "--encryption"},
		{[]string{"--master-key", secret}, "--master-key"},
		{[]string{"--master-key", hex.EncodeToString(make([]byte, 32)), "--master-key-file", "x"}, "--master-key"},
	} {
		_, err := ParseSim(tc.args, env())
		if !IsUsage(err) || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: got %v, want a usage error naming %s", tc.args, err, tc.flag)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
}

func TestMasterKeyComesFromTheFlagAFileOrBesideTheDatabase(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "central.db")
	e := Encryption{Mode: EncryptionOn}
	mk, from, err := e.LoadMasterKey(db)
	if err != nil || !strings.Contains(from, "central-master.key") {
		t.Fatalf("default: %v %q %v", mk, from, err)
	}
	again, from, err := e.LoadMasterKey(db)
	if err != nil || again.ID != mk.ID || !strings.HasPrefix(from, "from ") {
		t.Fatalf("the second run reads the same key: %v %q %v", again, from, err)
	}
	if _, from, err := e.LoadMasterKey(":memory:"); err != nil || !strings.Contains(from, "this run only") {
		t.Fatalf(":memory:: %q %v", from, err)
	}
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.MasterKeyFile = bad
	if _, _, err := e.LoadMasterKey(db); !IsUsage(err) || !strings.Contains(err.Error(), "--master-key-file") {
		t.Fatalf("a bad master key file: %v", err)
	}
}

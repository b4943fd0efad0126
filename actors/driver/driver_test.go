package driver

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseRequests(t *testing.T) {
	got, err := ParseRequests(strings.NewReader("# alice's day\nCP-001\n\n  CP-003  \n#CP-009\nCP-002\n"))
	if err != nil || !reflect.DeepEqual(got, []string{"CP-001", "CP-003", "CP-002"}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseRequests(strings.NewReader("CP-001 CP-002\n")); err == nil {
		t.Fatal("two ids on a line must be an error")
	}
	path := filepath.Join(t.TempDir(), "alice.txt")
	if err := os.WriteFile(path, []byte("CP-005\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadRequestsFile(path); err != nil || len(got) != 1 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ReadRequestsFile(path + ".missing"); err == nil || !strings.Contains(err.Error(), "requests file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c := Config{ID: "alice"}
	c.setDefaults()
	if c.Pause.Seconds() != 4 || c.Group != "driver-alice" {
		t.Fatalf("defaults %+v", c)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "bridge") {
		t.Fatalf("no bridge: %v", err)
	}
}

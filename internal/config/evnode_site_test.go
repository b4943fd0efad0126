package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A site node's charge points: ids from the pattern, locations from the
// pattern, and the lines of --cp-file where they differ.
func TestSiteChargePointsFromPatternAndFile(t *testing.T) {
	file := writeFile(t, "cps.csv", "# id,location,price,kw\nCP-00012, Old Town ,0.45\nCP-00013,Harbour,0.25,50\n")
	c, err := ParseSite([]string{"--first", "11", "--count", "4", "--id-pattern", "CP-%05d", "--cp-file", file},
		env("EVSIM_LOCATION", "Street {n} ({id})", "EVSIM_PRICE", "0.35", "KAFKA_BOOTSTRAP", "kafka:9092"))
	if err != nil {
		t.Fatal(err)
	}
	got := c.ChargePoints()
	want := []SiteChargePoint{
		{"CP-00011", "Street 11 (CP-00011)", 0.35, 22},
		{"CP-00012", "Old Town", 0.45, 22},
		{"CP-00013", "Harbour", 0.25, 50},
		{"CP-00014", "Street 14 (CP-00014)", 0.35, 22},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("charge point %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if c.Group != "site-CP-00011-CP-00014" || c.Kafka.Brokers[0] != "kafka:9092" {
		t.Errorf("group %q brokers %v", c.Group, c.Kafka.Brokers)
	}
}

func TestSiteCredentialsFile(t *testing.T) {
	creds := writeFile(t, "creds", "CP-001=cpc_a\nCP-002 = cpc_b\nCP-999=cpc_other\n")
	c, err := ParseSite([]string{"--count", "2", "--registry", "https://127.0.0.1:8443", "--credentials", creds}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Credential("CP-001") != "cpc_a" || c.Credential("CP-002") != "cpc_b" || c.Credential("CP-999") != "" {
		t.Errorf("credentials: %v", c.creds)
	}
}

// A folder of <ID>.credential files (as evnode enrol writes them) works too.
func TestSiteCredentialsFolder(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"CP-001", "CP-002"} {
		if err := os.WriteFile(filepath.Join(dir, id+".credential"), []byte("cpc_"+id+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := ParseSite([]string{"--count", "2", "--registry", "https://127.0.0.1:8443", "--credentials", dir}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Credential("CP-001") != "cpc_CP-001" || c.Credential("CP-002") != "cpc_CP-002" {
		t.Errorf("credentials: %v", c.creds)
	}
	_, err = ParseSite([]string{"--count", "3", "--registry", "https://127.0.0.1:8443", "--credentials", dir}, env())
	if u := (*UsageError)(nil); !errors.As(err, &u) || u.Flag != "credentials" || !strings.Contains(err.Error(), "CP-003") {
		t.Errorf("a missing credential file: %v", err)
	}
}

// Each bad value is a usage error naming its flag, and never shows a credential.
func TestSiteAndDriversUsageErrors(t *testing.T) {
	missing := writeFile(t, "creds", "CP-001=cpc_secret\n")
	badFile := writeFile(t, "cps.csv", "CP-001,Old Town,cheap\n")
	outside := writeFile(t, "cps.csv", "CP-100,Old Town,0.3\n")
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--id-pattern", "CP-%s"}, "id-pattern"},
		{[]string{"--id-pattern", "CP-%d-%d"}, "id-pattern"},
		{[]string{"--count", "0"}, "count"},
		{[]string{"--central", "central"}, "central"},
		{[]string{"--cp-file", badFile}, "cp-file"},
		{[]string{"--cp-file", outside}, "cp-file"},
		{[]string{"--registry", "http://r:1", "--credentials", missing}, "registry"},
		{[]string{"--registry", "https://r:1"}, "credentials"},
		{[]string{"--count", "2", "--registry", "https://r:1", "--credentials", missing}, "credentials"},
		{[]string{"--health-timeout", "2s"}, "health-timeout"},
		{[]string{"--id-pattern", "CP %d"}, "id-pattern"},
	} {
		_, err := ParseSite(tc.args, env())
		var u *UsageError
		if !errors.As(err, &u) || u.Flag != tc.flag || strings.Contains(err.Error(), "cpc_secret") {
			t.Errorf("site %v: %v, want a usage error of --%s", tc.args, err, tc.flag)
		}
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--count", "-1"}, "count"},
		{[]string{"--cp-pattern", "%x"}, "cp-pattern"},
		{[]string{"--requests-per-driver", "0"}, "requests-per-driver"},
		{[]string{"--id-pattern", "a/%d"}, "id-pattern"},
	} {
		_, err := ParseDrivers(tc.args, env())
		var u *UsageError
		if !errors.As(err, &u) || u.Flag != tc.flag {
			t.Errorf("drivers %v: %v, want a usage error of --%s", tc.args, err, tc.flag)
		}
	}
}

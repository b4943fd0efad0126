package config

import (
	"errors"
	"testing"
	"time"
)

// The flags of a shared group: off by default (a Central serves every
// charge point, as before), set by flag or environment, and bad values
// are usage errors that name the flag.
func TestSharedGroupFlags(t *testing.T) {
	c, err := ParseCentral(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.SharedGroup || c.Group != "central" || c.GroupSessionTimeout != 10*time.Second || c.Partitions != 6 {
		t.Fatalf("defaults: shared %v group %q session %v partitions %d", c.SharedGroup, c.Group, c.GroupSessionTimeout, c.Partitions)
	}
	c, err = ParseCentral([]string{"--group", "centrals"}, env("EVSIM_SHARED_GROUP", "true", "EVSIM_GROUP_SESSION_TIMEOUT", "2s"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SharedGroup || c.Group != "centrals" || c.GroupSessionTimeout != 2*time.Second {
		t.Fatalf("from the environment: shared %v group %q session %v", c.SharedGroup, c.Group, c.GroupSessionTimeout)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--group-session-timeout", "0s"}, "group-session-timeout"},
		{[]string{"--partitions", "0"}, "partitions"},
	} {
		_, err := ParseCentral(tc.args, env())
		var u *UsageError
		if !errors.As(err, &u) || u.Flag != tc.flag {
			t.Errorf("%v: %v, want a usage error naming --%s", tc.args, err, tc.flag)
		}
	}
}

// --central takes one Central or several of a shared group, each checked.
func TestCentralListOfMonitorsAndSites(t *testing.T) {
	m, err := ParseMonitor([]string{"--cp", "CP-001", "--secret", "s", "--central", "a:8090, b:8090,c:8090"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if got := SplitList(m.Central); len(got) != 3 || got[1] != "b:8090" {
		t.Fatalf("--central a,b,c: %q", got)
	}
	for _, args := range [][]string{
		{"--cp", "CP-001", "--secret", "s", "--central", "a:8090,nonsense"},
		{"--cp", "CP-001", "--secret", "s", "--central", " , "},
	} {
		_, err := ParseMonitor(args, env())
		var u *UsageError
		if !errors.As(err, &u) || u.Flag != "central" {
			t.Errorf("monitor %v: %v, want a usage error naming --central", args, err)
		}
	}
	if _, err := ParseSite([]string{"--central", "a:8090,b:8090"}, env()); err != nil {
		t.Fatalf("site with two Centrals: %v", err)
	}
	_, err = ParseSite([]string{"--central", "a:8090,b"}, env())
	var u *UsageError
	if !errors.As(err, &u) || u.Flag != "central" {
		t.Errorf("site --central a:8090,b: %v, want a usage error naming --central", err)
	}
}

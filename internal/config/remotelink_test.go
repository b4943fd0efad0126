package config

import (
	"strings"
	"testing"
	"time"
)

// Every role with an actor remote keeps its links the same way, from the
// defaults, a variable or a flag; a timing too short is a usage error.
func TestRemoteLinkTimingsFromDefaultsVariablesAndFlags(t *testing.T) {
	c, err := ParseCentral(nil, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Remote.Link != (RemoteLink{Keepalive: 3 * time.Second, DialTimeout: 2 * time.Second}) {
		t.Fatalf("central's defaults: %+v", c.Remote.Link)
	}
	s, err := ParseSite([]string{"--remote-dial-timeout", "1500ms"}, env("EVSIM_REMOTE_KEEPALIVE", "5s", "EVSIM_REMOTE_DIAL_TIMEOUT", "9s"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Remote.Link != (RemoteLink{Keepalive: 5 * time.Second, DialTimeout: 1500 * time.Millisecond}) {
		t.Fatalf("site: %+v", s.Remote.Link)
	}
	for _, parse := range []func([]string, func(string) (string, bool)) error{
		func(a []string, e func(string) (string, bool)) error { _, err := ParseEngine(a, e); return err },
		func(a []string, e func(string) (string, bool)) error { _, err := ParseMonitor(a, e); return err },
	} {
		err := parse(nil, env("EVSIM_CP", "CP-001", "EVSIM_REMOTE_KEEPALIVE", "200ms"))
		if !IsUsage(err) || !strings.Contains(err.Error(), "--remote-keepalive") {
			t.Fatalf("a keepalive of 200ms: %v", err)
		}
		err = parse([]string{"--remote-dial-timeout", "0s"}, env("EVSIM_CP", "CP-001"))
		if !IsUsage(err) || !strings.Contains(err.Error(), "--remote-dial-timeout") {
			t.Fatalf("a dial timeout of 0s: %v", err)
		}
	}
}

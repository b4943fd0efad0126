package config

import (
	"strings"
	"testing"
)

func TestEnrolReadsItsChargePoints(t *testing.T) {
	c, err := ParseEnrol(nil, env("EVSIM_REGISTRY", "https://registry:8443", "EVSIM_ADMIN_TOKEN", "an-admin-token-long-enough",
		"EVSIM_CPS", "CP-001:0.30:Central Station; CP-002:0.35:Plaza: north side;CP-003:0.4", "EVSIM_OUT", "/credentials"))
	if err != nil {
		t.Fatal(err)
	}
	want := []EnrolChargePoint{{"CP-001", 0.30, "Central Station"}, {"CP-002", 0.35, "Plaza: north side"}, {"CP-003", 0.4, "Site CP-003"}}
	if len(c.ChargePoints) != len(want) || c.Out != "/credentials" {
		t.Fatalf("enrol: %+v", c)
	}
	for i, w := range want {
		if c.ChargePoints[i] != w {
			t.Errorf("charge point %d: %+v, want %+v", i, c.ChargePoints[i], w)
		}
	}
}

// Each bad input is a usage error naming its flag.
func TestEnrolUsageErrors(t *testing.T) {
	base := []string{"--registry", "https://registry:8443", "--admin-token", "t", "--cps", "CP-001:0.30"}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--admin-token", "t", "--cps", "CP-001:0.30"}, "registry"},
		{[]string{"--registry", "http://registry:8443", "--admin-token", "t", "--cps", "CP-001:0.30"}, "registry"},
		{[]string{"--registry", "https://registry:8443", "--cps", "CP-001:0.30"}, "admin-token"},
		{append(base[:4:4], "--cps", ""), "cps"},
		{append(base[:4:4], "--cps", "CP-001"), "cps"},
		{append(base[:4:4], "--cps", "CP-001:cheap"), "cps"},
		{append(base[:4:4], "--cps", "CP 1:0.30"), "cps"},
		{append(base[:4:4], "--cps", "CP-001:0.30;CP-001:0.40"), "cps"},
		{append(base, "--registry-fingerprint", "AB:CD"), "registry-fingerprint"},
		{append(base, "--wait", "0s"), "wait"},
	} {
		_, err := ParseEnrol(tc.args, env())
		if !IsUsage(err) || !strings.Contains(err.Error(), "--"+tc.flag) {
			t.Errorf("%v: %v, want a usage error naming --%s", tc.args, err, tc.flag)
		}
	}
}

func TestMonitorTakesItsCredentialFromAFile(t *testing.T) {
	args := []string{"--cp", "CP-001", "--registry", "https://registry:8443"}
	if _, err := ParseMonitor(args, env()); !IsUsage(err) || !strings.Contains(err.Error(), "--credential") {
		t.Errorf("no credential: %v, want a usage error naming --credential", err)
	}
	if _, err := ParseMonitor(append(args, "--credential", "c", "--credential-file", "f"), env()); !IsUsage(err) || !strings.Contains(err.Error(), "--credential-file") {
		t.Errorf("both: %v, want a usage error naming --credential-file", err)
	}
	m, err := ParseMonitor(args, env("EVSIM_CREDENTIAL_FILE", "/nowhere/CP-001.credential"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Registry.ReadCredential(); err == nil || !strings.Contains(err.Error(), "not enrolled") {
		t.Errorf("a missing credential file: %v, want it said that the charge point is not enrolled", err)
	}
}

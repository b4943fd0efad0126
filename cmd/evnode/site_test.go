package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// `evnode health site` asks one engine of the node over the node's remote:
// the node's first charge point by default, read from the site's own
// variables, as in a container.
func TestHealthSiteAsksAnEngineOfTheNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts actor remotes")
	}
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	addr := freeAddr(t)
	dir := t.TempDir()
	log := runRole(t, "site", "--brokers", broker, "--central", freeAddr(t), "--listen", addr,
		"--first", "7", "--count", "3", "--id-pattern", "CP-%02d", "--key-file", dir+"/site.key", "--journal-dir", "memory")

	t.Setenv("EVSIM_FIRST", "7")
	t.Setenv("EVSIM_ID_PATTERN", "CP-%02d")
	out := healthyWithin(t, 20*time.Second, log, "site", "--listen", addr)
	if !strings.Contains(out, "engine of CP-07 answered OK") {
		t.Errorf("site check said %q, want the first engine's own answer", out)
	}
	out = healthyWithin(t, 5*time.Second, log, "site", "--listen", addr, "--cp", "CP-09")
	if !strings.Contains(out, "engine of CP-09 answered OK") {
		t.Errorf("site check said %q", out)
	}
	// A charge point the node does not host has no engine to answer.
	unhealthy(t, "no answer from site/cp-CP-10/engine", "site", "--listen", addr, "--cp", "CP-10", "--probe-timeout", "2s")
	unhealthy(t, "no answer", "site", "--listen", freeAddr(t), "--probe-timeout", "2s")
}

// evnode knows site and drivers; their bad flags are usage errors (exit 2,
// one line naming the flag).
func TestSiteAndDriversUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"site", "--count", "0"}, "--count"},
		{[]string{"site", "--id-pattern", "CP"}, "--id-pattern"},
		{[]string{"drivers", "--requests", "/nonexistent/requests.txt"}, "--requests"},
		{[]string{"drivers", "--cp-count", "0"}, "--cp-count"},
		{[]string{"health", "site", "--id-pattern", "x"}, "--id-pattern"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, noEnv, &stdout, &stderr)
		out := strings.TrimRight(stderr.String(), "\n")
		if code != 2 || strings.Count(out, "\n") != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("evnode %v: exit %d, stderr %q; want exit 2 and one line naming %s", tc.args, code, out, tc.want)
		}
	}
}

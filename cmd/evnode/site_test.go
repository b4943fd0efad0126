package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/testutil"
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

// A site node with the Registry: each monitor exchanges its charge point's
// credential (from --credentials) for a token, and Central (--auth registry)
// accepts all of them, with the Registry's location.
func TestSiteWithTheRegistry(t *testing.T) {
	if testing.Short() {
		t.Skip("starts actor remotes")
	}
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	dir := t.TempDir()
	reg := startRegistryCommand(t, broker, filepath.Join(dir, "registry"))
	var creds strings.Builder
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("CP-%03d", i)
		code, body := reg.call(t, "POST", "/v1/chargepoints", testAdminToken,
			map[string]any{"id": id, "location": "Registry Street " + id, "price_eur_kwh": 0.40})
		if code != 201 {
			t.Fatalf("register %s: %d %v", id, code, body)
		}
		fmt.Fprintf(&creds, "%s=%s\n", id, body["credential"])
	}
	credFile := filepath.Join(dir, "credentials")
	if err := os.WriteFile(credFile, []byte(creds.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	central, panel := freeAddr(t), freeAddr(t)
	centralLog := runRole(t, "central", "--brokers", broker, "--auth", "registry", "--listen", central, "--http", panel,
		"--db", filepath.Join(dir, "central.db"))
	siteLog := runRole(t, "site", "--brokers", broker, "--central", central, "--listen", freeAddr(t), "--count", "4",
		"--registry", "https://"+reg.addr, "--registry-ca", filepath.Join(dir, "registry", "registry.crt"),
		"--credentials", credFile, "--journal-dir", "memory")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list []struct{ ID, State, Location string }
		err := getJSONFrom("http://"+panel+"/api/chargepoints", &list)
		activated := 0
		for _, cp := range list {
			if cp.State == "ACTIVATED" && cp.Location == "Registry Street "+cp.ID {
				activated++
			}
		}
		if err == nil && activated == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Central shows %+v (%v), want 4 ACTIVATED at the Registry's locations\ncentral:\n%s\nsite:\n%s", list, err, centralLog, siteLog)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func getJSONFrom(url string, v any) error {
	res, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// `evnode health drivers` looks for an `evnode drivers` process (not a
// single driver's) and asks its Kafka.
func TestHealthDriversNeedsItsProcessAndKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	broker := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	name := fmt.Sprintf("evnode-drivers-health-test-%d", os.Getpid())
	fake := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	one := testutil.Command(t, fake, "driver")
	if err := one.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = one.Process.Kill(); _ = one.Wait() })
	unhealthy(t, "no "+name+" drivers process", "drivers", "--brokers", broker, "--process-name", name)

	many := testutil.Command(t, fake, "drivers")
	if err := many.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = many.Process.Kill(); _ = many.Wait() })
	if out := healthyWithin(t, 10*time.Second, &syncBuffer{}, "drivers", "--brokers", broker, "--process-name", name); !strings.Contains(out, "Kafka answers") {
		t.Errorf("drivers check said %q", out)
	}
}

// evnode drivers: a driver named in --requests gets its file, the others
// requests drawn from the charge point range, the same for the same seed.
func TestDriversPlan(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "d-02.txt"), []byte("CP-7\nCP-8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--count", "3", "--id-pattern", "d-%02d", "--requests", dir,
		"--cp-first", "10", "--cp-count", "5", "--cp-pattern", "CP-%d", "--requests-per-driver", "4", "--seed", "7"}
	plan := func() map[string][]string {
		c, err := config.ParseDrivers(args, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		p, err := driversPlan(c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := plan(), plan()
	if got := strings.Join(a["d-02"], ","); got != "CP-7,CP-8" {
		t.Errorf("d-02 has its file: got %s", got)
	}
	for _, id := range []string{"d-01", "d-03"} {
		if len(a[id]) != 4 || strings.Join(a[id], ",") != strings.Join(b[id], ",") {
			t.Errorf("%s: %v then %v, want the same 4 drawn requests", id, a[id], b[id])
		}
		for _, cp := range a[id] {
			var n int
			if _, err := fmt.Sscanf(cp, "CP-%d", &n); err != nil || n < 10 || n > 14 {
				t.Errorf("%s: %s is outside CP-10..CP-14", id, cp)
			}
		}
	}
}

package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/registry/httpapi"
)

// Issue 11 across real processes: a Registry over HTTPS, Central in
// --auth registry, an engine and a monitor that gets its token over
// HTTPS. A revocation holds across a kill -9 of Central, of the monitor
// and of the Registry; only a new registration brings the charge point back.
func TestEvnodeRevocationHoldsAcrossProcessRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evnode processes")
	}
	h := newHarness(t)
	brokers, regAddr, centralAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	engineAddr, monitorAddr := freeAddr(t), freeAddr(t)
	const admin = "e2e-admin-token-0123456789"
	regDir := filepath.Join(h.dir, "registry")
	h.add("broker", nil, "broker", "--listen", brokers)
	h.add("registry", append(nodeKafkaEnv(brokers), "EVSIM_ADMIN_TOKEN="+admin), "registry", "--listen", regAddr, "--data-dir", regDir)
	h.start("broker")
	h.start("registry")
	h.eventually(20*time.Second, "the Registry serves HTTPS", func() (bool, string) {
		l := h.log("registry", 0)
		return strings.Contains(l, "Registry API on https://"+regAddr), l
	})
	client, err := httpapi.NewClient("https://"+regAddr, filepath.Join(regDir, httpapi.SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cred, err := client.Register(ctx, admin, "CP-001", "Alicante", 0.3, false)
	if err != nil {
		t.Fatal(err)
	}

	h.add("central", nodeKafkaEnv(brokers), "central", "--listen", centralAddr, "--http", httpAddr,
		"--db", filepath.Join(h.dir, "central.db"), "--auth", "registry", "--operator-token", "op-token-0123456789")
	h.add("engine", nodeKafkaEnv(brokers), "engine", "--cp", "CP-001", "--listen", engineAddr,
		"--journal", filepath.Join(h.dir, "engine.json"))
	monitorArgs := []string{"monitor", "--cp", "CP-001", "--engine", engineAddr, "--central", centralAddr, "--listen", monitorAddr,
		"--registry", "https://" + regAddr, "--registry-ca", filepath.Join(regDir, httpapi.SelfSignedCert), "--engine-grace", "3s"}
	h.add("monitor", []string{"EVSIM_LOG_FORMAT=text", "EVSIM_CREDENTIAL=" + cred}, monitorArgs...)
	for _, n := range []string{"central", "engine", "monitor"} {
		h.start(n)
	}
	state := func(want string) func() (bool, string) {
		return func() (bool, string) {
			cps := chargePoints(httpAddr)
			return cps["CP-001"].State == want, describe(cps)
		}
	}
	h.eventually(30*time.Second, "CP-001 ACTIVATED with its token", state("ACTIVATED"))

	if err := adminCall(client, "POST", "/v1/chargepoints/CP-001/revoke", admin); err != nil {
		t.Fatal(err)
	}
	h.eventually(15*time.Second, "CP-001 REVOKED", state("REVOKED"))
	holds := func(when string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second) // five heartbeats and a registration attempt
		for time.Now().Before(deadline) {
			if cps := chargePoints(httpAddr); cps["CP-001"].State == "ACTIVATED" || cps["CP-001"].State == "SUPPLYING" {
				h.fail("after %s, CP-001 is back: %s", when, describe(cps))
			}
			time.Sleep(100 * time.Millisecond) // polling the panel
		}
		h.eventually(30*time.Second, "CP-001 REVOKED after "+when, state("REVOKED"))
	}
	holds("the next heartbeats")
	h.kill("central")
	h.start("central")
	holds("a kill -9 and restart of Central")
	h.kill("monitor")
	h.start("monitor")
	holds("a kill -9 and restart of the monitor")
	h.kill("registry")
	h.start("registry")
	h.eventually(20*time.Second, "the Registry serves again", func() (bool, string) {
		return strings.Contains(h.log("registry", 1), "Registry API on https://"), ""
	})
	holds("a kill -9 and restart of the Registry")
	if !regexp.MustCompile(`WARN .*Cannot get a token for CP-001 from the Registry: charge point revoked`).MatchString(h.log("monitor", 1)) {
		h.fail("the restarted monitor does not say that the Registry refuses its token:\n%s", h.log("monitor", 1))
	}

	// Only a new registration (a new credential) brings it back.
	newCred, err := client.Register(ctx, admin, "CP-001", "Alicante", 0.3, true)
	if err != nil {
		t.Fatal(err)
	}
	h.stop("monitor", 10*time.Second)
	h.add("monitor-renewed", []string{"EVSIM_LOG_FORMAT=text", "EVSIM_CREDENTIAL=" + newCred}, monitorArgs...)
	h.start("monitor-renewed")
	h.eventually(30*time.Second, "CP-001 ACTIVATED after a new registration", state("ACTIVATED"))
}

// adminCall sends an operator call with no body through the client's TLS setup.
func adminCall(c *httpapi.Client, method, path, admin string) error {
	return c.Admin(context.Background(), method, path, admin)
}

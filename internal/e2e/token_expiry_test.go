package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evcharging/evsim/actors/registry/httpapi"
)

// Tokens after registration across real processes, wired as compose wires
// them: `evnode registry --token-ttl 2s --public-dir`, a one-shot `evnode
// enrol` writing the credential file, Central pinned to the key file, a
// monitor reading its credential file. The monitor renews its token and
// stays ACTIVATED through several token lives; with the Registry killed,
// Central ends the registration when the token expires (one WARN) and
// shows why; the Registry back, the charge point is back.
func TestEvnodeTokensAreRenewedAndAnExpiredOneEndsTheRegistration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evnode processes")
	}
	h := newHarness(t)
	brokers, regAddr, centralAddr, httpAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	engineAddr, monitorAddr := freeAddr(t), freeAddr(t)
	const admin = "e2e-admin-token-0123456789"
	const ttl = 3 * time.Second
	regDir, public, creds := filepath.Join(h.dir, "registry"), filepath.Join(h.dir, "public"), filepath.Join(h.dir, "credentials")
	h.add("broker", nil, "broker", "--listen", brokers)
	h.add("registry", append(nodeKafkaEnv(brokers), "EVSIM_ADMIN_TOKEN="+admin), "registry", "--listen", regAddr, "--data-dir", regDir,
		"--public-dir", public, "--token-ttl", ttl.String())
	h.add("enrol", []string{"EVSIM_ADMIN_TOKEN=" + admin, "EVSIM_LOG_FORMAT=text"}, "enrol", "--registry", "https://"+regAddr,
		"--registry-ca", filepath.Join(public, httpapi.PublicCert), "--cps", "CP-001:0.30:Alicante", "--out", creds)
	h.add("central", nodeKafkaEnv(brokers), "central", "--listen", centralAddr, "--http", httpAddr,
		"--db", filepath.Join(h.dir, "central.db"), "--auth", "registry", "--registry-key-file", filepath.Join(public, httpapi.PublicKeyFile))
	h.add("engine", nodeKafkaEnv(brokers), "engine", "--cp", "CP-001", "--listen", engineAddr, "--journal", filepath.Join(h.dir, "engine.json"))
	h.add("monitor", []string{"EVSIM_LOG_FORMAT=text"}, "monitor", "--cp", "CP-001", "--engine", engineAddr, "--central", centralAddr,
		"--listen", monitorAddr, "--registry", "https://"+regAddr, "--registry-ca", filepath.Join(creds, httpapi.PublicCert),
		"--credential-file", filepath.Join(creds, "CP-001.credential"), "--engine-grace", "3s")
	for _, n := range []string{"broker", "registry", "central", "engine"} {
		h.start(n)
	}
	if code := h.runOnce("enrol", 60*time.Second); code != 0 {
		h.fail("enrol exited %d:\n%s", code, h.log("enrol", 0))
	}
	h.start("monitor")
	state := func(want ...string) func() (bool, string) {
		return func() (bool, string) {
			cps := chargePoints(httpAddr)
			for _, w := range want {
				if cps["CP-001"].State == w {
					return true, ""
				}
			}
			return false, describe(cps)
		}
	}
	h.eventually(30*time.Second, "CP-001 ACTIVATED with its token", state("ACTIVATED"))

	// Three token lives: the monitor renews, Central keeps it.
	for deadline := time.Now().Add(3 * ttl); time.Now().Before(deadline); {
		if ok, now := state("ACTIVATED", "SUPPLYING")(); !ok {
			h.fail("while its monitor renews its token: %s", now)
		}
		time.Sleep(100 * time.Millisecond) // polling the panel
	}

	h.kill("registry")
	h.eventually(15*time.Second, "CP-001 REJECTED once its token expired", state("REJECTED"))
	h.eventually(10*time.Second, "Central's one WARN for the expiry", func() (bool, string) {
		n := strings.Count(h.log("central", 0), "CP-001 REJECTED: its token expired")
		return n == 1, h.log("central", 0)
	})
	if !strings.Contains(h.log("monitor", 0), "Cannot renew the token of CP-001") {
		h.fail("the monitor does not say that it cannot renew its token:\n%s", h.log("monitor", 0))
	}
	h.eventually(15*time.Second, "Central shows why the monitor has no token", func() (bool, string) {
		cp := chargePoints(httpAddr)["CP-001"]
		return strings.Contains(cp.Reason, "no token: its monitor cannot get one from the Registry"), cp.State + " " + cp.Reason
	})

	h.start("registry")
	h.eventually(30*time.Second, "CP-001 ACTIVATED again with a new token", state("ACTIVATED", "SUPPLYING"))
	if n := strings.Count(h.log("central", 0), "CP-001 REJECTED: its token expired"); n != 1 {
		h.fail("Central logged the expiry %d times, want once", n)
	}
}

// runOnce waits for a one-shot node started before (or starts it) to exit
// by itself, and returns its exit code.
func (h *harness) runOnce(name string, within time.Duration) int {
	h.t.Helper()
	h.start(name)
	p := h.procs[name]
	select {
	case <-p.done:
	case <-time.After(within):
		h.fail("%s did not finish within %v", name, within)
	}
	h.mu.Lock()
	p.stopped = true // it was meant to exit
	h.mu.Unlock()
	return p.cmd.ProcessState.ExitCode()
}

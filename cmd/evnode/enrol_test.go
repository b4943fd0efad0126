package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/evcharging/evsim/actors/registry"
	"github.com/evcharging/evsim/actors/registry/httpapi"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
)

// enrol runs `evnode enrol ARGS` in this process and answers its exit code and log.
func enrol(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	code := runEnrol(context.Background(), args, envOf("EVSIM_ADMIN_TOKEN", testAdminToken), &stderr)
	return code, stderr.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEnrolGivesEachMonitorItsCredentialOnce runs the compose deployment's
// enrolment against a real Registry over HTTPS: each charge point gets a
// credential file that the Registry accepts, and the Registry's
// certificate beside them; a second run keeps every file; a lost file gets
// a new credential; a revoked charge point stays revoked.
func TestEnrolGivesEachMonitorItsCredentialOnce(t *testing.T) {
	brokers := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	dir := t.TempDir()
	public := filepath.Join(dir, "public")
	reg := startRegistryCommand(t, brokers, filepath.Join(dir, "registry"), "--public-dir", public)
	out := filepath.Join(dir, "credentials")
	url := "https://" + reg.addr
	args := []string{"--registry", url, "--registry-ca", filepath.Join(public, httpapi.PublicCert), "--out", out,
		"--cps", "CP-001:0.30:Central Station;CP-002:0.35:Airport P3"}

	code, log := enrol(t, args...)
	if code != 0 {
		t.Fatalf("enrol exit %d:\n%s", code, log)
	}
	client, err := httpapi.NewClient(url, filepath.Join(out, httpapi.PublicCert))
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	for _, id := range []string{"CP-001", "CP-002"} {
		path := CredentialFile(out, id)
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, mode %v; want a 0600 file", path, err, st)
		}
		first[id] = strings.TrimSpace(readFile(t, path))
		if _, _, err := client.Token(context.Background(), id, first[id]); err != nil {
			t.Errorf("the Registry refuses %s's enrolled credential: %v", id, err)
		}
	}
	if v, err := client.Get(context.Background(), testAdminToken, "CP-002"); err != nil || v.Location != "Airport P3" || v.PriceEURPerKWh != 0.35 {
		t.Errorf("CP-002 in the Registry: %+v, %v; want Airport P3 at 0.35", v, err)
	}

	// Idempotent: every file kept as it was.
	if code, log := enrol(t, args...); code != 0 || strings.Count(log, "keeping its credential file") != 2 {
		t.Fatalf("second enrol exit %d, want 0 and two kept files:\n%s", code, log)
	}
	for id, cred := range first {
		if got := strings.TrimSpace(readFile(t, CredentialFile(out, id))); got != cred {
			t.Errorf("the second run changed %s's credential", id)
		}
	}

	// A lost file: the registered charge point gets a new credential.
	_ = os.Remove(CredentialFile(out, "CP-001"))
	if code, log := enrol(t, args...); code != 0 || !strings.Contains(log, "gave it a new credential") {
		t.Fatalf("enrol after a lost file: exit %d:\n%s", code, log)
	}
	renewed := strings.TrimSpace(readFile(t, CredentialFile(out, "CP-001")))
	if renewed == first["CP-001"] {
		t.Error("CP-001 kept its old credential after its file was lost")
	}
	if _, _, err := client.Token(context.Background(), "CP-001", first["CP-001"]); !errors.Is(err, registry.ErrBadCredential) {
		t.Errorf("the lost credential still gets a token: %v", err)
	}

	// A revoked charge point without its file stays revoked: enrol never
	// undoes the operator's revocation.
	if err := client.Admin(context.Background(), "POST", "/v1/chargepoints/CP-002/revoke", testAdminToken); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(CredentialFile(out, "CP-002"))
	if code, log := enrol(t, args...); code != 0 || !strings.Contains(log, "CP-002 is revoked in the Registry") {
		t.Fatalf("enrol of a revoked charge point: exit %d:\n%s", code, log)
	}
	if v, _ := client.Get(context.Background(), testAdminToken, "CP-002"); v.State != "revoked" {
		t.Errorf("CP-002 is %q after enrol, want revoked", v.State)
	}
	if _, err := os.Stat(CredentialFile(out, "CP-002")); err == nil {
		t.Error("enrol wrote a credential for a revoked charge point")
	}

	// Pinned by fingerprint (another machine): the certificate is saved
	// for the monitors; a wrong pin is refused.
	fp := registryFingerprint(t, filepath.Join(public, httpapi.PublicCert))
	out2 := filepath.Join(dir, "credentials-b")
	if code, log := enrol(t, "--registry", url, "--registry-fingerprint", fp, "--out", out2, "--cps", "CP-003:0.30"); code != 0 {
		t.Fatalf("enrol with a fingerprint: exit %d:\n%s", code, log)
	}
	if readFile(t, filepath.Join(out2, httpapi.PublicCert)) != readFile(t, filepath.Join(public, httpapi.PublicCert)) {
		t.Error("enrol with a fingerprint did not save the Registry's certificate")
	}
	wrong := strings.Repeat("AB:", 31) + "AB"
	if code, log := enrol(t, "--registry", url, "--registry-fingerprint", wrong, "--out", t.TempDir(), "--cps", "CP-004:0.30", "--wait", "1s"); code != 1 || !strings.Contains(log, "not the pinned") {
		t.Errorf("enrol with a wrong fingerprint: exit %d, want 1 naming the pin:\n%s", code, log)
	}
	// A wrong admin token: exit 1, said in one line.
	var stderr bytes.Buffer
	if code := runEnrol(context.Background(), append(args, "--admin-token", "not-the-admin-token-at-all"), nil, &stderr); code != 1 || !strings.Contains(stderr.String(), "refused the admin token") {
		t.Errorf("enrol with a wrong admin token: exit %d:\n%s", code, stderr.String())
	}

	// Central's --registry-key-file reads the key the Registry wrote.
	key, err := loadRegistryKey(context.Background(), config.CentralAuth{RegistryKeyFile: filepath.Join(public, httpapi.PublicKeyFile)}, logrus.NewEntry(logging.Discard()))
	if err != nil {
		t.Fatal(err)
	}
	if registry.KeyID(key) != keyIDInLog(t, reg.stderr.String()) {
		t.Errorf("the public key file holds key %s, the Registry signs with another", registry.KeyID(key))
	}
}

func registryFingerprint(t *testing.T, certFile string) string {
	t.Helper()
	block, _ := pem.Decode([]byte(readFile(t, certFile)))
	if block == nil {
		t.Fatalf("%s holds no PEM", certFile)
	}
	return httpapi.Fingerprint(block.Bytes)
}

func keyIDInLog(t *testing.T, log string) string {
	t.Helper()
	i := strings.Index(log, "key_id=")
	if i < 0 {
		t.Fatalf("no key_id in the Registry's log:\n%s", log)
	}
	return strings.Fields(log[i+len("key_id="):])[0]
}

// TestHealthRegistry: exit 0 when the Registry answers with the certificate
// of its data dir, 1 naming the cause otherwise.
func TestHealthRegistry(t *testing.T) {
	brokers := startBrokerCommand(t, "--listen", "127.0.0.1:0")
	dir := filepath.Join(t.TempDir(), "registry")
	reg := startRegistryCommand(t, brokers, dir)
	if code, out, errOut := health(t, "registry", "--listen", reg.addr, "--data-dir", dir); code != 0 || !strings.Contains(out, "answered 200") {
		t.Errorf("health registry: exit %d, stdout %q, stderr %q; want 0", code, out, errOut)
	}
	// Another certificate: not the Registry we trust.
	other := t.TempDir()
	if _, err := httpapi.LoadCertificate("", "", other, nil); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := health(t, "registry", "--listen", reg.addr, "--data-dir", other); code != 1 || !strings.Contains(errOut, "not the one in") {
		t.Errorf("health registry with another certificate: exit %d, stderr %q; want 1", code, errOut)
	}
	reg.stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, errOut := health(t, "registry", "--listen", reg.addr, "--data-dir", dir)
		if code == 1 && strings.Contains(errOut, "unhealthy") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health registry of a stopped Registry: exit %d, stderr %q; want 1", code, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

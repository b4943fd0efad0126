package deploy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/evcharging/evsim/actors/registry/httpapi"
)

// This file drives the Registry of a live deployment: its API over HTTPS
// with the certificate it made, and what its audit log says.

// liveAdminToken is the Registry's admin token in the live tests (not the
// demo default, to prove that REGISTRY_ADMIN_TOKEN reaches it).
const liveAdminToken = "live-test-admin-token-0123456789"

// registryClient is a client of the Registry's API on the host, trusting
// the certificate the Registry made in its container.
func (d *deployment) registryClient() *httpapi.Client {
	d.t.Helper()
	ca := filepath.Join(d.t.TempDir(), "registry.crt")
	if err := os.WriteFile(ca, []byte(d.registryCert()), 0o644); err != nil {
		d.t.Fatal(err)
	}
	c, err := httpapi.NewClient(d.registry, ca)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// registryCert is the certificate the Registry wrote to its public volume.
func (d *deployment) registryCert() string {
	d.t.Helper()
	return d.run("docker", "exec", d.container("registry").ID, "cat", "/registry-public/"+httpapi.PublicCert)
}

// tokensIssued counts, per charge point, the tokens the Registry issued
// (its audit log, read over HTTPS with the admin token).
func (d *deployment) tokensIssued() map[string]int {
	d.t.Helper()
	out := map[string]int{}
	var after uint64
	for {
		var page struct {
			Records []struct {
				Action  string `json:"action"`
				Target  string `json:"target"`
				Outcome string `json:"outcome"`
			} `json:"records"`
			Next uint64 `json:"next"`
		}
		d.registryGet(fmt.Sprintf("/v1/audit?after=%d", after), &page)
		for _, r := range page.Records {
			if r.Action == "token.issue" && r.Outcome == "ok" {
				out[r.Target]++
			}
		}
		if page.Next == 0 {
			return out
		}
		after = page.Next
	}
}

// registryGet reads one of the Registry's admin endpoints as JSON.
func (d *deployment) registryGet(path string, v any) {
	d.t.Helper()
	client := d.registryHTTP()
	req, _ := http.NewRequest(http.MethodGet, d.registry+path, nil)
	req.Header.Set("Authorization", "Bearer "+liveAdminToken)
	resp, err := client.Do(req)
	if err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
}

// registryHTTP is an HTTP client that trusts the Registry's certificate.
func (d *deployment) registryHTTP() *http.Client {
	d.t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(d.registryCert())) {
		d.t.Fatal("the Registry's registry.crt holds no certificate")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// revoke revokes a charge point's tokens through the Registry's API.
func (d *deployment) revoke(id string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := d.registryClient().Admin(ctx, http.MethodPost, "/v1/chargepoints/"+id+"/revoke", liveAdminToken); err != nil {
		d.t.Fatalf("revoke %s: %v", id, err)
	}
}

var fingerprintField = regexp.MustCompile(`fingerprint_sha256=([0-9A-F:]{95})`)

// registryFingerprintOrEmpty is the SHA-256 of the Registry's certificate,
// as its log says ("" until it says it).
func (d *deployment) registryFingerprintOrEmpty() string {
	d.t.Helper()
	if m := fingerprintField.FindStringSubmatch(d.logs("registry")); m != nil {
		return m[1]
	}
	return ""
}

// everyChargePointHasTokens fails unless the Registry issued a token to
// each of ids.
func (d *deployment) everyChargePointHasTokens(ids []string) {
	d.t.Helper()
	issued := d.tokensIssued()
	d.t.Logf("tokens the Registry issued per charge point: %v", issued)
	for _, id := range ids {
		if issued[id] == 0 {
			d.t.Errorf("the Registry issued no token to %s, yet Central (EVSIM_AUTH=registry) shows it serving", id)
		}
	}
	if !strings.Contains(d.logs("central"), "Central accepts only charge points with the Registry's tokens") {
		d.t.Error("Central does not say that it accepts only the Registry's tokens")
	}
}

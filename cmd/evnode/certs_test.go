package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCertsIn(t *testing.T, dir string, extra ...string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	args := append([]string{"certs", "--out", dir, "--services", "kafka,central,monitor-cp-001", "--keystore", "kafka", "--hosts", "10.0.0.7,cp-host"}, extra...)
	code := run(args, func(string) (string, bool) { return "", false }, &bytes.Buffer{}, &stderr)
	return code, stderr.String()
}

// TestCertsWritesADeploymentsPKI: every service's certificate is signed by
// ca.crt for its name, localhost, 127.0.0.1 and --hosts, and works both as
// server and client (mutual TLS); Kafka's keystore is its key and
// certificate in one PEM file; keys are 0600.
func TestCertsWritesADeploymentsPKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if code, out := runCertsIn(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.crt holds no certificate")
	}
	for _, s := range []string{"kafka", "central", "monitor-cp-001"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, s+".crt"), filepath.Join(dir, s+".key"))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{s, "localhost", "127.0.0.1", "10.0.0.7", "cp-host"} {
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("%s's certificate for %s (usage %v): %v", s, host, usage, err)
				}
			}
		}
		info, err := os.Stat(filepath.Join(dir, s+".key"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s.key: mode %v (%v), want 0600", s, info.Mode().Perm(), err)
		}
	}
	keystore, err := os.ReadFile(filepath.Join(dir, "kafka.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(keystore, keystore); err != nil {
		t.Errorf("kafka.pem is not a key and its certificate: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "central.pem")); err == nil {
		t.Error("central.pem written: only --keystore gets one")
	}
}

// TestCertsKeepsThemAndRedoesAMissingOne: a second run changes nothing (a
// restarted deployment keeps its CA); a missing file makes all anew.
func TestCertsKeepsThemAndRedoesAMissingOne(t *testing.T) {
	dir := t.TempDir()
	if code, out := runCertsIn(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	first, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	code, out := runCertsIn(t, dir)
	second, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if code != 0 || !bytes.Equal(first, second) || !strings.Contains(out, "kept") {
		t.Fatalf("second run: exit %d, CA kept %v, log %q", code, bytes.Equal(first, second), out)
	}
	if err := os.Remove(filepath.Join(dir, "monitor-cp-001.key")); err != nil {
		t.Fatal(err)
	}
	if code, out := runCertsIn(t, dir); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	third, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if bytes.Equal(first, third) {
		t.Error("a missing key: the CA was kept, so the new pair would be signed by nothing ca.crt holds")
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "monitor-cp-001.crt"), filepath.Join(dir, "monitor-cp-001.key")); err != nil {
		t.Error(err)
	}
}

func TestCertsBadFlagExitsTwoNamingIt(t *testing.T) {
	for _, tc := range []struct{ args, flag string }{
		{"--services=", "--services"},
		{"--keystore=broker", "--keystore"},
		{"--owner=evsim", "--owner"},
		{"--keystore-owner=1000", "--keystore-owner"},
		{"--services=a/b", "--services"},
	} {
		code, out := runCertsIn(t, t.TempDir(), tc.args)
		if code != 2 || !strings.Contains(out, tc.flag) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("%s: exit %d, %q; want 2 and one line naming %s", tc.args, code, out, tc.flag)
		}
	}
}

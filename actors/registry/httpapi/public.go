package httpapi

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/evcharging/evsim/actors/registry"
)

// Files of a Registry's public folder (`evnode registry --public-dir`):
// what its clients need and anyone may see.
const (
	// PublicCert is the Registry's TLS certificate, for clients to trust.
	PublicCert = "registry.crt"
	// PublicKeyFile is the tokens' public key in base64, as GET /v1/keys shows it.
	PublicKeyFile = "registry-key.pub"
)

// WritePublic writes the certificate and the tokens' public key to dir,
// each through a temporary file and a rename (a reader never sees half).
func WritePublic(dir string, cert *Certificate, key ed25519.PublicKey) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("public folder: %w", err)
	}
	var certPEM bytes.Buffer
	for _, der := range cert.Pair.Certificate {
		_ = pem.Encode(&certPEM, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	if err := writePublicFile(filepath.Join(dir, PublicCert), certPEM.Bytes()); err != nil {
		return err
	}
	return writePublicFile(filepath.Join(dir, PublicKeyFile), []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
}

func writePublicFile(path string, data []byte) error {
	if err := registry.WriteFileAtomic(path, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// FetchPinnedCertificate connects to the Registry at base (https://HOST:PORT)
// and answers its certificate as PEM if its SHA-256 is fingerprint (as
// Fingerprint writes it; case is ignored). The certificate is trusted by
// its pin alone, as SSH trusts a host key: the caller keeps the PEM and
// verifies every later connection against it the usual way.
func FetchPinnedCertificate(ctx context.Context, base, fingerprint string) ([]byte, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an https:// address", base)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	d := tls.Dialer{Config: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}} // checked by the pin below
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("the Registry at %s: %w", base, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("the Registry at %s showed no certificate", base)
	}
	if got := Fingerprint(certs[0].Raw); !strings.EqualFold(got, fingerprint) {
		return nil, fmt.Errorf("the Registry at %s shows a certificate with SHA-256 %s, not the pinned %s", base, got, fingerprint)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}), nil
}

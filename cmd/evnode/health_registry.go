package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/evcharging/evsim/actors/registry/httpapi"
)

// registryCertFile is the certificate `evnode health registry` trusts: the
// role's --tls-cert, else the self-signed one in its data dir.
func (c *healthConfig) registryCertFile() string {
	if c.TLS.Cert != "" {
		return c.TLS.Cert
	}
	return filepath.Join(c.DataDir, httpapi.SelfSignedCert)
}

// checkRegistry asks the Registry's /healthz over HTTPS, trusting exactly
// the certificate in its file (whatever names it carries: the check dials
// the listen address, which a certificate need not name).
func checkRegistry(ctx context.Context, c *healthConfig) (string, error) {
	certFile := c.registryCertFile()
	raw, err := os.ReadFile(certFile)
	if err != nil {
		return "", fmt.Errorf("cannot read the Registry's certificate: %w", err)
	}
	var trusted [][]byte
	for rest := raw; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		trusted = append(trusted, block.Bytes)
	}
	if len(trusted) == 0 {
		return "", fmt.Errorf("%s holds no PEM certificate", certFile)
	}
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// Verified below: the server's leaf must be a certificate of the file.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(rawCerts [][]byte, _ [][]*x509.Certificate) error {
			for _, t := range trusted {
				if len(rawCerts) > 0 && bytes.Equal(rawCerts[0], t) {
					return nil
				}
			}
			return errors.New("the server's certificate is not the one in " + certFile)
		},
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	addr := localAddr(c.Listen)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/healthz", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET https://%s/healthz: %w", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET https://%s/healthz: %s %s", addr, resp.Status, bytes.TrimSpace(body))
	}
	return "https://" + addr + "/healthz answered 200 with the certificate of " + certFile, nil
}

package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/logging"
	"github.com/evcharging/evsim/internal/pki"
)

// runCerts is `evnode certs`: the one-shot step of the secured deployment
// (deploy/compose.secure.yaml) that writes, into --out, a CA made now
// (ca.crt; its key is never written), a certificate and key per service and
// Kafka's PEM keystore. Idempotent: when every file is there it changes
// nothing, so a restarted deployment keeps its certificates; when one is
// missing (a service added) it makes all of them again under a new CA.
func runCerts(args []string, getenv func(string) (string, bool), stderr io.Writer) int {
	c, err := config.ParseCerts(args, getenv)
	if err != nil {
		return usageExit("certs", err, stderr)
	}
	logger, err := newPlainLogger(c.Log, stderr)
	if err != nil {
		return usageExit("certs", err, stderr)
	}
	log := logging.Component(logger, "Certs")
	files := certFiles(c)
	if allExist(files) {
		log.Infof("Certificates for %d services already in %s: kept", len(c.Services), c.Out)
		return 0
	}
	if err := writeCerts(c); err != nil {
		log.Errorf("Cannot write the certificates: %v", err)
		return 1
	}
	log.Infof("Wrote a new CA and certificates for %d services (%v) to %s", len(c.Services), c.Services, c.Out)
	return 0
}

// certFiles lists every file runCerts writes.
func certFiles(c *config.Certs) []string {
	files := []string{filepath.Join(c.Out, "ca.crt")}
	for _, s := range c.Services {
		files = append(files, filepath.Join(c.Out, s+".crt"), filepath.Join(c.Out, s+".key"))
	}
	if c.Keystore != "" {
		files = append(files, filepath.Join(c.Out, c.Keystore+".pem"))
	}
	return files
}

func allExist(files []string) bool {
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			return false
		}
	}
	return true
}

// writeCerts makes the CA and every pair. ca.crt is written last, so that
// a step stopped half-way is redone in full at its next run.
func writeCerts(c *config.Certs) error {
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return err
	}
	os.Remove(filepath.Join(c.Out, "ca.crt"))
	ca, err := pki.NewCA("evsim deployment CA")
	if err != nil {
		return err
	}
	for _, s := range c.Services {
		hosts := append([]string{s, "localhost", "127.0.0.1"}, c.Hosts...)
		pair, err := ca.Issue("evsim "+s, hosts...)
		if err != nil {
			return err
		}
		f, err := pair.WriteFiles(c.Out, s)
		if err != nil {
			return err
		}
		if err := chownAll(c.Owner, f.Cert, f.Key); err != nil {
			return err
		}
		if s != c.Keystore {
			continue
		}
		keystore := filepath.Join(c.Out, s+".pem")
		if err := os.WriteFile(keystore, append(append([]byte{}, pair.KeyPEM...), pair.CertPEM...), 0o600); err != nil {
			return err
		}
		if err := chownAll(c.KeystoreOwner, keystore); err != nil {
			return err
		}
	}
	_, err = ca.WriteFile(c.Out, "ca")
	return err
}

func chownAll(o config.Owner, paths ...string) error {
	if !o.Set {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, o.UID, o.GID); err != nil {
			return fmt.Errorf("give %s to %d:%d (run as root, or leave --owner out): %w", p, o.UID, o.GID, err)
		}
	}
	return nil
}

package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CentralAuth is how `evnode central` authenticates charge points.
type CentralAuth struct {
	// Auth is open (the lab's mode: secrets; default) or registry (the
	// Registry's tokens, read from the registry topic; nothing else accepted).
	Auth string
	// RegistryKey pins the Registry's public key (base64, as GET /v1/keys
	// shows it); nil = trust the key on the registry topic.
	RegistryKey ed25519.PublicKey
	// RegistryKeyFile pins the key written by `evnode registry
	// --public-dir` (read at start; Central waits for it to appear).
	RegistryKeyFile string
	// AuditLog is Central's audit log file.
	AuditLog string
	// RegistryGrace is how long after start an unknown charge point is
	// told "waiting" (Central may still be reading the registry topic).
	RegistryGrace time.Duration

	registryKey string
}

func addCentralAuthFlags(fs *FlagSet, a *CentralAuth) {
	fs.String(&a.Auth, "auth", "", AuthOpen, "how charge points authenticate: open (the lab's mode: secrets) or registry (only the Registry's tokens, checked offline against the registry topic)")
	fs.String(&a.registryKey, "registry-key", "", "", "with --auth registry: pin the Registry's public key (base64, from GET /v1/keys); empty = trust the key on the registry topic")
	fs.String(&a.RegistryKeyFile, "registry-key-file", "", "", "with --auth registry: pin the Registry's public key from this file (registry-key.pub, as `evnode registry --public-dir` writes it); Central waits for it at start")
	fs.Duration(&a.RegistryGrace, "registry-grace", "", 10*time.Second, "with --auth registry: after start, how long a charge point Central has no Registry record of yet is told to wait, not refused; with --shared-group in the open mode, the longest a charge point unknown to the group waits while Central reads central.chargepoints")
	fs.String(&a.AuditLog, "audit-log", "", "", "Central's tamper-evident audit log (operator actions, refused and accepted registrations); empty = beside --db (central-audit.log), none with --db :memory:")
}

func (a *CentralAuth) finish(db string) error {
	if a.Auth != AuthOpen && a.Auth != AuthRegistry {
		return Usagef("auth", "%q is not open or registry", a.Auth)
	}
	if a.RegistryGrace <= 0 {
		return Usagef("registry-grace", "must be more than 0")
	}
	if a.AuditLog == "" && db != ":memory:" {
		a.AuditLog = strings.TrimSuffix(db, filepath.Ext(db)) + "-audit.log"
	}
	if a.registryKey != "" {
		k, err := base64.StdEncoding.DecodeString(a.registryKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return Usagef("registry-key", "want the 32-byte Ed25519 public key in base64 (GET /v1/keys)")
		}
		a.RegistryKey = k
	}
	if a.registryKey != "" && a.RegistryKeyFile != "" {
		return Usagef("registry-key-file", "give --registry-key or --registry-key-file, not both")
	}
	return nil
}

// ParseRegistryKey reads a public key as GET /v1/keys shows it (base64 of
// the 32-byte Ed25519 key), surrounding space ignored.
func ParseRegistryKey(text string) (ed25519.PublicKey, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, errors.New("want the 32-byte Ed25519 public key in base64 (GET /v1/keys)")
	}
	return k, nil
}

// MonitorRegistry is where `evnode monitor` gets its charge point's tokens.
type MonitorRegistry struct {
	// URL is the Registry's https:// address; empty = no tokens (open mode).
	URL string
	// CA is the certificate to trust for it (e.g. its registry.crt); empty = the system's.
	CA string
	// Credential is the charge point's credential from its registration.
	Credential string
	// CredentialFile holds the credential (as `evnode enrol` writes it);
	// read again at every token request, so a file written later counts.
	CredentialFile string
}

func addMonitorRegistryFlags(fs *FlagSet, m *MonitorRegistry) {
	fs.String(&m.URL, "registry", "", "", "the Registry's https://HOST:PORT: the monitor exchanges --credential for a token and presents it to Central; empty = --secret (open mode)")
	fs.String(&m.CA, "registry-ca", "", "", "certificate to trust for --registry (its registry.crt); empty = the system's roots")
	fs.String(&m.Credential, "credential", "", "", "the charge point's credential from its registration in the Registry")
	fs.String(&m.CredentialFile, "credential-file", "", "", "a file holding the credential (as `evnode enrol` writes it), read at every token request; instead of --credential")
}

// ReadCredential answers --credential, or reads --credential-file.
func (m *MonitorRegistry) ReadCredential() (string, error) {
	if m.CredentialFile == "" {
		return m.Credential, nil
	}
	b, err := os.ReadFile(m.CredentialFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("no credential file %s yet (not enrolled: see `evnode enrol`)", m.CredentialFile)
	case err != nil:
		return "", fmt.Errorf("cannot read the credential file: %w", err)
	}
	credential := strings.TrimSpace(string(b))
	if credential == "" {
		return "", fmt.Errorf("the credential file %s is empty", m.CredentialFile)
	}
	return credential, nil
}

func (m *MonitorRegistry) finish() error {
	if m.URL == "" {
		return nil
	}
	u, err := url.Parse(m.URL)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "":
		return Usagef("registry", "%q: want https://HOST:PORT", m.URL)
	case m.Credential == "" && m.CredentialFile == "":
		return Usagef("credential", "is required with --registry (or --credential-file)")
	case m.Credential != "" && m.CredentialFile != "":
		return Usagef("credential-file", "give --credential or --credential-file, not both")
	}
	return nil
}

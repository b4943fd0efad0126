package config

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// NodeTLS is a node's TLS identity for its actor remote (gRPC): the
// certificate it presents to peers, and the authorities it trusts for
// theirs. TLS is on when Cert and Key are given; then every node of the
// network must have one, since peers dial each other both ways.
type NodeTLS struct {
	// Cert and Key are this node's certificate and key (PEM files).
	Cert, Key string
	// CA is the authorities trusted for peers' certificates (a PEM file);
	// empty = the system's roots.
	CA string
	// ClientAuth requires a peer that dials this node to present a
	// certificate signed by CA (mutual TLS).
	ClientAuth bool

	pair  tls.Certificate
	roots *x509.CertPool
}

// AddNodeTLSFlags registers --tls-cert, --tls-key, --tls-ca and --tls-client-auth.
func AddNodeTLSFlags(fs *FlagSet, t *NodeTLS, what string) {
	fs.String(&t.Cert, "tls-cert", "", "", "this node's TLS certificate (PEM) for "+what+"; with --tls-key turns TLS on")
	fs.String(&t.Key, "tls-key", "", "", "the key of --tls-cert (PEM)")
	fs.String(&t.CA, "tls-ca", "", "", "authorities (PEM) trusted for peers' certificates; empty = the system's roots")
	fs.Bool(&t.ClientAuth, "tls-client-auth", "", false, "mutual TLS: require peers that connect to present a certificate signed by --tls-ca")
}

// Enabled reports whether the node speaks TLS.
func (t *NodeTLS) Enabled() bool { return t.Cert != "" }

// Finish loads the files; a problem is a usage error naming the flag.
func (t *NodeTLS) Finish() error {
	switch {
	case t.Cert == "" && t.Key != "":
		return Usagef("tls-cert", "is required with --tls-key")
	case t.Cert != "" && t.Key == "":
		return Usagef("tls-key", "is required with --tls-cert")
	case t.Cert == "" && (t.CA != "" || t.ClientAuth):
		return Usagef("tls-cert", "is required with --tls-ca and --tls-client-auth (a node in a TLS network needs its own certificate)")
	case t.ClientAuth && t.CA == "":
		return Usagef("tls-ca", "is required with --tls-client-auth (the authorities that sign peers' certificates)")
	case t.Cert == "":
		return nil
	}
	pair, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return Usagef("tls-cert", "cannot load the pair %s, %s: %v", t.Cert, t.Key, err)
	}
	t.pair = pair
	if t.CA != "" {
		if t.roots, err = loadPool("tls-ca", t.CA); err != nil {
			return err
		}
	}
	return nil
}

// ServerConfig is the TLS of the node's listener; nil when TLS is off.
func (t *NodeTLS) ServerConfig() *tls.Config {
	if !t.Enabled() {
		return nil
	}
	c := &tls.Config{Certificates: []tls.Certificate{t.pair}, MinVersion: tls.VersionTLS12}
	if t.ClientAuth {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = t.roots
	}
	return c
}

// ClientConfig is the TLS of the node's connections to peers; nil when TLS
// is off. It presents the node's certificate (for peers that require one).
func (t *NodeTLS) ClientConfig() *tls.Config {
	if !t.Enabled() {
		return nil
	}
	pair := t.pair
	return &tls.Config{
		// Always present it, also to a peer whose authorities did not sign
		// it (Go would send none): the peer can then say why it refuses.
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil },
		RootCAs:              t.roots, MinVersion: tls.VersionTLS12,
	}
}

// loadPool reads a PEM file of certificates into a pool.
func loadPool(flagName, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, Usagef(flagName, "%v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, Usagef(flagName, "%s holds no PEM certificate", path)
	}
	return pool, nil
}

// readSecret reads a secret from a file, without its trailing line break.
func readSecret(flagName, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", Usagef(flagName, "%v", err)
	}
	s := string(b)
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	if s == "" {
		return "", Usagef(flagName, "%s is empty", path)
	}
	return s, nil
}

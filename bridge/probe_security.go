package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// securityCause says in an operator's words why TLS or SASL failed, and
// whether that is for good; "" when err is not about TLS or SASL.
func securityCause(err error, tlsOn bool, sc *sarama.Config) (cause string, permanent bool) {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		header   tls.RecordHeaderError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("TLS failure: the broker's certificate is not trusted (%s); give the authority that signed it with --kafka-tls-ca",
			unknownAuthority(unknown)), true
	case errors.As(err, &hostname):
		return fmt.Sprintf("TLS failure: the broker's certificate is not valid for %q (it is for %s); dial a name it is for, or set --kafka-tls-server-name",
			hostname.Host, certNames(hostname.Certificate)), true
	case errors.As(err, &invalid):
		return fmt.Sprintf("TLS failure: the broker's certificate is not valid: %v", invalid), true
	case errors.As(err, &verify):
		return fmt.Sprintf("TLS failure: the broker's certificate does not verify: %v", verify.Err), true
	case errors.As(err, &op) && op.Op == "remote error" && tlsOn:
		return fmt.Sprintf("TLS failure: the broker refused the TLS handshake (%v); it may want a client certificate it trusts (--kafka-tls-cert, --kafka-tls-key)", op.Err), true
	case errors.As(err, &header) && tlsOn:
		// A plaintext listener: not for good, a listener may be changing.
		return "TLS failure: evsim connects to Kafka with TLS, and the port does not speak TLS", false
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed):
		return saslRefused(sc), true
	case errors.Is(err, sarama.ErrUnsupportedSASLMechanism):
		return fmt.Sprintf("authentication failed: the broker does not offer SASL %s (--kafka-sasl-mechanism)", sc.Net.SASL.Mechanism), true
	case errors.Is(err, sarama.ErrIllegalSASLState) && sc.Net.SASL.Enable:
		return fmt.Sprintf("authentication failed: the broker ended SASL %s for user %q (wrong password?)", sc.Net.SASL.Mechanism, sc.Net.SASL.User), true
	}
	return "", false
}

func unknownAuthority(e x509.UnknownAuthorityError) string {
	if e.Cert == nil {
		return "signed by an unknown authority"
	}
	issuer := e.Cert.Issuer.CommonName
	if issuer == "" {
		issuer = e.Cert.Issuer.String()
	}
	return fmt.Sprintf("signed by %q, an authority evsim does not trust", issuer)
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "other names"
	}
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 && c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	if len(names) == 0 {
		return "no name"
	}
	return strings.Join(names, ", ")
}

// isSecurityFailure reports whether any broker refused the probe on TLS or
// SASL for good: the bootstrap brokers of one cluster share its CA and users,
// so one such refusal is the answer of all.
func isSecurityFailure(err error) bool {
	var f probeFailure
	if !errors.As(err, &f) {
		return false
	}
	for _, e := range f {
		if e.permanent {
			return true
		}
	}
	return false
}

// saslRefused is the cause of a refused SASL user.
func saslRefused(sc *sarama.Config) string {
	return fmt.Sprintf("authentication failed: the broker refused SASL %s for user %q (wrong password or unknown user; check --kafka-sasl-user and --kafka-sasl-password or --kafka-sasl-password-file)",
		sc.Net.SASL.Mechanism, sc.Net.SASL.User)
}

// handshake makes the client side of a TLS handshake on c, bounded by
// timeout, checking the name of addr unless cfg names another.
func handshake(c net.Conn, cfg *tls.Config, addr string, timeout time.Duration) (net.Conn, error) {
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(c, cfg)
	_ = tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		_ = c.Close()
		return nil, err
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

// frameCounter counts the Kafka responses that came whole, from the bytes
// read: each is a 4-byte size and that many bytes. It stops counting at a
// size no Kafka would send.
type frameCounter struct {
	size    [4]byte
	have    int // bytes of size read
	left    int // bytes of the current response still to come
	count   int
	garbage bool
}

func (f *frameCounter) add(b []byte) {
	for len(b) > 0 && !f.garbage {
		if f.left > 0 {
			k := min(f.left, len(b))
			f.left, b = f.left-k, b[k:]
			if f.left == 0 {
				f.count++
			}
			continue
		}
		k := copy(f.size[f.have:], b)
		f.have, b = f.have+k, b[k:]
		if f.have == 4 {
			f.have = 0
			f.left = int(int32(binary.BigEndian.Uint32(f.size[:])))
			f.garbage = f.left <= 0 || f.left >= 100<<20
		}
	}
}

// responses is how many whole Kafka responses the probe read.
func (p *probeConn) responses() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames.count
}

package bridge

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
)

// probeError is a failed probe of one broker, with its cause in an
// operator's words ("connection refused (nothing listens on that port)");
// Unwrap gives the error that sarama or the network gave.
type probeError struct {
	addr  string
	cause string
	err   error
	// permanent: refused on TLS or SASL in a way that waiting cannot mend
	// (an untrusted certificate, a wrong password); see securityCause.
	permanent bool
}

func (e *probeError) Error() string { return e.addr + ": " + e.cause }
func (e *probeError) Unwrap() error { return e.err }

// probeFailure is a failed probe of every bootstrap broker.
type probeFailure []*probeError

func (f probeFailure) Error() string {
	parts := make([]string, len(f))
	for i, e := range f {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.Is and errors.As see each broker's error.
func (f probeFailure) Unwrap() []error {
	out := make([]error, len(f))
	for i, e := range f {
		out[i] = e
	}
	return out
}

// detail is what sarama and the network said, for the DEBUG line.
func (f probeFailure) detail() string {
	parts := make([]string, len(f))
	for i, e := range f {
		parts[i] = fmt.Sprintf("%s: %v", e.addr, e.err)
	}
	return strings.Join(parts, "; ")
}

// probeCause says why a probe failed, for the gate's lines: the cause alone
// when there is one broker (the address is in the line already), else each
// broker's.
func probeCause(err error) string {
	var f probeFailure
	if errors.As(err, &f) && len(f) == 1 {
		return f[0].cause
	}
	return err.Error()
}

// probeDetail is the raw error behind a probe's cause, for DEBUG.
func probeDetail(err error) string {
	var f probeFailure
	if errors.As(err, &f) {
		return f.detail()
	}
	return err.Error()
}

// probeConn is the probe's connection as sarama dials it (as its "proxy"),
// so that a failed probe can tell what was at the other end: whether the
// connection was made, and the first bytes that came back.
type probeConn struct {
	dialTimeout time.Duration
	// speaksTLS, when set, asks the peer for a TLS handshake on a new
	// connection: for a port that closed on the Kafka request.
	speaksTLS func() bool
	// tls, when set, is the TLS the probe speaks: Dial makes the handshake,
	// so that what is sniffed is Kafka's bytes, not TLS records.
	tls *tls.Config

	mu      sync.Mutex
	dialErr error
	conn    net.Conn
	first   []byte        // up to firstBytes of what the peer sent
	spoke   chan struct{} // closed when the first bytes came
	frames  frameCounter  // Kafka responses that came whole
}

func newProbeConn(dialTimeout time.Duration) *probeConn {
	return &probeConn{dialTimeout: dialTimeout, spoke: make(chan struct{})}
}

const firstBytes = 16

// Dial implements sarama's proxy dialer.
func (p *probeConn) Dial(network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: p.dialTimeout}).Dial(network, addr)
	if err == nil && p.tls != nil {
		c, err = handshake(c, p.tls, addr, p.dialTimeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.dialErr = err
		return nil, err
	}
	p.conn = c
	return &sniffedConn{Conn: c, p: p}, nil
}

// sniffedConn keeps the first bytes the peer sends.
type sniffedConn struct {
	net.Conn
	p *probeConn
}

func (c *sniffedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.p.mu.Lock()
		if len(c.p.first) == 0 {
			close(c.p.spoke)
		}
		if room := firstBytes - len(c.p.first); room > 0 {
			c.p.first = append(c.p.first, b[:min(n, room)]...)
		}
		c.p.frames.add(b[:n])
		c.p.mu.Unlock()
	}
	return n, err
}

// seen reports whether a connection was made and what came back first.
func (p *probeConn) seen() (connected bool, dialErr error, first []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn != nil, p.dialErr, append([]byte(nil), p.first...)
}

// nudge is for a port that took the Kafka request and stayed silent: many
// servers read a line before they answer, so an end of line makes an HTTP
// server answer "HTTP/1.1 400". The probe has failed by then; the
// connection is thrown away after.
func (p *probeConn) nudge(wait time.Duration) {
	p.mu.Lock()
	c, answered := p.conn, len(p.first) > 0
	p.mu.Unlock()
	if c == nil || answered {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("\r\n\r\n")); err != nil {
		return
	}
	// sarama's reader still waits on this connection: it reads what comes.
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.spoke:
	case <-t.C:
	}
}

// cause says in an operator's words why a probe failed. timedOut is set
// when the probe's own time ran out.
func (p *probeConn) cause(err error, timedOut bool, limit time.Duration) string {
	connected, dialErr, first := p.seen()
	if dialErr != nil {
		return dialCause(dialErr)
	}
	switch {
	case isHTTP(first):
		return "not a Kafka broker: an HTTP server answers on that port"
	case len(first) >= 2 && (first[0] == 0x15 || first[0] == 0x16) && first[1] == 0x03:
		return "TLS failure: the port speaks TLS, and evsim connects to Kafka without TLS (see --kafka-tls)"
	case errors.Is(err, ErrNoBroker):
		return "Kafka answers but names no broker yet (still starting?)"
	case isAuthError(err):
		return fmt.Sprintf("authentication or authorization failed: %v", err)
	case len(first) > 0 && !looksLikeKafka(first) && isText(first):
		return fmt.Sprintf("not a Kafka broker: it answers %q", first)
	case len(first) > 0 && !looksLikeKafka(first):
		return "not a Kafka broker: what answers on that port does not speak Kafka"
	case timedOut && !connected:
		return fmt.Sprintf("timed out: no connection within %v (a firewall, or a host that is down?)", limit)
	case timedOut && len(first) == 0:
		return fmt.Sprintf("timed out: the port accepts connections but sends no Kafka answer within %v", limit)
	case timedOut:
		return fmt.Sprintf("timed out: Kafka answered, but not all within %v", limit)
	case len(first) == 0 && isClosed(err) && p.speaksTLS != nil && p.speaksTLS():
		return "TLS failure: the port speaks TLS, and evsim connects to Kafka without TLS (see --kafka-tls)"
	case len(first) == 0 && isClosed(err):
		return "the connection was closed without an answer (not Kafka, or a listener that wants TLS or SASL authentication: see --kafka-tls, --kafka-sasl-mechanism)"
	case isClosed(err):
		return "Kafka closed the connection after its first answer (a listener that wants SASL authentication? see --kafka-sasl-mechanism)"
	}
	var pde sarama.PacketDecodingError
	if errors.As(err, &pde) {
		return "not a Kafka broker: its answer does not decode as Kafka"
	}
	return err.Error()
}

// dialCause says why a connection could not be made.
func dialCause(err error) string {
	var dns *net.DNSError
	var nerr net.Error
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return fmt.Sprintf("DNS name not found: %s", dns.Name)
	case errors.As(err, &dns):
		return fmt.Sprintf("DNS lookup of %s failed: %s", dns.Name, dns.Err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens on that port)"
	case errors.As(err, &nerr) && nerr.Timeout():
		return "timed out: no connection (a firewall, or a host that is down?)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	}
	return fmt.Sprintf("cannot connect: %v", err)
}

// looksLikeKafka: a Kafka response starts with its size (positive, and far
// below sarama's limit of 100 MiB) and then the correlation id of the request.
func looksLikeKafka(first []byte) bool {
	if len(first) < 4 {
		return true // too little to tell
	}
	size := int32(binary.BigEndian.Uint32(first))
	return size > 0 && size < 100<<20
}

// isHTTP: a status line, or the HTML page of a server that answers a
// request it cannot parse without one (Python's http.server does).
func isHTTP(first []byte) bool {
	lower := bytes.ToLower(first)
	return bytes.HasPrefix(first, []byte("HTTP/")) ||
		bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html"))
}

// isText: printable ASCII, worth quoting in a log line (e.g. an SSH banner).
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func isAuthError(err error) bool {
	for _, k := range []sarama.KError{
		sarama.ErrSASLAuthenticationFailed, sarama.ErrIllegalSASLState, sarama.ErrUnsupportedSASLMechanism,
		sarama.ErrClusterAuthorizationFailed, sarama.ErrTopicAuthorizationFailed,
	} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// speaksTLS reports whether addr completes (or refuses in TLS's own terms) a
// TLS handshake within timeout. It is a diagnosis only: the certificate is
// not checked because nothing is sent over the connection.
func speaksTLS(addr string, timeout time.Duration) bool {
	d := &net.Dialer{Timeout: timeout}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // diagnosis, no data
	if err == nil {
		_ = c.Close()
		return true
	}
	var alert tls.AlertError
	return errors.As(err, &alert)
}

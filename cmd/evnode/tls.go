package main

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/evcharging/evsim/internal/config"
)

// remoteTLSOptions are protoactor remote's gRPC options for the node's TLS
// identity (--tls-cert, --tls-key, --tls-ca, --tls-client-auth); none when
// TLS is off. Failed handshakes are said once per peer and cause, at WARN:
// protoactor's own line about them goes to DEBUG with the rest of its logs.
func remoteTLSOptions(t *config.NodeTLS, log *logrus.Entry) []remote.ConfigOption {
	dial, serve := remoteTLSCredentials(t, log)
	if dial == nil {
		return nil
	}
	return []remote.ConfigOption{remote.WithServerOptions(serve), remote.WithDialOptions(dial)}
}

// remoteTLSCredentials are the gRPC options of remoteTLSOptions; nil when
// TLS is off.
func remoteTLSCredentials(t *config.NodeTLS, log *logrus.Entry) (grpc.DialOption, grpc.ServerOption) {
	if !t.Enabled() {
		return nil, nil
	}
	said := &onceEach{}
	server := &toldCredentials{TransportCredentials: credentials.NewTLS(t.ServerConfig()), log: log, said: said}
	client := &toldCredentials{TransportCredentials: credentials.NewTLS(t.ClientConfig()), log: log, said: said}
	return grpc.WithTransportCredentials(client), grpc.Creds(server)
}

// remoteTLSNote is what the "listening" line adds about TLS.
func remoteTLSNote(t *config.NodeTLS) string {
	switch {
	case t.ClientAuth:
		return " (mutual TLS: peers must present a certificate signed by " + t.CA + ")"
	case t.Enabled():
		return " (TLS)"
	}
	return ""
}

// toldCredentials are TLS credentials that say why a handshake failed.
type toldCredentials struct {
	credentials.TransportCredentials
	log  *logrus.Entry
	said *onceEach
}

func (c *toldCredentials) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		if ctx.Err() == nil && c.said.first("dial "+authority+" "+err.Error()) {
			c.log.WithField("peer", authority).Warnf("TLS handshake with %s failed: %v (check --tls-ca and the peer's certificate)", authority, err)
		}
		return conn, info, err
	}
	// With TLS 1.3 a peer refuses this node's certificate after the
	// handshake, in the first record it sends: say that too.
	return &refusalConn{Conn: conn, refused: func(err error) {
		if c.said.first("refused by " + authority + " " + err.Error()) {
			c.log.WithField("peer", authority).Warnf("%s refused this node's TLS certificate: %v (check --tls-cert and who signed it)", authority, err)
		}
	}}, info, nil
}

// refusalConn reports a TLS alert from the peer on reading.
type refusalConn struct {
	net.Conn
	refused func(error)
}

func (c *refusalConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	var op *net.OpError
	if err != nil && errors.As(err, &op) && op.Op == "remote error" {
		c.refused(err)
	}
	return n, err
}

func (c *toldCredentials) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		host, _, _ := net.SplitHostPort(raw.RemoteAddr().String())
		if c.said.first("accept " + host + " " + err.Error()) {
			c.log.WithField("peer", host).Warnf("Refused a TLS connection from %s: %v", host, err)
		}
	}
	return conn, info, err
}

func (c *toldCredentials) Clone() credentials.TransportCredentials {
	return &toldCredentials{TransportCredentials: c.TransportCredentials.Clone(), log: c.log, said: c.said}
}

// onceEach remembers what was said, so that each thing is said once: gRPC
// retries a failing handshake every few seconds.
type onceEach struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (o *onceEach) first(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if o.seen[key] || len(o.seen) > 1000 {
		return false
	}
	o.seen[key] = true
	return true
}

// brokerSecurityFields say what evnode broker requires of its clients, for
// its "listening" line (never the password).
func brokerSecurityFields(c *brokerConfig) logrus.Fields {
	f := logrus.Fields{}
	if c.TLS.Enabled() {
		f["tls"] = "required"
		if c.TLS.ClientAuth {
			f["tls"] = "required, with a client certificate"
		}
	}
	if m := c.SASL.Bridge.SASL; m.Mechanism != "" {
		f["sasl"] = m.String()
	}
	return f
}

package main

import (
	"crypto/tls"
	"fmt"
	"net"

	"github.com/evcharging/evsim/bridge"
	"github.com/evcharging/evsim/internal/config"
	"github.com/evcharging/evsim/internal/pki"
)

// embeddedSecurity is what the embedded broker requires and how evsim's
// bridge meets it: TLS with a certificate of a CA made for this run (when
// --embedded-broker-tls), and the --kafka-sasl-* user as the broker's one
// user. With --brokers it only says how to reach that broker.
func embeddedSecurity(cfg *config.Sim) (broker bridge.EmbeddedOptions, client bridge.Security, err error) {
	client = cfg.Kafka.Security.Bridge
	if len(cfg.Kafka.Brokers) > 0 {
		return broker, client, nil
	}
	broker.SASL = client.SASL
	if !cfg.EmbeddedTLS {
		return broker, client, nil
	}
	ca, err := pki.NewCA("evsim embedded broker CA")
	if err != nil {
		return broker, client, err
	}
	host, _, _ := net.SplitHostPort(cfg.EmbeddedBroker)
	pair, err := ca.Issue("evsim embedded broker", host, "127.0.0.1", "localhost")
	if err != nil {
		return broker, client, err
	}
	cert, err := pair.TLS()
	if err != nil {
		return broker, client, fmt.Errorf("load the embedded broker's certificate: %w", err)
	}
	broker.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if client.TLS == nil {
		client.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if client.TLS.RootCAs == nil {
		// Trust the run's CA, unless the user named the authorities to trust.
		client.TLS = client.TLS.Clone()
		client.TLS.RootCAs = ca.Pool()
	}
	return broker, client, nil
}

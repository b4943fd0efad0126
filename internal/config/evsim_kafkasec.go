package config

// The embedded broker of evsim can require what a secured Kafka requires,
// so that the secured mode can be tried without Apache Kafka: TLS with
// --embedded-broker-tls, and SASL with the --kafka-sasl-* user, which is
// then the broker's one user as well as the bridge's.

func addEmbeddedSecurityFlags(fs *FlagSet, c *Sim) {
	fs.Bool(&c.EmbeddedTLS, "embedded-broker-tls", "", false,
		"the embedded broker speaks TLS only, with a certificate from a CA made for this run (trusted by evsim unless --kafka-tls-ca); with --kafka-sasl-* it also requires that user")
}

func (c *Sim) validateEmbeddedSecurity() error {
	if c.EmbeddedTLS && len(c.Kafka.Brokers) > 0 {
		return Usagef("embedded-broker-tls", "is for the embedded broker; with --brokers, use --kafka-tls and --kafka-tls-ca")
	}
	return nil
}

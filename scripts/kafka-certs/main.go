// Command kafka-certs writes what the integration suite's Apache Kafka needs
// for its SASL_SSL listener (scripts/kafka.sh): a CA made now (ca.crt, for
// clients to trust) and the broker's key and certificate in one PEM file
// (broker.pem, Kafka's PEM keystore) for 127.0.0.1 and localhost.
//
//	go run ./scripts/kafka-certs DIR
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/evcharging/evsim/internal/pki"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/kafka-certs DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "kafka-certs: %v\n", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ca, err := pki.NewCA("evsim integration CA")
	if err != nil {
		return err
	}
	pair, err := ca.Issue("evsim integration Kafka", "127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	if _, err := ca.WriteFile(dir, "ca"); err != nil {
		return err
	}
	keystore := append(append([]byte{}, pair.KeyPEM...), pair.CertPEM...)
	return os.WriteFile(filepath.Join(dir, "broker.pem"), keystore, 0o600)
}

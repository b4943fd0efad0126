// Package deploy is the container deployment of evsim, kept as files beside
// this package and checked by its tests, since no Docker engine runs where
// evsim is built and tested:
//
//   - Dockerfile: one multi-stage build of both binaries (evsim, evnode) into a
//     small image that runs as a non-root user, with /data for Central's
//     database and the drivers' request files in /etc/evsim/requests.
//   - compose.yaml: Apache Kafka 3.7 (KRaft) with a health check that asks
//     Kafka itself, the Registry (HTTPS) and a one-shot enrol step that
//     hands each monitor its credential, Central (verifying the Registry's
//     tokens), five charge points (an engine and a monitor each) and three
//     drivers; every address, port and id comes from the environment
//     (env.example lists them all).
//   - compose.secure.yaml: the secured variant, on top of compose.yaml
//     (make up-secure): Kafka SASL_SSL only with SCRAM-SHA-512
//     (kafka-secure.sh makes the user before Kafka's start), TLS + SCRAM
//     for every Kafka client, mutual TLS on the actor remote, and a one-shot
//     certs step (evnode certs) writing the CA and every service's pair.
//   - compose.scale.yaml: three Centrals of one shared Kafka group, on top of
//     compose.yaml with --scale central=3 (make up-scale): each advertises its
//     own host name and keeps its own database; one master key for all.
//   - requests/: one charge point id per line, per driver.
//
// The tests validate compose.yaml with docker-compose (when installed; in CI
// it must be), then read it themselves and check the service graph: health
// checks, start-up conditions, restart policies, one engine and one monitor
// per charge point wired to each other and to Central, the Registry's
// volumes, enrolment and keys wired to Central and the monitors, unique published
// ports, nothing hard-coded where the environment should decide. They also
// check the Dockerfile statically.
//
// The package has no Go API: doc.go exists so that `go test ./deploy/...`
// has a package to run.
package deploy

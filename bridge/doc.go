// Package bridge is the one door of a process to Kafka: a bridge actor that
// owns the sarama clients, waits for the broker at start-up, creates the
// topics, publishes and consumes protobuf envelopes for the role actors, and
// rides out broker outages. It also holds the embedded broker (kfake).
//
// # Starting a bridge
//
//	cfg := bridge.Config{Brokers: brokers, WaitAttempts: 30, WaitInterval: 2 * time.Second}
//	pid, err := bridge.Start(system, cfg, logger, run) // or system.Root.Spawn(bridge.Props(...))
//	if err := bridge.AwaitReady(ctx, system, pid); err != nil { /* exit 1 */ }
//
// The bridge starts in StateWaiting and probes the broker with a real Kafka
// request (metadata that names at least one broker; an open TCP port is not
// enough). It logs, under the component "Bridge":
//
//	Waiting for Kafka at HOST:PORT to be ready (max attempts N, interval Ss)   once
//	Still waiting for Kafka (attempt n/N): CAUSE                                every 5th attempt
//	Kafka at HOST:PORT is ready                                                 once
//	Kafka at HOST:PORT did not become available after N attempts Ss apart:
//	CAUSE. To wait longer, raise --kafka-wait-attempts (...)                    ERROR, once
//
// CAUSE is why the last probe failed, in an operator's words: connection
// refused, DNS name not found, timed out (no connection, or a port that
// accepts and never answers), not a Kafka broker (e.g. an HTTP server), a
// TLS failure, a connection closed without an answer, an authentication
// failure, or a Kafka that names no broker yet.
//
// After the last failed attempt it reports StateFailed to its watchers and
// stays there: the process's main exits 1. WaitAttempts 0 waits forever.
// When the broker answers, the bridge creates Config.Topics (idempotently,
// Config.Partitions each, with retention so the broker's memory stays
// bounded), then reports StateReady. WaitForKafka is the same gate without an
// actor (evnode wait-kafka).
//
// # Role actors
//
// A role actor sends *WatchState and starts its work on
// StateChanged{State: StateReady} (or its main waits with AwaitReady before
// spawning it). It publishes with *Publish (fire and forget; with Request the
// bridge answers *PublishAccepted, see back-pressure below) and subscribes
// with *Subscribe{Topic, Group, Key, Subscriber}. Each record comes as a
// *Delivery; the subscriber calls Done when it has handled it, best in a
// defer. The bridge consumes each (topic, group) once with a sarama consumer
// group and routes records by key; records for a key of this process that
// has no subscriber right now are held (Config.HoldPerConsumer) and delivered
// when one subscribes, and records for keys no subscriber of the process
// reads (nor ExpectKeys announced) are skipped at once, at DEBUG (a bridge
// actor that restarted holds every key's records for Config.RestartGrace,
// while its subscribers repeat their subscriptions). An
// offset is marked only when every earlier record of its partition is done,
// so after a crash records are delivered again (at least once): handlers are
// idempotent. At most Config.InFlightPerPartition records of a partition are
// out and not done; consumption of that partition waits at the bound.
//
// Publishing is fire and forget. The bridge batches records for a feeder
// goroutine that encodes them (off the actor) and hands them to an idempotent
// sarama async producer (acks=all); stats.Run.KafkaRecordsOut counts what
// Kafka acknowledged, KafkaRecordsIn what was consumed and decoded. *Stats
// answers with a *StatsReply (state, kept, held and in-flight records).
//
// # Outages
//
// A ready bridge probes the broker every Config.HealthInterval; a failed
// probe run (Config.HealthFailures in a row) or a record the producer gave up
// on starts an outage: one WARN line, StateOutage, the producer and consumer
// groups are closed (fresh ones after recovery, so sarama's per-partition
// circuit breaker and stale metadata play no part). Publishes are kept in
// order, telemetry (TopicTelemetry) coalesced to the latest reading per key,
// and records the old producer could not deliver are taken back. When the
// broker answers again the bridge re-creates missing topics, sends what it
// kept (one INFO line) and resumes consuming from the committed offsets.
// The buffer holds Config.BufferRecords records; above that a Publish sent
// with Request gets its *PublishAccepted only once Kafka is back (that is the
// back-pressure), and a fire-and-forget Publish is still kept, never dropped.
//
// # Bad records
//
// A record that does not decode is counted (stats.Run.KafkaRecordsBad),
// logged at WARN with topic, partition and offset (at most one line per
// Config.BadRecordLogEvery, with a count of the ones in between), and
// skipped; consumption goes on.
//
// # Sealing
//
// With Config.Keys (a seal.Keyring), every record of Config.SealedTopics
// (SealedTopics: the traffic between Central and one charge point, keyed by
// its id) is sealed with the current key of its charge point (AES-256-GCM;
// the type, key id, charge point id and topic are authenticated data). A
// Publish for a charge point without a key waits, in order, until the
// keyring installs one (telemetry as its latest reading). A consumed record
// of a sealed topic is delivered only if it is sealed for its record key
// with a key the keyring opens, and its message names the same charge
// point; otherwise it is refused: one WARN (topic, partition, offset,
// cp_id, key_id; then at most one per charge point and BadRecordLogEvery)
// and a *Refused to each WatchRefusals watcher. A record of a charge point
// the keyring never had a key for (another network's, on a shared Kafka)
// is skipped at DEBUG. Roles never see ciphertext.
//
// # Embedded broker
//
// StartEmbedded runs kfake on a HOST:PORT (127.0.0.1:0 picks a free port;
// Embedded.Addr says which), with automatic topic creation, a 1 s minimum
// group session and an optional data directory that survives a restart.
// Any Kafka client (kcat, the Java tools) can attach to it.
//
// # Tests
//
// One conformance suite (conformance_test.go) runs on the embedded broker in
// every `go test`, and on a real Apache Kafka as TestIntegrationConformanceKafka
// when EVSIM_KAFKA_BROKERS names one (scripts/test-integration.sh starts
// Kafka 3.7.2 with scripts/kafka.sh and sets it; EVSIM_KAFKA_CTL is the script
// the suite uses to stop and start that broker). With EVSIM_INTEGRATION=1 a
// missing broker fails the suite instead of skipping it. Slow cases skip
// under -short. BenchmarkPublishThroughput (make bench) compares the
// bridge's publish throughput with a bare sarama producer.
//
// sarama's package-level loggers are globals: main (or a test) routes them
// with logging.RouteSarama, never this package.
package bridge

// Package e2e holds the real-process tests of evnode: the compose topology
// (Central, five engines, five monitors, three drivers) started as separate
// evnode processes on loopback with free ports, against `evnode broker`
// (TestEvnodeTopology) or a real Apache Kafka named by EVSIM_KAFKA_BROKERS
// (TestIntegrationEvnodeTopologyKafka, run by scripts/test-integration.sh).
// The processes are killed with SIGKILL and started again, and the tests
// check what the rules promise, through Central's JSON API and the logs.
//
// Both are skipped under -short. Each process writes its log to a file in
// the test's temporary folder; a failing check prints the tail of every log.
package e2e

#!/usr/bin/env bash
# The integration run: start a real Apache Kafka (scripts/kafka.sh, KRaft on
# 127.0.0.1:${KAFKA_PORT:-19092}), run every test whose name contains
# "Integration" in every package against it, stop Kafka on exit.
#
# The contract for integration suites (any package):
#   - name the test TestIntegration... so that `-run Integration` selects it;
#   - read the broker from EVSIM_KAFKA_BROKERS (comma-separated);
#   - when EVSIM_KAFKA_BROKERS is empty: skip, unless EVSIM_INTEGRATION=1
#     (set here), then FAIL: CI must never pass without talking to Kafka;
#   - the bridge suite stops and starts this broker (EVSIM_KAFKA_CTL), so
#     packages run one at a time (-p 1).
#   - the SASL_SSL listener (TLS and a SASL user) is in EVSIM_TEST_SASL_SSL_BROKERS,
#     its CA file in EVSIM_TEST_SASL_SSL_CA, the user in EVSIM_TEST_SASL_SSL_USER
#     and EVSIM_TEST_SASL_SSL_PASSWORD (internal/testutil.SecuredKafkaOf);
#   - the three-node cluster (scripts/kafka-cluster.sh, KRaft, replication
#     factor 3) is in EVSIM_KAFKA_CLUSTER_BROKERS, the script that kills and
#     starts its nodes in EVSIM_KAFKA_CLUSTER_CTL (started beside the single
#     broker; EVSIM_INTEGRATION_CLUSTER=0 leaves it out, and its tests skip);
# If Kafka cannot be started this script fails (it never skips).
# INTEGRATION_PKGS narrows the packages (default ./...), e.g. ./bridge/...
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/kill-strays.sh

port=${KAFKA_PORT:-19092}
started_here=0
if ! bash scripts/kafka.sh status; then
  started_here=1
fi
# Stop on exit what this run started (the cluster's flag is set below).
cleanup() {
  if [ -n "${cluster_pid:-}" ]; then wait "$cluster_pid" 2>/dev/null || true; fi
  if [ "$started_here" = 1 ]; then bash scripts/kafka.sh down; fi
  if [ "${cluster_started:-0}" = 1 ]; then bash scripts/kafka-cluster.sh down; fi
}
trap cleanup EXIT
# The three-node cluster (scripts/kafka-cluster.sh) for the tests that crash a
# Kafka node starts in parallel with the single broker (about 10 s each on 2
# cores); both use the jars fetched once first.
cluster_started=0
cluster_pid=
if [ "${EVSIM_INTEGRATION_CLUSTER:-1}" != 0 ]; then
  bash scripts/kafka.sh fetch
  if ! bash scripts/kafka-cluster.sh status; then
    cluster_started=1
  fi
  bash scripts/kafka-cluster.sh up &
  cluster_pid=$!
fi
bash scripts/kafka.sh up
if [ -n "$cluster_pid" ]; then
  wait "$cluster_pid"
  export EVSIM_KAFKA_CLUSTER_BROKERS="$(bash scripts/kafka-cluster.sh brokers)"
  export EVSIM_KAFKA_CLUSTER_CTL="$(pwd)/scripts/kafka-cluster.sh"
fi

export EVSIM_KAFKA_BROKERS="127.0.0.1:$port"
export EVSIM_TEST_SASL_SSL_BROKERS="127.0.0.1:${KAFKA_SASL_SSL_PORT:-$((port + 2))}"
export EVSIM_TEST_SASL_SSL_CA="$(pwd)/.cache/kafka/tls/ca.crt"
export EVSIM_TEST_SASL_SSL_USER="${KAFKA_SASL_USER:-evsim}"
export EVSIM_TEST_SASL_SSL_PASSWORD="${KAFKA_SASL_PASSWORD:-evsim-integration-secret}"
export EVSIM_KAFKA_CTL="$(pwd)/scripts/kafka.sh"
export EVSIM_INTEGRATION=1
pkgs=${INTEGRATION_PKGS:-./...}
echo "test-integration: running -run Integration $pkgs against Apache Kafka at $EVSIM_KAFKA_BROKERS"
# shellcheck disable=SC2086 # pkgs is a list of package patterns
go test -race -count=1 -p 1 -run Integration $pkgs "$@"
if [ "$started_here" = 0 ]; then
  echo "test-integration: Kafka was running before; leaving it up (make kafka-down stops it)"
fi

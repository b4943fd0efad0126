#!/usr/bin/env bash
# A local single-node Apache Kafka (KRaft, broker+controller in one JVM) on
# loopback, without Docker: the jars come from Maven Central.
#
#   scripts/kafka.sh fetch   download Kafka and its dependencies into .cache/kafka/libs (idempotent)
#   scripts/kafka.sh up      format storage if needed, start Kafka, wait until it answers (evnode wait-kafka)
#   scripts/kafka.sh down    stop it (SIGTERM, then SIGKILL after a grace period); data is kept
#   scripts/kafka.sh status  exit 0 if the JVM we started is running
#   scripts/kafka.sh clean   stop it and delete its data
#
# Knobs (environment): KAFKA_VERSION (3.7.2, the version deploy/ uses),
# KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (19093), KAFKA_HEAP (512m),
# KAFKA_UP_ATTEMPTS (90 probes, 1 s apart).
#
# Besides its PLAINTEXT listener on KAFKA_PORT, the broker has a SASL_SSL
# listener on KAFKA_SASL_SSL_PORT (KAFKA_PORT+2): TLS with a certificate of a
# CA made at the first `up` (.cache/kafka/tls/ca.crt; PEM keystore), and the
# user KAFKA_SASL_USER (evsim) with KAFKA_SASL_PASSWORD (a test password) for
# PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (the SCRAM credentials are set by
# `up` through the PLAINTEXT listener).
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKA_VERSION=${KAFKA_VERSION:-3.7.2}
SLF4J_VERSION=${SLF4J_VERSION:-1.7.36}
KAFKA_PORT=${KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
KAFKA_HEAP=${KAFKA_HEAP:-512m}
KAFKA_UP_ATTEMPTS=${KAFKA_UP_ATTEMPTS:-90}
KAFKA_SASL_SSL_PORT=${KAFKA_SASL_SSL_PORT:-$((KAFKA_PORT + 2))}
KAFKA_SASL_USER=${KAFKA_SASL_USER:-evsim}
KAFKA_SASL_PASSWORD=${KAFKA_SASL_PASSWORD:-evsim-integration-secret}

home=.cache/kafka
libs=$home/libs
data=$home/data
pidfile=$home/kafka.pid
logfile=$home/kafka.log
props=$home/server.properties
log4j=$home/log4j.properties
tlsdir=$home/tls

say() { echo "kafka.sh: $*" >&2; }
. scripts/pidfile.sh # running, stop_pidfile

fetch() {
  if [ -f "$libs/.complete-$KAFKA_VERSION" ]; then
    return 0
  fi
  command -v mvn >/dev/null || { say "mvn is not installed (scripts/setup.sh installs it)"; exit 1; }
  mkdir -p "$home"
  cat >"$home/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>evsim.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  say "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $libs"
  rm -rf "$libs"
  mvn -q -B -f "$home/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$(pwd)/$libs" -DincludeScope=runtime
  touch "$libs/.complete-$KAFKA_VERSION"
}

write_config() {
  mkdir -p "$data"
  if [ ! -f "$tlsdir/broker.pem" ]; then
    go run ./scripts/kafka-certs "$tlsdir"
  fi
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
ssl.keystore.type=PEM
ssl.keystore.location=$(pwd)/$tlsdir/broker.pem
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$(pwd)/$data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
log.retention.hours=1
EOF
  cat >"$log4j" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$(pwd)/$home/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
EOF
}

up() {
  fetch
  if running; then
    say "already running (pid $(cat "$pidfile"))"
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null; then
      say "port $KAFKA_PORT is taken by another process (docker compose's Kafka publishes 19092 too); stop it or set KAFKA_PORT"
      exit 1
    fi
    write_config
    if [ ! -f "$data/meta.properties" ]; then
      id=$(java -cp "$libs/*" -Dlog4j.configuration="file:$(pwd)/$log4j" kafka.tools.StorageTool random-uuid)
      java -cp "$libs/*" -Dlog4j.configuration="file:$(pwd)/$log4j" \
        kafka.tools.StorageTool format -t "$id" -c "$props" --ignore-formatted >/dev/null
    fi
    say "starting Apache Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (log: $logfile)"
    nohup java -Xmx"$KAFKA_HEAP" -Xms128m -Dlog4j.configuration="file:$(pwd)/$log4j" \
      -cp "$libs/*" kafka.Kafka "$props" >"$logfile" 2>&1 &
    echo $! >"$pidfile"
  fi
  # Ready means: answers a metadata request that names a broker (our own gate).
  if ! go run ./cmd/evnode wait-kafka --brokers "127.0.0.1:$KAFKA_PORT" \
      --kafka-wait-attempts "$KAFKA_UP_ATTEMPTS" --kafka-wait-seconds 1; then
    say "Kafka did not come up; last lines of its log:"
    tail -n 20 "$home/server.log" "$logfile" >&2 || true
    down
    exit 1
  fi
  scram_users
}

# scram_users sets the SCRAM credentials of the SASL_SSL listener's user
# (idempotent: the same password again). One mechanism a call: Kafka 3.7
# refuses two credentials of one user in one request.
scram_users() {
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    java -cp "$libs/*" -Dlog4j.configuration="file:$(pwd)/$log4j" kafka.admin.ConfigCommand \
      --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users --entity-name "$KAFKA_SASL_USER" \
      --add-config "$mechanism=[password=$KAFKA_SASL_PASSWORD]" >/dev/null
  done
  say "SASL_SSL listener on 127.0.0.1:$KAFKA_SASL_SSL_PORT (CA $tlsdir/ca.crt, user $KAFKA_SASL_USER)"
}

down() {
  stop_pidfile Kafka || return 0
  say "stopped"
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  status) running ;;
  clean) down; rm -rf "$data" "$tlsdir" "$home/server.log" "$logfile" ;;
  *) echo "usage: scripts/kafka.sh fetch|up|down|status|clean" >&2; exit 2 ;;
esac

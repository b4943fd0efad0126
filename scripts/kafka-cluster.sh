#!/usr/bin/env bash
# A local three-node Apache Kafka cluster (KRaft; each node broker and
# controller in one JVM) on loopback, without Docker, for the tests that
# kill a broker: replication factor 3, min.insync.replicas 2, so any one
# node may die. Same jars as scripts/kafka.sh (.cache/kafka/libs).
#
#   scripts/kafka-cluster.sh up        format storage if needed, start the three, wait until each answers
#   scripts/kafka-cluster.sh down      stop them (SIGTERM, then SIGKILL after a grace period); data is kept
#   scripts/kafka-cluster.sh status    exit 0 if all three JVMs we started are running
#   scripts/kafka-cluster.sh brokers   print the bootstrap list (host:port,host:port,host:port)
#   scripts/kafka-cluster.sh kill N    kill -9 node N (1-3): a crash, not a stop
#   scripts/kafka-cluster.sh start N   start node N again and wait until it answers
#   scripts/kafka-cluster.sh clean     stop them and delete their data
#
# Knobs (environment): KAFKA_CLUSTER_PORT (19192: brokers on it and the next
# two ports), KAFKA_CLUSTER_CONTROLLER_PORT (19196: controllers likewise),
# KAFKA_CLUSTER_HEAP (384m per node), KAFKA_UP_ATTEMPTS (90 probes, 1 s apart).
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKA_CLUSTER_PORT=${KAFKA_CLUSTER_PORT:-19192}
KAFKA_CLUSTER_CONTROLLER_PORT=${KAFKA_CLUSTER_CONTROLLER_PORT:-19196}
KAFKA_CLUSTER_HEAP=${KAFKA_CLUSTER_HEAP:-384m}
KAFKA_UP_ATTEMPTS=${KAFKA_UP_ATTEMPTS:-90}
NODES=(1 2 3)

libs=.cache/kafka/libs
home=.cache/kafka-cluster

say() { echo "kafka-cluster.sh: $*" >&2; }
. scripts/pidfile.sh # running, stop_pidfile

broker_port() { echo $((KAFKA_CLUSTER_PORT + $1 - 1)); }
controller_port() { echo $((KAFKA_CLUSTER_CONTROLLER_PORT + $1 - 1)); }

brokers() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("127.0.0.1:$(broker_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

voters() {
  local out=() n
  for n in "${NODES[@]}"; do out+=("$n@127.0.0.1:$(controller_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}

write_config() { # node
  local n=$1 dir=$home/node$1
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(broker_port "$n")
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$(pwd)/$dir/data
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=true
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
log.retention.hours=1
EOF
  cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$(pwd)/$dir/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

java_of() { # node, args...
  local dir=$home/node$1
  shift
  java -cp "$libs/*" -Dlog4j.configuration="file:$(pwd)/$dir/log4j.properties" "$@"
}

start_node() { # node
  local n=$1 dir=$home/node$1
  pidfile=$dir/kafka.pid
  if running; then
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$(broker_port "$n")") 2>/dev/null; then
    say "port $(broker_port "$n") is taken by another process; stop it or set KAFKA_CLUSTER_PORT"
    exit 1
  fi
  write_config "$n"
  if [ ! -f "$dir/data/meta.properties" ]; then
    java_of "$n" kafka.tools.StorageTool format -t "$(cat "$home/cluster.id")" \
      -c "$dir/server.properties" --ignore-formatted >/dev/null
  fi
  nohup java -Xmx"$KAFKA_CLUSTER_HEAP" -Xms128m -Dlog4j.configuration="file:$(pwd)/$dir/log4j.properties" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$pidfile"
}

# wait_node: ready means it answers a metadata request that names a broker (our own gate).
wait_node() { # node
  local n=$1
  if ! go run ./cmd/evnode wait-kafka --brokers "127.0.0.1:$(broker_port "$n")" \
      --kafka-wait-attempts "$KAFKA_UP_ATTEMPTS" --kafka-wait-seconds 1 >/dev/null; then
    say "node $n did not come up; last lines of its log:"
    tail -n 20 "$home/node$n/server.log" "$home/node$n/kafka.log" >&2 || true
    return 1
  fi
}

up() {
  bash scripts/kafka.sh fetch
  mkdir -p "$home"
  if [ ! -f "$home/cluster.id" ]; then
    java -cp "$libs/*" kafka.tools.StorageTool random-uuid >"$home/cluster.id" 2>/dev/null
  fi
  local n
  # All three first: a controller quorum of three needs two to elect a leader.
  for n in "${NODES[@]}"; do start_node "$n"; done
  for n in "${NODES[@]}"; do wait_node "$n" || { down; exit 1; }; done
  say "three nodes up: $(brokers) (replication factor 3, min.insync.replicas 2)"
}

down() {
  local n
  for n in "${NODES[@]}"; do
    pidfile=$home/node$n/kafka.pid
    stop_pidfile "Kafka node $n" || true
  done
  say "stopped"
}

status() {
  local n
  for n in "${NODES[@]}"; do
    pidfile=$home/node$n/kafka.pid
    running || return 1
  done
}

node_arg() {
  case "${1:-}" in
    1 | 2 | 3) echo "$1" ;;
    *) say "which node? 1, 2 or 3"; exit 2 ;;
  esac
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  brokers) brokers ;;
  kill)
    n=$(node_arg "${2:-}")
    pidfile=$home/node$n/kafka.pid
    if running; then kill -KILL "$(cat "$pidfile")"; fi
    rm -f "$pidfile"
    say "node $n killed"
    ;;
  start)
    n=$(node_arg "${2:-}")
    start_node "$n"
    wait_node "$n"
    say "node $n up"
    ;;
  clean) down; rm -rf "$home" ;;
  *) echo "usage: scripts/kafka-cluster.sh up|down|status|brokers|kill N|start N|clean" >&2; exit 2 ;;
esac

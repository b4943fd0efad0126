#!/bin/sh
# Kafka's start in the secured deployment (deploy/compose.secure.yaml), in
# front of the image's own (apache/kafka's /etc/kafka/docker/run, or the
# offline stand-in's entrypoint): every client listener is SASL_SSL with
# SCRAM-SHA-512, so the SCRAM user must exist before the first client. It
# formats KRaft storage once with that user (--add-scram), gives both
# listeners the user's JAAS line, writes the health check's client settings
# (/tmp/evsim-client.properties, mode 0600), then runs the image's start,
# which finds the storage formatted. The password comes from the environment
# (EVSIM_KAFKA_SASL_PASSWORD, the same variable the evnode roles read).
set -eu
user=${EVSIM_KAFKA_SASL_USER:?EVSIM_KAFKA_SASL_USER must be set}
pass=${EVSIM_KAFKA_SASL_PASSWORD:?EVSIM_KAFKA_SASL_PASSWORD must be set}
case "$user$pass" in
  *[\",=\;\\\[\]]*)
    echo "kafka-secure: KAFKA_SASL_USER and KAFKA_SASL_PASSWORD may not hold \" , = ; [ ] or \\ (Kafka's --add-scram and JAAS syntax)" >&2
    exit 1
    ;;
esac
jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$user\" password=\"$pass\";"
export KAFKA_LISTENER_NAME_INTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG="$jaas"
export KAFKA_LISTENER_NAME_EXTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG="$jaas"

umask 077
cat >/tmp/evsim-client.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$jaas
ssl.truststore.type=PEM
ssl.truststore.location=/certs/ca.crt
PROPS

storage() {
  if [ -x /opt/kafka/bin/kafka-storage.sh ]; then
    /opt/kafka/bin/kafka-storage.sh "$@"
  else
    java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j.configuration=file:/opt/kafka/tools-log4j.properties \
      -cp "/opt/kafka/libs/*" kafka.tools.StorageTool "$@"
  fi
}
logdir=${KAFKA_LOG_DIRS:-/var/lib/kafka/data}
if [ ! -f "$logdir/meta.properties" ]; then
  # Just what formatting reads; the broker's settings come from KAFKA_*.
  cat >/tmp/evsim-format.properties <<PROPS
process.roles=broker,controller
node.id=${KAFKA_NODE_ID:-1}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:-1@127.0.0.1:9093}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093
log.dirs=$logdir
PROPS
  storage format -t "${CLUSTER_ID:?CLUSTER_ID must be set}" -c /tmp/evsim-format.properties \
    --add-scram "SCRAM-SHA-512=[name=$user,password=$pass]" >/dev/null
  echo "kafka-secure: storage formatted with the SCRAM-SHA-512 user $user"
fi

if [ -x /etc/kafka/docker/run ]; then
  exec /etc/kafka/docker/run
fi
exec /opt/kafka/bin/kafka-entrypoint.sh

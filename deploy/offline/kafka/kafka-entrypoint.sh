#!/bin/sh
# Turns KAFKA_* variables into server.properties the way apache/kafka does
# (KAFKA_FOO_BAR -> foo.bar, __ -> _, ___ -> -), formats KRaft storage with
# CLUSTER_ID once, then runs the broker in the foreground (PID 1's child
# becomes the JVM: exec).
set -eu
conf=/opt/kafka/config/server.properties
: >"$conf"
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
  case "$name" in
    KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_LOG4J_OPTS | KAFKA_JMX_OPTS | KAFKA_GC_LOG_OPTS) continue ;;
  esac
  key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value" >>"$conf"
done
: "${CLUSTER_ID:?CLUSTER_ID must be set (22 characters of URL-safe base64)}"
cp="/opt/kafka/libs/*"
log4j="-Dlog4j.configuration=file:/opt/kafka/log4j.properties"
java -Xmx128m -XX:TieredStopAtLevel=1 $log4j -cp "$cp" kafka.tools.StorageTool format \
  -t "$CLUSTER_ID" -c "$conf" --ignore-formatted >/dev/null
# shellcheck disable=SC2086 # the options are lists of words
exec java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError ${KAFKA_OPTS:-} \
  $log4j -cp "$cp" kafka.Kafka "$conf"

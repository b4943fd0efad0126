#!/bin/sh
# Asks a broker for its API versions (an ApiVersions round trip), as
# apache/kafka's script of the same name does. A quick-starting JVM: it runs
# as a health check every few seconds.
# shellcheck disable=SC2086 # the options are lists of words
exec java ${KAFKA_HEAP_OPTS:--Xmx128m} -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto \
  -Dlog4j.configuration=file:/opt/kafka/tools-log4j.properties \
  -cp "/opt/kafka/libs/*" kafka.admin.BrokerApiVersionsCommand "$@"
